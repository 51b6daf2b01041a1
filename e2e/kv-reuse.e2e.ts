// Journey: the engine keeps the conversation's KV cache between turns. After a long first message, the second turn
// prefills only what is new (the reply and the new message), and Regenerate keeps the whole prompt but its tail;
// after a screenshot, the next turn does not read the image again. Checked through the reply statistics the app
// stores with each reply (prompt tokens kept vs prefilled) and the status line, not time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from './support/browser.ts';
import { composer, LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import type { StaticServer } from './support/static-server.ts';
import { closeApp, openApp } from './support/app.ts';
import { TEST_MODEL } from './support/build.ts';
import { referenceDir } from './support/reference.ts';
import { paste } from './support/transfer.ts';
import type { GenerationStats } from '../protocol/api.ts';

const TOKENS = 4;
const CHUNK = 16; // tiny-scout's attention chunk: a cut may go back to its chunk's start
const QUERY = new URLSearchParams({ temperature: '0', maxNewTokens: String(TOKENS), ignoreEos: '1', model: TEST_MODEL });

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

async function ask(text: string): Promise<void> {
  await composer(browser).fill(text);
  await composer(browser).press('Enter');
  const state = await waitForReplyEnd(browser);
  assert.equal(state, 'done', withLog(browser, `reply to "${text.slice(0, 40)}…": ${await browser.page.getByRole('article', { name: /^Assistant/ }).last().textContent()}`));
}

/**
 * The stats of the active conversation's replies, as the app saved them (IndexedDB 'tabscout-app'), once there are
 * `count` and the last one is not `previous` (a regenerated reply replaces it).
 */
async function savedStats(count: number, previous?: GenerationStats): Promise<GenerationStats[]> {
  // a script string: functions compiled by tsx carry helper calls (__name) that do not exist in the page
  const read = `(async () => {
    const db = await new Promise((done, fail) => { const open = indexedDB.open('tabscout-app'); open.onsuccess = () => done(open.result); open.onerror = () => fail(open.error); });
    const get = (key) => new Promise((done, fail) => { const r = db.transaction('keyval').objectStore('keyval').get(key); r.onsuccess = () => done(r.result); r.onerror = () => fail(r.error); });
    const id = await get('activeConversation');
    const conversation = id ? await get('conversation:' + id) : undefined;
    db.close();
    return (conversation?.turns ?? []).filter((t) => t.role === 'assistant' && t.state === 'done' && t.stats).map((t) => t.stats);
  })()`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stats = (await browser.page.evaluate(read)) as GenerationStats[];
    if (stats.length >= count && stats[count - 1].timeToFirstTokenMs !== previous?.timeToFirstTokenMs) return stats;
    if (Date.now() > deadline) assert.fail(withLog(browser, `the app did not save the stats of ${count} replies: ${JSON.stringify(stats)}`));
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('turn 2 after a long turn 1 prefills only the new tokens; Regenerate keeps the prompt', { timeout: LOAD_TIMEOUT_MS + 3 * REPLY_TIMEOUT_MS }, async () => {
  await browser.page.goto(`${server.url}?${QUERY}`);
  await waitForModel(browser);
  const long = Array.from({ length: 12 }, (_, i) => `Line ${i + 1} of a long message about tiles and patches.`).join(' ');
  await ask(long);
  const [first] = await savedStats(1);
  assert.ok(first.promptTokens > 200, `turn 1 is long (${first.promptTokens} prompt tokens)`);
  assert.equal(first.cachedPromptTokens, 0, 'nothing to keep on the first turn');

  await ask('And a short follow-up?');
  const [, second] = await savedStats(2);
  const prefilled = second.promptTokens - second.cachedPromptTokens;
  const added = second.promptTokens - (first.promptTokens + first.generatedTokens);
  const report = `turn 1: ${first.promptTokens} prompt tokens; turn 2: ${second.promptTokens} prompt tokens, ${second.cachedPromptTokens} kept, ${prefilled} prefilled, ${added} added`;
  console.log(report);
  assert.ok(second.cachedPromptTokens >= first.promptTokens - CHUNK, `turn 2 keeps turn 1's prompt (${report})`);
  assert.ok(prefilled <= added + first.generatedTokens + CHUNK, `turn 2 prefills only about the new tokens (${report})`);

  await browser.page.getByRole('button', { name: 'Regenerate', exact: true }).click();
  assert.equal(await waitForReplyEnd(browser), 'done');
  const [, regenerated] = await savedStats(2, second);
  assert.equal(regenerated.promptTokens, second.promptTokens);
  assert.ok(regenerated.cachedPromptTokens >= second.promptTokens - CHUNK, `Regenerate keeps the prompt (${regenerated.cachedPromptTokens} of ${regenerated.promptTokens})`);
});

test('the turn after a screenshot does not read the image again', { timeout: LOAD_TIMEOUT_MS + 3 * REPLY_TIMEOUT_MS }, async () => {
  const { page } = browser;
  await page.goto(`${server.url}?${QUERY}`);
  await waitForModel(browser);
  await page.getByRole('button', { name: 'New chat', exact: true }).click();
  const png = new Uint8Array(readFileSync(join(referenceDir('tiny-scout'), 'images', 'wide.png')));
  await composer(browser).focus();
  await paste(composer(browser), { files: [{ name: 'wide.png', type: 'image/png', bytes: png }] });
  await page.getByRole('button', { name: 'Remove image 1' }).waitFor({ timeout: 10_000 });
  await ask('What is in this screenshot?');
  const [first] = await savedStats(1);
  assert.equal(first.cachedPromptTokens, 0);

  // every text the status line and the pending reply show from now on
  await page.evaluate(`(() => {
    const status = document.querySelector('[role=status]');
    const seen = [];
    window.statusDuringTurn2 = seen;
    new MutationObserver(() => seen.push(status.textContent ?? '')).observe(status, { subtree: true, childList: true, characterData: true });
    const pending = [];
    window.pendingDuringTurn2 = pending;
    new MutationObserver(() => {
      const text = document.querySelector('[data-reply-pending]')?.textContent;
      if (text) pending.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
  await ask('Which colours are in it?');
  const [, second] = await savedStats(2);
  const seen = (await page.evaluate('window.statusDuringTurn2')) as string[];
  const pending = (await page.evaluate('window.pendingDuringTurn2')) as string[];
  const report = `turn 1: ${first.promptTokens} prompt tokens; turn 2: ${second.promptTokens}, ${second.cachedPromptTokens} kept; status: ${JSON.stringify(seen)}; pending reply: ${JSON.stringify(pending)}`;
  console.log(report);
  assert.ok(second.cachedPromptTokens >= first.promptTokens - CHUNK, `turn 2 keeps turn 1's prompt with its image (${report})`);
  // the engine reports the tiles it encodes, and the app says "Reading image" only on such a report
  assert.ok(!seen.some((s) => /Reading image/.test(s)), `the status line does not say the image is read again (${report})`);
  assert.ok(!pending.some((s) => /Reading image/.test(s)), `the pending reply does not say the image is read again (${report})`);
});
