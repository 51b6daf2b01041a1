// Journeys of the installable PWA: after one visit the app opens and answers offline with the built-in model
// (tabscout-tiny, precached by the service worker), and a new deployment shows an "update available" prompt.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { launch, type Browser } from './support/browser.ts';
import { builtApp } from './support/build.ts';
import { composer, LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, replyTokenIds, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import { serveStatic } from './support/static-server.ts';

const TOKENS = 6;
const QUERY = new URLSearchParams({ temperature: '0', maxNewTokens: String(TOKENS), ignoreEos: '1' });
const TIMEOUT = 2 * LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS;

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

/** Waits until the service worker controls the page and has precached everything ("works offline" shown). */
async function waitForOfflineReady(browser: Browser): Promise<void> {
  await browser.page
    .waitForFunction(() => !!navigator.serviceWorker.controller && !!document.querySelector('[data-update=offline-ready]'), null, { timeout: 60_000 })
    .catch((error: Error) => assert.fail(withLog(browser, `the service worker did not take over: ${error.message}`)));
}

test('after one visit the app opens and answers offline', { timeout: TIMEOUT }, async () => {
  const server = await serveStatic(builtApp(), '/tabscout/');
  const browser = await launch({ webgpu: true });
  cleanup.push(() => browser.close(), () => server.close());
  const { page, context } = browser;
  const url = `${server.url}?${QUERY}`;
  await page.goto(url);
  await waitForModel(browser);
  await waitForOfflineReady(browser);
  const manifest = await page.evaluate(async () => {
    const link = document.querySelector<HTMLLinkElement>('link[rel=manifest]');
    return link ? ((await (await fetch(link.href)).json()) as { name: string; icons: { src: string; sizes: string }[] }) : null;
  });
  assert.ok(manifest, 'the page links a web app manifest');
  assert.match(manifest.name, /TabScout/);
  assert.ok(manifest.icons.some((icon) => icon.sizes === '512x512'), 'the manifest has a 512×512 icon');

  // Offline: the network is cut and the server is gone.
  await context.setOffline(true);
  await server.close();
  await page.reload();
  assert.match(await waitForModel(browser), /^Ready: tabscout-tiny/, withLog(browser, 'the model loads offline'));
  await composer(browser).fill('Are you there without a network?');
  await composer(browser).press('Enter');
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'offline reply'));
  assert.equal((await replyTokenIds(browser)).length, TOKENS);
  await context.setOffline(false);
});

test('a new deployment shows an "update available" prompt', { timeout: TIMEOUT }, async () => {
  // Our own copy of the build, to "deploy" a new version into.
  const dist = mkdtempSync(join(tmpdir(), 'tabscout-deploy-'));
  cpSync(builtApp(), dist, { recursive: true });
  cleanup.push(() => rmSync(dist, { recursive: true, force: true }));
  const server = await serveStatic(dist);
  const browser = await launch({ webgpu: true });
  cleanup.push(() => browser.close(), () => server.close());
  const { page } = browser;
  await page.goto(`${server.url}?${QUERY}`);
  await waitForModel(browser);
  await waitForOfflineReady(browser);

  // Deploy a "new build": index.html and its precache revision change.
  const index = readFileSync(join(dist, 'index.html'), 'utf8');
  writeFileSync(join(dist, 'index.html'), index.replace('<title>TabScout</title>', '<title>TabScout (new)</title>'));
  const sw = readFileSync(join(dist, 'sw.js'), 'utf8');
  const updated = sw.replace(/(\{url:"index\.html",revision:")([0-9a-f]+)"/, (_, head: string, revision: string) => `${head}${revision}0"`);
  assert.notEqual(updated, sw, 'sw.js lists index.html with a revision');
  writeFileSync(join(dist, 'sw.js'), updated);

  await page.reload();
  const prompt = page.locator('[data-update=available]');
  await prompt.waitFor({ timeout: 60_000 }).catch((error: Error) => assert.fail(withLog(browser, `no update prompt: ${error.message}`)));
  assert.match((await prompt.textContent()) ?? '', /new version of TabScout is available/);
  await Promise.all([page.waitForEvent('load', { timeout: 30_000 }), page.getByRole('button', { name: 'Reload to update', exact: true }).click()]);
  await page.waitForFunction(() => document.title === 'TabScout (new)', null, { timeout: 30_000 });
});
