// Journey: a newcomer opens the app with no model chosen. The built-in model (tabscout-tiny, the trained default,
// lib/default-model.ts) loads and is named; the first-run note says in plain words what it can and cannot do and
// how to run a real model; asked the capital of France, it streams a reply that names Paris.
//
// Why "Paris" can be asserted: greedy decoding is deterministic, and `npm run eval` on the same engine (Node,
// SwiftShader) answers this exact question "The capital of France is Paris." at q4 and f32; capitals are what the
// model card says it does reliably (evals/facts.jsonl: 1.000 at q4). A retrained tabscout-tiny must keep the facts
// score (target ≥ 0.9), so this is a check that a retrained model should pass too; if it fails, the default model has
// lost the one thing its first-run note promises. The other checks (name, note, streamed) hold for any model.
// Every other journey pins the random tiny-scout with ?model= (e2e/support/build.ts) or tests the built-in flow.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { BUILT_IN_MODEL_PATH } from '../lib/default-model.ts';
import type { Browser } from './support/browser.ts';
import { closeApp, openApp } from './support/app.ts';
import { repoRoot } from './support/build.ts';
import { composer, LOAD_TIMEOUT_MS, lastReply, REPLY_TIMEOUT_MS, replyText, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import type { StaticServer } from './support/static-server.ts';

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

const NAME = BUILT_IN_MODEL_PATH.split('/').filter(Boolean).at(-1)!;
const CONTEXT = (JSON.parse(readFileSync(`${repoRoot}/public/${BUILT_IN_MODEL_PATH}config.json`, 'utf8')) as { text_config: { max_position_embeddings: number } })
  .text_config.max_position_embeddings;

test('no model chosen: the built-in tabscout-tiny loads, says what it can do, and answers a capital', { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS }, async () => {
  assert.equal(NAME, 'tabscout-tiny');
  const { page } = browser;
  const started = Date.now();
  // greedy and short (sampling settings only: the model is the app's own choice)
  await page.goto(`${server.url}?${new URLSearchParams({ temperature: '0', maxNewTokens: '24' })}`);
  const status = await waitForModel(browser);
  const loadMs = Date.now() - started;
  assert.match(status, /^Ready: tabscout-tiny · q4\b/, withLog(browser, `status: ${status}`));
  assert.match((await page.locator('.model-source').textContent()) ?? '', /^built-in/);
  assert.match((await page.locator('[data-model-name]').textContent()) ?? '', /^tabscout-tiny/);
  assert.match((await page.locator('[data-model-panel-about]').textContent()) ?? '', /capital.*short screenshot.*cannot read long screenshots reliably/s, 'the model panel says what the built-in model is');
  const shape = (await page.locator('.model-panel').textContent()) ?? '';
  assert.match(shape, new RegExp(`context ${CONTEXT.toLocaleString('en-US')} tokens`), shape);

  // the first-run note: what it is, what it can and cannot do, how to get a real model (the fit-check figures stay)
  const note = (await page.locator('[data-first-run]').textContent()) ?? '';
  assert.match(note, /tabscout-tiny.*trained/s, note);
  assert.match(note, /capital of a country/, note);
  assert.match(note, /cannot read long screenshots reliably/, note);
  assert.doesNotMatch(note, /random weights|gibberish/, note);
  assert.match(note, /meta-llama\/Llama-4-Scout-17B-16E-Instruct.*62\.4 GB of browser storage.*67\.5 MiB each/s, note);

  // the reply streams (its text grows while data-state is streaming) and names Paris
  await composer(browser).fill('What is the capital of France?');
  await composer(browser).press('Enter');
  const asked = Date.now();
  await page
    .waitForFunction(() => {
      const reply = document.querySelector('article[data-state=streaming]');
      return (reply?.getAttribute('data-token-ids') ?? '').split(',').filter(Boolean).length >= 1 && (reply?.getAttribute('data-text') ?? '').length > 0;
    }, null, { timeout: REPLY_TIMEOUT_MS, polling: 'raf' })
    .catch((error: Error) => assert.fail(withLog(browser, `no streamed piece seen: ${error.message}`)));
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'the reply did not finish'));
  const text = await replyText(browser);
  assert.equal(await lastReply(browser).getAttribute('data-stop-reason'), 'eos', `a short answer that ends by itself: "${text}"`);
  assert.match(text, /\bParis\b/, withLog(browser, `the built-in model's answer: "${text}"`));
  console.log(`default model: loaded in ${(loadMs / 1000).toFixed(1)} s, answered in ${((Date.now() - asked) / 1000).toFixed(1)} s: "${text}"`);
});
