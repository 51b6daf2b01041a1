// Takes the screenshots in docs/screenshots/ from a fresh build: `node --import tsx --import ./tools/wgsl-hook.mjs tools/screenshots.ts`.
// The replies are real: the chat runs the built-in model (tabscout-tiny, docs/MODEL_CARD.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '../e2e/support/browser.ts';
import { builtApp, repoRoot } from '../e2e/support/build.ts';
import { composer, waitForModel, waitForReplyEnd } from '../e2e/support/chat-page.ts';
import { serveStatic } from '../e2e/support/static-server.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { HubServer } from '../testing/hub-server.ts';

const out = join(repoRoot, 'docs', 'screenshots');
const app = await serveStatic(builtApp());
const pages = mkdtempSync(join(tmpdir(), 'tabscout-shots-'));
const host = await serveStatic(pages);
const hub = await HubServer.start({ repos: { 'meta-llama/tiny-scout': { main: join(fixturesDir(), 'tiny-scout', 'model') } } });
const browser = await launch({ webgpu: true });
const { page } = browser;
try {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${app.url}?${new URLSearchParams({ temperature: '0', maxNewTokens: '40' })}`);
  await waitForModel(browser);
  // what the built-in model can do (the first-run note above says what it cannot)
  for (const question of ['What is the capital of Japan?', 'Tell me a short story about a fox.']) {
    await composer(browser).fill(question);
    await composer(browser).press('Enter');
    await waitForReplyEnd(browser);
  }
  await page.locator('[data-update] button').click().catch(() => undefined);
  await page.screenshot({ path: join(out, 'chat.png') });
  // the same chat on a phone: the composer at the bottom, the list and the panels behind the header's buttons
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(out, 'chat-phone.png') });

  // the model manager: tiny-scout imported from a local Hub-like server, loaded with experts paged (2 of 4 slots)
  const query = { temperature: '0.7', maxNewTokens: '24', seed: '7', expertBudgetMiB: '0.06', hubEndpoint: hub.url };
  await page.setViewportSize({ width: 1280, height: 2000 });
  await page.goto(`${app.url}?${new URLSearchParams(query)}`);
  await waitForModel(browser);
  await page.getByLabel('Repository id').fill('meta-llama/tiny-scout');
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.locator('[data-status=complete]').waitFor({ timeout: 60_000 });
  await page.locator('[data-status=complete]').getByRole('button', { name: /^Load / }).click();
  await page.waitForFunction(() => document.querySelector('[role=status]')?.getAttribute('data-state') === 'ready' && document.body.textContent!.includes('installed in this browser'));
  await composer(browser).fill('Which experts do you use?');
  await composer(browser).press('Enter');
  await waitForReplyEnd(browser);
  await page.locator('.panels').screenshot({ path: join(out, 'model-manager.png') });

  writeFileSync(
    join(pages, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>A blog</title>
<body style="font-family:Georgia,serif;max-width:60rem;margin:2rem auto;display:flex;gap:2rem;align-items:flex-start">
<article style="flex:1"><h1>My travel blog</h1><p>Ask the assistant on the right anything about this page. It runs in your
browser: nothing you type leaves this computer.</p><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p></article>
<aside><script src="${app.url}embed.js" data-origins="${new URL(host.url).origin}" data-max-new-tokens="24" data-temperature="0"></script></aside>`,
  );
  await page.setViewportSize({ width: 1100, height: 640 });
  await page.goto(host.url);
  const frame = page.frameLocator('iframe.tabscout-widget');
  await frame.getByRole('button', { name: /^Download and start/ }).waitFor();
  await page.screenshot({ path: join(out, 'widget-before-download.png') });
  await frame.getByRole('button', { name: /^Download and start/ }).click();
  await frame.getByRole('status').filter({ hasText: /^Ready/ }).waitFor({ timeout: 60_000 });
  await frame.getByRole('textbox', { name: 'Message' }).fill('What is the capital of Italy?');
  await frame.getByRole('textbox', { name: 'Message' }).press('Enter');
  await frame.locator('article[data-state=done]').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(out, 'widget.png') });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await app.close();
  await host.close();
  await hub.close();
  rmSync(pages, { recursive: true, force: true });
}
