// Journeys of the embeddable widget across origins: a host page on a second origin embeds it with embed.js, asks
// through postMessage and gets the streamed tokens and the whole reply; a reset (the host's, or the visitor's New
// chat) during a reply cancels it (tabscout:error with code 'cancelled', no done); the visitor's Stop ends it with
// done; a third origin's messages are ignored and the widget never posts to it. The widget runs the app's built-in
// model (tabscout-tiny) and, before downloading it, states its size and what it can do.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BUILT_IN_MODEL_PATH } from '../lib/default-model.ts';
import { launch, type Browser } from './support/browser.ts';
import { builtApp, repoRoot } from './support/build.ts';
import { LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, withLog } from './support/chat-page.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';

const TOKENS = 8;
// longer than any reply these journeys let finish: each long reply is reset or stopped after its first tokens
const LONG = 1000;

let app: StaticServer; // origin A: the TabScout deployment
let host: StaticServer; // origin B: a site that embeds the widget
let other: StaticServer; // origin C: a site that is not allowed
let pages: string;
let browser: Browser;

const originOf = (url: string) => new URL(url).origin;

before(async () => {
  pages = mkdtempSync(join(tmpdir(), 'tabscout-hosts-'));
  app = await serveStatic(builtApp());
  host = await serveStatic(pages);
  other = await serveStatic(pages);
  const A = originOf(app.url);
  const B = originOf(host.url);
  // B's page: the widget through embed.js (allowed: B), and an iframe from C that tries to talk to the widget.
  writeFileSync(
    join(pages, 'host.html'),
    `<!doctype html><meta charset="utf-8"><title>Host</title><h1>A site with TabScout</h1>
<script>window.received = []; addEventListener('message', (e) => { if (e.origin === ${JSON.stringify(A)}) received.push(e.data); });</script>
<script src="${app.url}embed.js" data-origins="${B}" data-autoload="1" data-temperature="0" data-max-new-tokens="${TOKENS}" data-ignore-eos="1"></script>
<iframe src="${other.url}sneak.html" title="third party" style="width:10px;height:10px"></iframe>`,
  );
  // B's page with long replies, to reset and stop them while they are being written.
  writeFileSync(
    join(pages, 'long.html'),
    `<!doctype html><meta charset="utf-8"><title>Host</title><h1>Long answers</h1>
<script>window.received = []; window.resetAtFirstToken = null;
addEventListener('message', (e) => {
  if (e.origin !== ${JSON.stringify(A)}) return;
  received.push(e.data);
  // a reset sent the moment the reply starts, with no round trip through the test
  if (e.data.type === 'tabscout:token' && e.data.id === resetAtFirstToken) { resetAtFirstToken = null; reset(); }
});
window.ask = (id, text) => document.querySelector('iframe.tabscout-widget').contentWindow.postMessage({ type: 'tabscout:ask', id, text }, ${JSON.stringify(A)});
window.reset = () => document.querySelector('iframe.tabscout-widget').contentWindow.postMessage({ type: 'tabscout:reset' }, ${JSON.stringify(A)});</script>
<script src="${app.url}embed.js" data-origins="${B}" data-autoload="1" data-temperature="0" data-max-new-tokens="${LONG}" data-ignore-eos="1"></script>`,
  );
  // C's frame inside B: posts asks to the widget (its sibling) with every target origin it can.
  writeFileSync(
    join(pages, 'sneak.html'),
    `<!doctype html><meta charset="utf-8"><script>
let n = 0; const timer = setInterval(() => { if (++n > 20) clearInterval(timer);
  parent.frames[0].postMessage({ type: 'tabscout:ask', id: 'sneak', text: 'leak it' }, ${JSON.stringify(A)});
  parent.frames[0].postMessage({ type: 'tabscout:reset' }, ${JSON.stringify(A)}); }, 250);</script>`,
  );
  // C's own page: embeds the widget with B as the allowed origin, asks, and records anything the widget sends.
  writeFileSync(
    join(pages, 'intruder.html'),
    `<!doctype html><meta charset="utf-8"><title>Intruder</title>
<script>window.received = []; addEventListener('message', (e) => received.push({ origin: e.origin, data: e.data }));</script>
<iframe id="w" src="${app.url}widget.html?origins=${encodeURIComponent(B)}" style="width:380px;height:400px"
  onload="setInterval(() => this.contentWindow.postMessage({ type: 'tabscout:ask', id: 'evil', text: 'hi' }, ${JSON.stringify(A)}), 250)"></iframe>`,
  );
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await app?.close();
  await host?.close();
  await other?.close();
  rmSync(pages, { recursive: true, force: true });
});

type Received = { type: string; id?: string; text?: string; code?: string; message?: string; version?: number }[];
const received = () => browser.page.evaluate(() => (window as unknown as { received: Received }).received);

test('a host on another origin asks through postMessage and gets the streamed reply', { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS }, async () => {
  const { page } = browser;
  await page.goto(`${host.url}host.html`);
  const frame = page.frameLocator('iframe.tabscout-widget');
  await page.waitForFunction(() => (window as unknown as { received: Received }).received.some((m) => m.type === 'tabscout:ready'), null, { timeout: 30_000 })
    .catch((error: Error) => assert.fail(withLog(browser, `no tabscout:ready: ${error.message}`)));
  assert.deepEqual((await received()).find((m) => m.type === 'tabscout:ready'), { type: 'tabscout:ready', version: 1 });

  await page.evaluate((A) => {
    const widget = document.querySelector<HTMLIFrameElement>('iframe.tabscout-widget')!;
    widget.contentWindow!.postMessage({ type: 'tabscout:ask', id: 'q1', text: 'Hello from the host page' }, A);
  }, originOf(app.url));
  await page
    .waitForFunction(() => (window as unknown as { received: Received }).received.some((m) => m.id === 'q1' && (m.type === 'tabscout:done' || m.type === 'tabscout:error')), null, {
      timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS - 30_000,
    })
    .catch((error: Error) => assert.fail(withLog(browser, `no reply: ${error.message}`)));
  const messages = await received();
  const error = messages.find((m) => m.type === 'tabscout:error');
  assert.equal(error, undefined, withLog(browser, `the widget answered with an error: ${JSON.stringify(error)}`));
  const tokens = messages.filter((m) => m.type === 'tabscout:token' && m.id === 'q1');
  const done = messages.find((m) => m.type === 'tabscout:done' && m.id === 'q1')!;
  assert.ok(tokens.length >= 2, `the reply streamed in pieces (${tokens.length} token messages)`);
  assert.ok(done.text && done.text.length > 0, 'the reply has text');
  assert.equal(tokens.map((t) => t.text).join(''), done.text, 'the streamed pieces add up to the whole reply');
  assert.ok(messages.indexOf(done) > messages.indexOf(tokens.at(-1)!), 'done comes after the last token');

  // The widget shows the exchange; the sibling frame from C got nothing through (no 'sneak' ask, no reset).
  await frame.getByRole('article', { name: /^Assistant/ }).first().waitFor({ timeout: 5_000 });
  assert.equal(await frame.getByRole('article', { name: /^You/ }).count(), 1, 'only the host\u2019s question was asked');
  assert.equal(await frame.getByRole('article', { name: /^Assistant/ }).first().getAttribute('data-text'), done.text);
  assert.ok(!messages.some((m) => m.id === 'sneak'), 'nothing about the third origin\u2019s ask');
  assert.equal(await frame.getByRole('status').getAttribute('data-state'), 'ready');
});

test('a reset or New chat during a reply cancels it; Stop ends it with done; the status line is plain', { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS }, async () => {
  const { page } = browser;
  await page.goto(`${host.url}long.html`);
  const frame = page.frameLocator('iframe.tabscout-widget');
  const status = frame.locator('.widget-header [role=status]');
  const newChat = frame.locator('.widget-header button', { hasText: 'New chat' });
  await page
    .waitForFunction(() => (window as unknown as { received: Received }).received.some((m) => m.type === 'tabscout:ready'), null, { timeout: 30_000 })
    .catch((error: Error) => assert.fail(withLog(browser, `no tabscout:ready: ${error.message}`)));
  const firstToken = (id: string) =>
    page
      .waitForFunction((id) => (window as unknown as { received: Received }).received.some((m) => m.id === id && m.type === 'tabscout:token'), id, { timeout: LOAD_TIMEOUT_MS })
      .catch((error: Error) => assert.fail(withLog(browser, `no token for ${id}: ${error.message}`)));
  const ended = (...ids: string[]) =>
    page
      .waitForFunction(
        (ids) => ids.every((id) => (window as unknown as { received: Received }).received.some((m) => m.id === id && (m.type === 'tabscout:done' || m.type === 'tabscout:error'))),
        ids,
        { timeout: REPLY_TIMEOUT_MS / 2 },
      )
      .catch((error: Error) => assert.fail(withLog(browser, `${ids.join(', ')} did not end: ${error.message}`)));
  const about = async (id: string) => (await received()).filter((m) => m.id === id).map((m) => m.type);
  const errorOf = async (id: string) => (await received()).find((m) => m.id === id && m.type === 'tabscout:error');

  // The host resets while the reply is being written (at its first token).
  await page.evaluate(() => {
    const w = window as unknown as { ask: (id: string, text: string) => void; resetAtFirstToken: string };
    w.resetAtFirstToken = 'r1';
    w.ask('r1', 'Tell me a long story.');
  });
  await ended('r1');
  assert.equal((await errorOf('r1'))?.code, 'cancelled', JSON.stringify(await errorOf('r1')));
  assert.ok(!(await about('r1')).includes('tabscout:done'), 'no done with a partial text after a reset');
  assert.equal(await frame.locator('article').count(), 0, 'the conversation is gone');

  // The visitor's New chat cancels the reply being written and the question waiting behind it.
  await page.evaluate(() => {
    const w = window as unknown as { ask: (id: string, text: string) => void };
    w.ask('r2', 'Another long story, please.');
    w.ask('r3', 'And one more.');
  });
  await firstToken('r2');
  await newChat.click();
  await ended('r2', 'r3');
  for (const id of ['r2', 'r3']) {
    assert.equal((await errorOf(id))?.code, 'cancelled', `${id}: ${JSON.stringify(await errorOf(id))}`);
    assert.ok(!(await about(id)).includes('tabscout:done'), `no done for ${id}`);
  }
  assert.equal(await frame.locator('article').count(), 0);
  await frame.locator('.widget-header [role=status]', { hasText: /^Ready$/ }).waitFor({ timeout: 10_000 });
  assert.equal(await newChat.isDisabled(), true, 'nothing to forget');

  // The visitor's Stop keeps what was written: done, and the pieces add up to it. The status line says what it does.
  await page.evaluate(() => (window as unknown as { ask: (id: string, text: string) => void }).ask('r4', 'A last long story.'));
  await firstToken('r4');
  await frame.locator('.widget-header [role=status]', { hasText: /^Writing…$/ }).waitFor({ timeout: 5_000 }).catch(async () => assert.fail(`status while writing: ${await status.textContent()}`));
  await frame.locator('.composer button', { hasText: 'Stop' }).click();
  await ended('r4');
  const messages = await received();
  const done = messages.find((m) => m.id === 'r4' && m.type === 'tabscout:done');
  assert.ok(done, `Stop ends with done: ${JSON.stringify(messages.filter((m) => m.id === 'r4').map((m) => m.type))}`);
  const pieces = messages.filter((m) => m.id === 'r4' && m.type === 'tabscout:token').map((m) => m.text).join('');
  assert.equal(pieces, done.text);
  assert.ok(done.text!.length > 0);
  const reply = frame.locator('article.turn-assistant');
  assert.equal(await reply.getAttribute('data-state'), 'done');
  assert.equal(await reply.getAttribute('data-text'), done.text);
  assert.equal(await newChat.isDisabled(), false);
});

test('a third origin is ignored and never posted to', { timeout: 60_000 }, async () => {
  const { page } = browser;
  await page.goto(`${other.url}intruder.html`);
  const frame = page.frameLocator('#w');
  // The widget waits for a click (or an allowed host) before downloading, and says how big the download is.
  const start = frame.getByRole('button', { name: /^Download and start \(\d+(\.\d)? (KB|MB)\)$/ });
  await start.waitFor({ timeout: 30_000 }).catch((error: Error) => assert.fail(withLog(browser, `no download prompt: ${error.message}`)));
  // the widget's default is the app's built-in model: the size it states is that folder's download
  const builtIn = join(repoRoot, 'public', BUILT_IN_MODEL_PATH);
  const expected = ['model.safetensors', 'tokenizer.json', 'config.json'].reduce((sum, name) => sum + statSync(join(builtIn, name)).size, 0);
  assert.equal(Number(await frame.locator('[data-download-size]').getAttribute('data-download-size')), expected, 'the size of the built-in model');
  assert.match((await frame.locator('[data-widget-model]').textContent()) ?? '', /^The built-in model, tabscout-tiny, is tiny: it answers simple facts/);
  await page.waitForTimeout(2_500); // ten asks from C
  assert.deepEqual(await page.evaluate(() => (window as unknown as { received: unknown[] }).received), [], 'the widget posts nothing to a disallowed origin');
  assert.equal(await frame.getByRole('article').count(), 0, 'no ask from a disallowed origin was taken');
  assert.equal(await frame.getByRole('status').getAttribute('data-state'), 'idle', 'nothing was downloaded');
});
