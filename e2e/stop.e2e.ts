// Journey: Stop cancels a long reply mid-stream, and the same worker then answers the next message.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from './support/browser.ts';
import { composer, LOAD_TIMEOUT_MS, lastReply, REPLY_TIMEOUT_MS, replyTokenIds, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import type { StaticServer } from './support/static-server.ts';
import { closeApp, openApp } from './support/app.ts';
import { TEST_MODEL } from './support/build.ts';

// Long enough to still be streaming when Stop is clicked, short enough for the tiny-scout test model's 512-token context.
const LONG_REPLY = 400;
const SHORT_REPLY = 4;

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

test('Stop cancels the reply and the engine keeps serving', { timeout: LOAD_TIMEOUT_MS + 2 * REPLY_TIMEOUT_MS }, async () => {
  const { page } = browser;
  await page.goto(`${server.url}?${new URLSearchParams({ temperature: '0', maxNewTokens: String(LONG_REPLY), ignoreEos: '1', weights: 'q4', model: TEST_MODEL })}`);
  await waitForModel(browser);

  await composer(browser).fill('Tell me a long story.');
  await composer(browser).press('Enter');
  // Wait for the first streamed token, then stop.
  await page
    .waitForFunction(() => (document.querySelector('article[data-state=streaming]')?.getAttribute('data-token-ids') ?? '') !== '', null, {
      timeout: REPLY_TIMEOUT_MS,
    })
    .catch((error: Error) => assert.fail(withLog(browser, `no token streamed: ${error.message}`)));
  await page.getByRole('button', { name: 'Stop' }).click();
  const state = await waitForReplyEnd(browser);
  assert.equal(state, 'done', withLog(browser, `stopped reply ended in state ${state}: ${await lastReply(browser).textContent()}`));
  assert.equal(await lastReply(browser).getAttribute('data-stop-reason'), 'cancelled', withLog(browser, 'the reply was not cancelled'));
  const stoppedAt = (await replyTokenIds(browser)).length;
  assert.ok(stoppedAt > 0 && stoppedAt < LONG_REPLY, `stopped after ${stoppedAt} tokens`);

  // The same worker answers again (the query's maxNewTokens applies; stop it the same way after a few tokens).
  await composer(browser).fill('And another one?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page
    .waitForFunction(
      (n) => (document.querySelector('article[data-state=streaming]')?.getAttribute('data-token-ids') ?? '').split(',').filter(Boolean).length >= n,
      SHORT_REPLY,
      { timeout: REPLY_TIMEOUT_MS },
    )
    .catch((error: Error) => assert.fail(withLog(browser, `the second reply did not stream: ${error.message}`)));
  await page.getByRole('button', { name: 'Stop' }).click();
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'second reply failed'));
  assert.equal(await page.getByRole('article', { name: /^Assistant/ }).count(), 2);
});
