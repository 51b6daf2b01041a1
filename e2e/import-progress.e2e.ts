// Journey: an import that is cancelled mid-download. The Hub-like server stalls the weights, the user presses
// Cancel import: the progress line keeps where it got to but shows no rate, no time left and no "Reading…", the
// error is shown once, and Import again resumes to 100 %.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, type Browser } from './support/browser.ts';
import { builtApp } from './support/build.ts';
import { LOAD_TIMEOUT_MS, waitForModel, withLog } from './support/chat-page.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { HubServer } from '../testing/hub-server.ts';

const REPO = 'meta-llama/tiny-scout';

let server: StaticServer;
let hub: HubServer;
let browser: Browser;
before(async () => {
  server = await serveStatic(builtApp());
  hub = await HubServer.start({ repos: { [REPO]: { main: join(fixturesDir(), 'tiny-scout', 'model') } }, stallMs: 120_000 });
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await hub?.close();
  await server?.close();
});

test('Cancel during an import: progress without rate or time left, the error once, then resume to 100 %', { timeout: 2 * LOAD_TIMEOUT_MS }, async () => {
  const { page } = browser;
  await page.goto(`${server.url}?${new URLSearchParams({ hubEndpoint: hub.url })}`);
  await waitForModel(browser);
  // the weights stall past their first 300 kB: the import is under way and stuck there
  hub.faults.push({ file: 'model.safetensors', kind: 'stall', afterBytes: 0, fromByte: 300_000, times: 100 });

  const form = page.getByRole('form', { name: 'Import a model' });
  await form.getByLabel('Repository id').fill(REPO);
  await form.getByRole('button', { name: 'Import', exact: true }).click();
  const progress = page.locator('[data-import-progress]');
  await page
    .waitForFunction(() => /%/.test(document.querySelector('[data-import-progress]')?.textContent ?? ''), null, { timeout: 60_000 })
    .catch((error: Error) => assert.fail(withLog(browser, `the import did not start: ${error.message}`)));
  await form.getByRole('button', { name: 'Cancel import' }).click();

  const error = form.locator('[data-error-code]');
  await error.waitFor({ timeout: 30_000 }).catch((e: Error) => assert.fail(withLog(browser, `no error after Cancel: ${e.message}; progress: ${''}`)));
  assert.equal(await error.getAttribute('data-error-code'), 'cancelled');
  const stopped = (await progress.textContent()) ?? '';
  assert.match(stopped, /^Stopped at \d+ % · .* of .*$/, `progress after Cancel: ${stopped}`);
  assert.doesNotMatch(stopped, /\/s|left|measuring|Reading/, 'no rate, time left or "Reading…" once stopped');
  const message = ((await error.locator('p').first().textContent()) ?? '').trim();
  assert.ok(message.length > 0);
  assert.equal(await page.getByText(message, { exact: true }).count(), 1, `the error is shown once: ${message}`);
  assert.ok(Number(await page.getByRole('progressbar', { name: 'Import progress' }).getAttribute('aria-valuenow')) < 100);

  // resume: the same import goes on to the end
  hub.faults.length = 0;
  await form.getByRole('button', { name: 'Import', exact: true }).click();
  await page
    .waitForFunction(() => document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow') === '100', null, { timeout: LOAD_TIMEOUT_MS })
    .catch((e: Error) => assert.fail(withLog(browser, `the resumed import did not reach 100 %: ${e.message}`)));
  // the bar reaches 100 % when the last bytes are read; "done" follows once they are stored (a CI run once read
  // "100 % · 372 KB of 372 KB · 341 KB/s · 0 s left" in between)
  await page
    .waitForFunction(() => / done$/.test(document.querySelector('[data-import-progress]')?.textContent ?? ''), null, { timeout: 30_000 })
    .catch(async (e: Error) => assert.fail(withLog(browser, `the import did not say done: ${e.message}; progress: ${await progress.textContent()}`)));
  assert.match((await progress.textContent()) ?? '', /^100 % · .* done$/);
  assert.equal(await form.locator('[data-error-code]').count(), 0, 'the old error is gone');
  assert.equal(await page.getByRole('button', { name: 'Load tiny-scout now' }).count(), 1, 'the installed model is offered for loading');
});
