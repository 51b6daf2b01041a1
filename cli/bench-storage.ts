// npm run bench -- storage [--quick] [--json]
// Reading expert records back from the browser's storage, in Chromium: IndexedDB (how the weight store keeps
// records) against OPFS (a sync access handle in a worker), for 64 MiB records like one Scout expert at q4
// (67.5 MiB). Each backend writes N records, then reads them all back twice (the second pass is what a warm
// cache gives); MB/s = bytes read / wall time of the pass, in a dedicated worker.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '../e2e/support/browser.ts';
import { serveStatic } from '../e2e/support/static-server.ts';
import { bundleForBrowser } from '../testing/browser-bundle.ts';
import type { StorageBenchRequest, StorageBenchResult } from '../testing/browser/storage-bench.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const JSON_OUT = args.includes('--json');
const RECORD_MIB = QUICK ? 4 : 64;
const RECORDS = QUICK ? 3 : 6;

// the bench runs in a worker (testing/browser/storage-bench.ts) of a blank page on 127.0.0.1 (OPFS needs an origin)
const dir = mkdtempSync(join(tmpdir(), 'tabscout-storage-bench-'));
await bundleForBrowser('testing/browser/storage-bench.ts', dir, 'storage-bench.js');
writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset=utf-8><title>storage bench</title>');
const server = await serveStatic(dir);
const browser = await launch({ webgpu: false });
try {
  await browser.page.goto(server.url);
  const request: StorageBenchRequest = { records: RECORDS, size: RECORD_MIB * 1024 * 1024 };
  const result = await browser.page.evaluate(
    (req) =>
      new Promise<StorageBenchResult>((resolve) => {
        const w = new Worker('./storage-bench.js', { type: 'module' });
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => resolve({ error: `worker error: ${e.message}` });
        w.postMessage(req);
      }),
    request,
  );
  if ('error' in result) throw new Error(result.error);
  const fmt = (p: number[]) => `${p[0].toFixed(0)} MB/s first read, ${p[1].toFixed(0)} MB/s second`;
  const report = { records: RECORDS, record_mib: RECORD_MIB, indexeddb_mb_s: result.idb, opfs_sync_handle_mb_s: result.opfs.sync, opfs_file_mb_s: result.opfs.file };
  if (JSON_OUT) console.log(JSON.stringify(report));
  else {
    console.log(`Chromium, ${RECORDS} records of ${RECORD_MIB} MiB, read in a dedicated worker:`);
    console.log(`  IndexedDB: ${fmt(result.idb)}`);
    console.log(`  OPFS, sync access handle (workers only): ${fmt(result.opfs.sync)}`);
    console.log(`  OPFS, File.arrayBuffer() (any context): ${fmt(result.opfs.file)}`);
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
