// Journey: the model flow cannot strand the user. An address that is not one is refused before anything unloads; a
// folder that does not exist keeps the running model and is not remembered; a model that loads is remembered and
// loaded at the next start; a remembered model that no longer loads falls back to the built-in one with a notice;
// "Use the built-in model" is always offered while another model is in use.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from './support/browser.ts';
import { closeApp, openApp } from './support/app.ts';
import { TEST_MODEL } from './support/build.ts';
import { composer, LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import type { StaticServer } from './support/static-server.ts';

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

const status = () => browser.page.getByRole('status');
const source = () => browser.page.locator('.model-source');
const notice = () => browser.page.locator('[data-notice=model-failed]');

async function loadUrl(url: string, weights: 'q4' | 'f32' = 'q4'): Promise<void> {
  const form = browser.page.getByRole('form', { name: 'Load a model from a URL' });
  await form.getByLabel('Model URL').fill(url);
  await form.getByLabel('Weights').selectOption(weights);
  await form.getByRole('button', { name: 'Load model' }).click();
}

async function chatWorks(): Promise<void> {
  await composer(browser).fill('Hello');
  await composer(browser).press('Enter');
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'the chat does not answer'));
}

test('bad model addresses keep the running model; loaded models are remembered; a broken one falls back to the built-in model', { timeout: 6 * LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS }, async () => {
  const { page } = browser;
  await page.goto(`${server.url}?${new URLSearchParams({ temperature: '0', maxNewTokens: '4' })}`);
  assert.match(await waitForModel(browser), /tabscout-tiny · q4/);
  assert.match((await source().textContent()) ?? '', /^built-in/);
  assert.equal(await page.getByRole('button', { name: 'Use the built-in model' }).count(), 0, 'no way "back" while the built-in model is in use');

  // not an address: refused at once, nothing unloads
  await loadUrl('htp//not a url');
  const problem = page.locator('[data-url-problem]');
  await problem.waitFor({ timeout: 5_000 });
  assert.match((await problem.textContent()) ?? '', /not a web address/);
  assert.equal(await status().getAttribute('data-state'), 'ready');

  // a folder that does not exist: checked before anything unloads; the built-in model stays, and says so
  await loadUrl('./models/no-such-model/');
  await notice().waitFor({ timeout: 30_000 }).catch((error: Error) => assert.fail(withLog(browser, `no notice: ${error.message}`)));
  assert.match((await notice().textContent()) ?? '', /Could not load the model at .*no-such-model\/: There is no model at .*\(HTTP 404\).*The built-in model \(tabscout-tiny\) is still loaded/);
  assert.equal(await status().getAttribute('data-state'), 'ready');
  await chatWorks();

  // ...and it is not remembered: a reload starts with the built-in model, without a notice
  await page.reload();
  assert.match(await waitForModel(browser), /tabscout-tiny · q4/);
  assert.match((await source().textContent()) ?? '', /^built-in/);
  assert.equal(await notice().count(), 0, 'no failure at start-up');

  // a model that loads (here the tiny-scout test model by URL, f32) is remembered and loaded at the next start
  await loadUrl(TEST_MODEL, 'f32');
  await page.waitForFunction(() => /· f32 ·/.test(document.querySelector('[role=status]')?.textContent ?? ''), null, { timeout: LOAD_TIMEOUT_MS });
  assert.equal(await page.getByRole('button', { name: 'Use the built-in model' }).count(), 1, 'the way back to the built-in model is offered');
  await page.reload();
  assert.match(await waitForModel(browser), /^Ready: tiny-scout · f32/, 'the model that loaded last is loaded at start-up');
  assert.doesNotMatch((await source().textContent()) ?? '', /^built-in/);

  // "Use the built-in model" goes back (and is remembered too)
  await page.getByRole('button', { name: 'Use the built-in model' }).click();
  await page.waitForFunction(() => /tabscout-tiny · q4 ·/.test(document.querySelector('[role=status]')?.textContent ?? '') && document.querySelector('[role=status]')?.getAttribute('data-state') === 'ready', null, { timeout: LOAD_TIMEOUT_MS });
  assert.match((await source().textContent()) ?? '', /^built-in/);

  // an installed model that was loaded last and is gone now: the start-up falls back to the built-in model and says so
  await page.evaluate(
    () =>
      new Promise<void>((done, fail) => {
        const open = indexedDB.open('tabscout-app');
        open.onerror = () => fail(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('keyval', 'readwrite');
          tx.objectStore('keyval').put({ kind: 'stored', id: 'gone-q4', name: 'gone-model', source: 'Hugging Face: someone/gone-model' }, 'lastModel');
          tx.oncomplete = () => done();
          tx.onerror = () => fail(tx.error);
        };
      }),
  );
  await page.reload();
  await notice().waitFor({ timeout: LOAD_TIMEOUT_MS }).catch((error: Error) => assert.fail(withLog(browser, `no start-up notice: ${error.message}`)));
  assert.match((await notice().textContent()) ?? '', /Could not load gone-model \(installed\) at start-up: .*The built-in model \(tabscout-tiny\) is loaded instead\./);
  assert.match(await waitForModel(browser), /tabscout-tiny · q4/);
  await chatWorks();
  // the broken choice is forgotten: the next start is clean
  await page.reload();
  await waitForModel(browser);
  assert.equal(await notice().count(), 0, 'the failed model is not tried again at every start');
});
