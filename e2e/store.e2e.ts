// Journey: the weight store in Chromium's real IndexedDB, Web Locks and StorageManager. A Hub-like server on
// 127.0.0.1 serves the tiny-scout checkpoint and a page that bundles worker/store; the page imports it, is
// reloaded in the middle of an import (a killed tab) and resumes, meets a second tab importing the same model,
// and deletes it. The stored records must be the converted package's, byte for byte (same SHA-256).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, type Browser } from './support/browser.ts';
import { bundleForBrowser } from '../testing/browser-bundle.ts';
import { convertCheckpoint } from '../cli/convert.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { HubServer } from '../testing/hub-server.ts';
import type { storeCheck as StoreCheck } from '../testing/browser/store-check.ts';
import type { Manifest } from '../worker/store/format.ts';

declare const storeCheck: typeof StoreCheck;

const ARGS = { repo: 'meta-llama/tiny-scout', id: 'tiny-scout', maxRecordBytes: 8192, maxRangeBytes: 16384, idleTimeoutMs: 5000, attempts: 3 };
let page: string;
let pkgDir: string;
let pkg: Manifest;
let hub: HubServer;
let browser: Browser;

before(async () => {
  page = mkdtempSync(join(tmpdir(), 'tabscout-store-page-'));
  pkgDir = mkdtempSync(join(tmpdir(), 'tabscout-store-pkg-'));
  await bundleForBrowser('testing/browser/store-check.ts', page, 'store-check.js');
  writeFileSync(join(page, 'index.html'), '<!doctype html><title>store check</title><script type="module" src="./store-check.js"></script>');
  const model = join(fixturesDir(), 'tiny-scout', 'model');
  pkg = await convertCheckpoint(model, pkgDir, { weights: 'q4', maxRecordBytes: ARGS.maxRecordBytes });
  hub = await HubServer.start({ repos: { [ARGS.repo]: { main: model } }, static: { check: page }, stallMs: 3000 });
  browser = await launch({ webgpu: false });
});

after(async () => {
  await browser?.close();
  await hub?.close();
  rmSync(page, { recursive: true, force: true });
  rmSync(pkgDir, { recursive: true, force: true });
});

async function open(p = browser.page): Promise<void> {
  await p.goto(`${hub.url}/static/check/index.html`);
  await p.waitForFunction(() => typeof (globalThis as { storeCheck?: unknown }).storeCheck === 'object');
}

const expected = () => pkg.records.map((r) => [r.key, r.sha256]).sort();

test('import from a Hub-like server into IndexedDB, resume after a reload mid-import, refuse a second tab, delete', { timeout: 120_000 }, async () => {
  const { page: tab } = browser;
  await open();

  // the network goes away half-way: the import stops with an error, the tab is reloaded (killed), it resumes
  hub.faults = [{ file: 'model.safetensors', kind: 'drop', fromByte: 500_000, afterBytes: 0, times: Infinity }];
  const failed = await tab.evaluate((a) => storeCheck.importHub(a), ARGS);
  assert.equal(failed.ok, false);
  assert.equal(failed.ok === false && failed.code, 'download-failed', JSON.stringify(failed));
  const kept = await tab.evaluate((id) => storeCheck.committed(id), ARGS.id);
  assert.ok(kept > 0 && kept < pkg.records.length, `${kept} records kept`);
  hub.faults = [];
  await tab.reload();
  await open();
  const [partial] = await tab.evaluate(() => storeCheck.list());
  assert.equal(partial.status, 'partial');
  assert.equal(partial.records, kept);

  // while this tab resumes (slowed by a stalled response), a second tab cannot write the same model
  hub.faults = [{ file: 'model.safetensors', kind: 'stall', fromByte: 700_000, afterBytes: 10 }];
  const resuming = tab.evaluate((a) => storeCheck.importHub({ ...a, idleTimeoutMs: 1500 }), ARGS);
  const second = await browser.context.newPage();
  await open(second);
  await new Promise((r) => setTimeout(r, 300));
  const busy = await second.evaluate((a) => storeCheck.importHub(a), ARGS);
  assert.equal(busy.ok === false && busy.code, 'busy', JSON.stringify(busy));
  const resumed = await resuming;
  assert.ok(resumed.ok, JSON.stringify(resumed));
  assert.equal(resumed.ok && resumed.recordsKept, kept);
  assert.equal(hub.faults[0].times, 0, 'the stall happened');

  assert.deepEqual((await second.evaluate((id) => storeCheck.hashes(id), ARGS.id)).sort(), expected(), 'the records read back are the package records');
  assert.equal(await second.evaluate((id) => storeCheck.verify(id), ARGS.id), pkg.records.length);
  const [done] = await second.evaluate(() => storeCheck.list());
  assert.deepEqual([done.status, done.bytes, done.source.kind, done.source.revision], ['complete', pkg.totalBytes, 'hub', 'main']);
  const space = await second.evaluate(() => storeCheck.space());
  assert.ok(space && space.quota > 0 && space.usage >= 0, JSON.stringify(space));
  await second.close();

  assert.deepEqual(await tab.evaluate((id) => storeCheck.delete(id), ARGS.id), [], 'no record left');
  assert.deepEqual(await tab.evaluate(() => storeCheck.list()), []);
});
