// Takes the screenshots in docs/screenshots/ from a fresh build: `node --import tsx --import ./tools/wgsl-hook.mjs e2e/support/screenshots.ts`.
// The replies are real: the embedded tiny model has random weights, so its text is gibberish by design.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from './browser.ts';
import { builtApp, repoRoot } from './build.ts';
import { composer, waitForModel, waitForReplyEnd } from './chat-page.ts';
import { serveStatic } from './static-server.ts';

const out = join(repoRoot, 'docs', 'screenshots');
const app = await serveStatic(builtApp());
const pages = mkdtempSync(join(tmpdir(), 'tabscout-shots-'));
const host = await serveStatic(pages);
const browser = await launch({ webgpu: true });
const { page } = browser;
try {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${app.url}?${new URLSearchParams({ temperature: '0.7', maxNewTokens: '40', seed: '7' })}`);
  await waitForModel(browser);
  for (const question of ['Hello! What can you do offline?', 'Write a haiku about GPUs in a browser tab.']) {
    await composer(browser).fill(question);
    await composer(browser).press('Enter');
    await waitForReplyEnd(browser);
  }
  await page.locator('[data-update] button').click().catch(() => undefined);
  await page.screenshot({ path: join(out, 'chat.png') });

  await page.locator('summary', { hasText: 'Settings' }).click();
  await page.getByLabel('Model URL').fill('https://example.com/models/llama4-scout-q4/');
  await page.locator('.panels').screenshot({ path: join(out, 'model-manager.png') });

  writeFileSync(
    join(pages, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>A blog</title>
<body style="font-family:Georgia,serif;max-width:60rem;margin:2rem auto;display:flex;gap:2rem;align-items:flex-start">
<article style="flex:1"><h1>My travel blog</h1><p>Ask the assistant on the right anything about this page. It runs in your
browser: nothing you type leaves this computer.</p><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p></article>
<aside><script src="${app.url}embed.js" data-origins="${new URL(host.url).origin}" data-max-new-tokens="24" data-temperature="0.7"></script></aside>`,
  );
  await page.setViewportSize({ width: 1100, height: 640 });
  await page.goto(host.url);
  const frame = page.frameLocator('iframe.tabscout-widget');
  await frame.getByRole('button', { name: /^Download and start/ }).waitFor();
  await page.screenshot({ path: join(out, 'widget-before-download.png') });
  await frame.getByRole('button', { name: /^Download and start/ }).click();
  await frame.getByRole('status').filter({ hasText: /^Ready/ }).waitFor({ timeout: 60_000 });
  await frame.getByRole('textbox', { name: 'Message' }).fill('Where should I go in spring?');
  await frame.getByRole('textbox', { name: 'Message' }).press('Enter');
  await frame.locator('article[data-state=done]').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(out, 'widget.png') });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await app.close();
  await host.close();
  rmSync(pages, { recursive: true, force: true });
}
