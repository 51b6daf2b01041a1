// Journey: without WebGPU (Chromium without --enable-unsafe-webgpu has no adapter) the page says so plainly
// instead of showing the chat, and does not announce that it works offline.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from './support/browser.ts';
import type { StaticServer } from './support/static-server.ts';
import { closeApp, openApp } from './support/app.ts';

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp(false)));
after(() => closeApp(server, browser));

test('explains that WebGPU is missing instead of showing the chat', { timeout: 90_000 }, async () => {
  const { page, log } = browser;
  await page.goto(server.url);
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: 60_000 }).catch((error: Error) => {
    assert.fail(`no explanation shown: ${error.message}\n--- browser log ---\n${log.join('\n')}`);
  });
  assert.equal(await alert.getAttribute('data-code'), 'no-webgpu');
  assert.match((await alert.textContent()) ?? '', /WebGPU/);
  assert.match((await alert.textContent()) ?? '', /Chrome|Edge|enable/i, 'the explanation says what to do');
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).count(), 0, 'no composer without WebGPU');
  assert.equal(await page.getByRole('status').getAttribute('data-state'), 'unsupported');

  // the offline service worker installs all the same, but "works offline" is no news for an app that cannot run
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await page.waitForTimeout(1000);
  assert.equal(await page.locator('[data-update=offline-ready]').count(), 0, 'no "TabScout now works offline" above "WebGPU is not available"');
});
