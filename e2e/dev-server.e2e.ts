// Journey: the README's start command. The Vite dev server is started as on a fresh clone (its dependency cache is an
// empty temporary folder, so the shared node_modules/.vite is left alone); the page must load the model, chat, and
// still work after a reload. A dependency found late makes Vite re-bundle and reload the page mid-load (the worker
// dies with it), so the journey also fails on any page reload it did not ask for and on Vite re-optimising.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, type Browser } from './support/browser.ts';
import { repoRoot } from './support/build.ts';
import { composer, lastReply, LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function withoutAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

let vite: ChildProcess | undefined;
let browser: Browser | undefined;
let url = '';
const cacheDir = mkdtempSync(join(tmpdir(), 'tabscout-vite-cache-'));
const viteLog: string[] = [];

before(async () => {
  const port = await freePort();
  vite = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'), '--port', String(port), '--strictPort', '--clearScreen', 'false'], {
    cwd: repoRoot,
    env: { ...process.env, TABSCOUT_VITE_CACHE_DIR: cacheDir, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = new Promise<void>((done, fail) => {
    const onData = (data: Buffer) => {
      viteLog.push(String(data));
      // Vite colours its banner when it thinks it writes to a terminal (CI does, through FORCE_COLOR): the port is
      // wrapped in escape codes, so match on the text without them.
      if (withoutAnsi(viteLog.join('')).includes(`127.0.0.1:${port}`)) done();
    };
    vite!.stdout!.on('data', onData);
    vite!.stderr!.on('data', onData);
    vite!.once('exit', (code) => fail(new Error(`vite exited (${code}):\n${viteLog.join('')}`)));
    setTimeout(() => fail(new Error(`vite did not start in 60 s:\n${viteLog.join('')}`)), 60_000).unref();
  });
  await started;
  url = `http://127.0.0.1:${port}/`;
  browser = await launch({ webgpu: true });
});

after(async () => {
  await browser?.close();
  vite?.kill();
  rmSync(cacheDir, { recursive: true, force: true });
});

async function chatOnce(b: Browser, question: string): Promise<void> {
  await composer(b).fill(question);
  await composer(b).press('Enter');
  const state = await waitForReplyEnd(b);
  assert.equal(state, 'done', withLog(b, `reply ended in state ${state}: ${await lastReply(b).textContent()}\n--- vite ---\n${viteLog.join('')}`));
  assert.ok(((await lastReply(b).getAttribute('data-text')) ?? '').length > 0, 'the reply has text');
}

test('npm start on a fresh clone (empty dependency cache) reaches a usable chat, also after a reload', { timeout: 2 * (LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS) }, async () => {
  const b = browser!;
  let navigations = 0;
  b.page.on('framenavigated', (frame) => {
    if (frame === b.page.mainFrame()) navigations++;
  });
  // what the status line and the banner said, in order, kept across reloads (for the failure message)
  await b.page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { shown: string[] }).shown = seen;
    new MutationObserver(() => {
      const text = `${document.querySelector('[role=status]')?.textContent ?? ''} | ${document.querySelector('[data-notice]')?.textContent ?? ''}`;
      if (seen.at(-1) !== text) seen.push(`${Math.round(performance.now())} ms: ${text}`);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const shown = async () => (await b.page.evaluate(() => (window as unknown as { shown?: string[] }).shown ?? []).catch(() => [])).join('\n');
  const waitReady = () =>
    waitForModel(b).catch(async (error: Error) => assert.fail(`${error.message}\n--- shown ---\n${await shown()}\n--- vite ---\n${viteLog.join('')}`));
  const workersClosed = () => b.log.filter((line) => line.startsWith('[worker closed]')).length;

  await b.page.goto(`${url}?${new URLSearchParams({ temperature: '0', maxNewTokens: '8' })}`);
  await waitReady();
  await chatOnce(b, 'Hello');
  assert.equal(navigations, 1, withLog(b, `the dev server reloaded the page by itself (${navigations} navigations)\n--- vite ---\n${viteLog.join('')}`));
  assert.equal(workersClosed(), 0, withLog(b, 'the engine worker closed during the first load'));
  assert.doesNotMatch(viteLog.join(''), /new dependencies optimized|optimized dependencies changed/i, `Vite found a dependency late:\n${viteLog.join('')}`);

  await b.page.reload();
  await waitReady();
  await chatOnce(b, 'Hello again');
  assert.equal(navigations, 2, withLog(b, `unexpected page reloads after the user's reload (${navigations} navigations)`));
});
