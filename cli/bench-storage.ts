// npm run bench -- storage [--quick] [--json]
// Reading expert records back from the browser's storage, in Chromium: IndexedDB (how the weight store keeps
// records) against OPFS (a sync access handle in a worker), for 64 MiB records like one Scout expert at q4
// (67.5 MiB). Each backend writes N records, then reads them all back twice (the second pass is what a warm
// cache gives); MB/s = bytes read / wall time of the pass, in a dedicated worker.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { launch } from '../e2e/support/browser.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const JSON_OUT = args.includes('--json');
const RECORD_MIB = QUICK ? 4 : 64;
const RECORDS = QUICK ? 3 : 6;

const workerSource = `
const MiB = 1024 * 1024;
async function idb(records, size) {
  const db = await new Promise((res, rej) => { const r = indexedDB.open('bench', 1); r.onupgradeneeded = () => r.result.createObjectStore('r'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  const tx = (mode, f) => new Promise((res, rej) => { const t = db.transaction('r', mode); const out = f(t.objectStore('r')); t.oncomplete = () => res(out); t.onerror = () => rej(t.error); });
  const data = new Uint8Array(size); for (let i = 0; i < size; i += 4096) data[i] = i & 255;
  for (let i = 0; i < records; i++) await tx('readwrite', (s) => s.put(data.buffer.slice(0), i));
  const passes = [];
  for (let p = 0; p < 2; p++) {
    const t0 = performance.now(); let bytes = 0;
    for (let i = 0; i < records; i++) {
      const v = await new Promise((res, rej) => { const r = db.transaction('r').objectStore('r').get(i); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
      bytes += v.byteLength; new Uint8Array(v)[size - 1];
    }
    passes.push(bytes / MiB / ((performance.now() - t0) / 1000));
  }
  db.close(); await new Promise((r) => { const d = indexedDB.deleteDatabase('bench'); d.onsuccess = d.onerror = r; });
  return passes;
}
async function opfs(records, size) {
  const root = await navigator.storage.getDirectory();
  const data = new Uint8Array(size); for (let i = 0; i < size; i += 4096) data[i] = i & 255;
  for (let i = 0; i < records; i++) { const h = await (await root.getFileHandle('r' + i, { create: true })).createSyncAccessHandle(); h.truncate(0); h.write(data, { at: 0 }); h.flush(); h.close(); }
  const passes = []; const buf = new Uint8Array(size);
  for (let p = 0; p < 2; p++) {
    const t0 = performance.now(); let bytes = 0;
    for (let i = 0; i < records; i++) { const h = await (await root.getFileHandle('r' + i)).createSyncAccessHandle(); bytes += h.read(buf, { at: 0 }); h.close(); }
    passes.push(bytes / MiB / ((performance.now() - t0) / 1000));
  }
  const filePasses = [];
  for (let p = 0; p < 2; p++) {
    const t0 = performance.now(); let bytes = 0;
    for (let i = 0; i < records; i++) { const b = await (await (await root.getFileHandle('r' + i)).getFile()).arrayBuffer(); bytes += b.byteLength; }
    filePasses.push(bytes / MiB / ((performance.now() - t0) / 1000));
  }
  for (let i = 0; i < records; i++) await root.removeEntry('r' + i);
  return { sync: passes, file: filePasses };
}
onmessage = async (e) => {
  const { records, size } = e.data;
  try { postMessage({ idb: await idb(records, size), opfs: await opfs(records, size) }); } catch (err) { postMessage({ error: String(err && err.stack || err) }); }
};`;

const page = `<!doctype html><meta charset=utf-8><title>storage bench</title><script>
window.runBench = (records, size) => new Promise((resolve) => {
  const w = new Worker('/worker.js'); w.onmessage = (e) => resolve(e.data); w.postMessage({ records, size });
});</script>`;

const server = createServer((req, res) => {
  if (req.url === '/worker.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(workerSource);
  else res.writeHead(200, { 'content-type': 'text/html' }).end(page);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const browser = await launch({ webgpu: false });
try {
  await browser.page.goto(url);
  const result = (await browser.page.evaluate(([n, size]) => (window as unknown as { runBench(n: number, s: number): Promise<unknown> }).runBench(n, size), [RECORDS, RECORD_MIB * 1024 * 1024])) as {
    idb?: number[];
    opfs?: { sync: number[]; file: number[] };
    error?: string;
  };
  if (result.error) throw new Error(result.error);
  const fmt = (p: number[]) => `${p[0].toFixed(0)} MB/s first read, ${p[1].toFixed(0)} MB/s second`;
  const report = { records: RECORDS, record_mib: RECORD_MIB, indexeddb_mb_s: result.idb, opfs_sync_handle_mb_s: result.opfs!.sync, opfs_file_mb_s: result.opfs!.file };
  if (JSON_OUT) console.log(JSON.stringify(report));
  else {
    console.log(`Chromium, ${RECORDS} records of ${RECORD_MIB} MiB, read in a dedicated worker:`);
    console.log(`  IndexedDB: ${fmt(result.idb!)}`);
    console.log(`  OPFS, sync access handle (workers only): ${fmt(result.opfs!.sync)}`);
    console.log(`  OPFS, File.arrayBuffer() (any context): ${fmt(result.opfs!.file)}`);
  }
} finally {
  await browser.close();
  server.close();
}
