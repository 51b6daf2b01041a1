// Journey: weight records in Chromium's Origin Private File System, in a worker (sync access handles, as the
// engine's store uses them) and on the page (File and writable streams).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, type Browser } from './support/browser.ts';
import { bundleForBrowser } from '../testing/browser-bundle.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';

let dir: string;
let server: StaticServer;
let browser: Browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabscout-opfs-page-'));
  await bundleForBrowser('testing/browser/opfs-check.ts', dir, 'opfs-check.js');
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>opfs check</title><script type="module" src="./opfs-check.js"></script>');
  server = await serveStatic(dir);
  browser = await launch({ webgpu: false });
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('OPFS records round-trip in a worker (sync access handles) and on the page', async () => {
  await browser.page.goto(server.url);
  const inWorker = await browser.page.evaluate(
    () =>
      new Promise<{ problems: string[]; syncHandles?: boolean }>((resolve) => {
        const w = new Worker('./opfs-check.js', { type: 'module' });
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => resolve({ problems: [`worker error: ${e.message}`] });
      }),
  );
  assert.deepEqual(inWorker.problems, [], 'worker');
  assert.equal(inWorker.syncHandles, true, 'the worker path used sync access handles');
  await browser.page.waitForFunction(() => 'opfsRoundTrip' in globalThis);
  const onPage = await browser.page.evaluate(() => (globalThis as unknown as { opfsRoundTrip(w: string): Promise<string[]> }).opfsRoundTrip('page'));
  assert.deepEqual(onPage, [], 'page');
});
