// Journey: a chat longer than the model's context (the tiny-scout test model holds 512 tokens) keeps going. The context
// used is shown; when the next turn would not fit, the oldest turns are left out (the system prompt stays) and a
// marker shows where the model's view begins; no reply fails, so no Regenerate that must fail is offered. A message
// too long on its own is refused before anything is sent, and given back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from './support/browser.ts';
import { closeApp, openApp } from './support/app.ts';
import { TEST_MODEL } from './support/build.ts';
import { composer, lastReply, LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import type { StaticServer } from './support/static-server.ts';

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

const REPLY_TOKENS = 160;

test('a chat past the 512-token context drops its oldest turns with a marker and keeps answering', { timeout: LOAD_TIMEOUT_MS + 5 * REPLY_TIMEOUT_MS }, async () => {
  const { page } = browser;
  const query = new URLSearchParams({ temperature: '0', maxNewTokens: String(REPLY_TOKENS), ignoreEos: '1', system: 'You are a terse assistant.', model: TEST_MODEL });
  await page.goto(`${server.url}?${query}`);
  await waitForModel(browser);
  const used = page.locator('[data-context-used]');
  assert.match((await used.textContent()) ?? '', /^Context: 0 of 512 tokens used/);

  const marker = page.locator('[data-context-marker]');
  const counts: number[] = [];
  for (let turn = 1; turn <= 4; turn++) {
    await composer(browser).fill(`Question number ${turn}: tell me about GPUs in browsers.`);
    await composer(browser).press('Enter');
    const state = await waitForReplyEnd(browser);
    assert.equal(state, 'done', withLog(browser, `turn ${turn} ended in state ${state}: ${await lastReply(browser).textContent()}`));
    assert.equal((await lastReply(browser).getAttribute('data-token-ids'))?.split(',').length, REPLY_TOKENS, `turn ${turn} wrote the whole reply`);
    const count = Number(await used.getAttribute('data-context-used'));
    assert.ok(count > 0 && count <= 512, `context used after turn ${turn}: ${count}`);
    counts.push(count);
  }
  // 4 turns of 160 generated tokens cannot all fit in 512: older turns were left out, and the marker says so
  assert.equal(await marker.count(), 1, withLog(browser, `no context marker (context used per turn: ${counts.join(', ')})`));
  assert.match((await marker.textContent()) ?? '', /no longer fit in the model's context \(512 tokens\)/);
  assert.match((await used.textContent()) ?? '', /oldest messages left out/);
  // the marker sits before a user turn, and the turns above it are still shown (nothing is deleted)
  const before = await marker.evaluate((el) => [...el.parentElement!.children].indexOf(el));
  assert.ok(before > 0, 'older turns stay in the log above the marker');
  assert.match((await marker.evaluate((el) => el.nextElementSibling?.getAttribute('aria-label'))) ?? '', /^You/);
  assert.equal(await page.locator('.turn-error').count(), 0, 'no reply failed');
  assert.equal(await page.getByRole('button', { name: 'Regenerate' }).count(), 1, 'Regenerate is offered for the last reply only');
  await page.getByRole('button', { name: 'Regenerate' }).click();
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'Regenerate works past the context'));

  // a message that cannot fit even alone is refused up front and given back
  const long = Array.from({ length: 700 }, (_, i) => `word${i}`).join(' ');
  const replies = await page.getByRole('article', { name: /^Assistant/ }).count();
  await composer(browser).fill(long);
  await composer(browser).press('Enter');
  const problem = page.locator('#composer-problem');
  await page.waitForFunction(() => /more than the model's whole context/.test(document.querySelector('#composer-problem')?.textContent ?? ''), null, { timeout: 60_000 })
    .catch((error: Error) => assert.fail(withLog(browser, `no message about the long message: ${error.message}; problem: ${''}`)));
  assert.match((await problem.textContent()) ?? '', /This message takes \d+ tokens with the system prompt, more than the model's whole context \(512 tokens\)\. Shorten it\./);
  assert.equal(await composer(browser).inputValue(), long, 'the message is given back');
  assert.equal(await page.getByRole('article', { name: /^Assistant/ }).count(), replies, 'no reply was added');
});
