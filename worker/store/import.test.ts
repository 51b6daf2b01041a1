// Imports over HTTP from a local Hub-like server with faults, from a package URL and from a local folder. Every
// import must end with the records of an uninterrupted one (the converted package: same digest, same SHA-256 per
// record), each record written once, and the store consistent at every stop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../cli/convert.ts';
import { fixturesDir, removeDir } from '../../testing/fixtures.ts';
import { FolderFiles, folderSource } from './folder.ts';
import type { Manifest } from './format.ts';
import type { HttpOptions } from './http.ts';
import type { ImportProgress } from '../../protocol/api.ts';
import { importModel } from './import.ts';
import { hubSource, packageUrlSource, urlSource } from './sources.ts';
import { HubServer } from '../../testing/hub-server.ts';
import { testStore, type TestStore } from '../../testing/stores.ts';

const MAX_RECORD = 8192;
const MAX_RANGE = 16384;
const scoutModel = join(fixturesDir(), 'tiny-scout', 'model');
const maverickModel = join(fixturesDir(), 'tiny-maverick', 'model');
let pkgDir = '';
let otherPkgDir = '';
let pkg: Manifest;
let hub: HubServer;
const retries: string[] = [];
const http: HttpOptions = { attempts: 4, backoffMs: 2, maxBackoffMs: 10, idleTimeoutMs: 250, onRetry: (r) => retries.push(r.error) };
const options = { weights: 'q4' as const, maxRecordBytes: MAX_RECORD, id: 'scout' };

before(async () => {
  pkgDir = mkdtempSync(join(tmpdir(), 'tabscout-import-pkg-'));
  otherPkgDir = mkdtempSync(join(tmpdir(), 'tabscout-import-pkg2-'));
  pkg = await convertCheckpoint(scoutModel, pkgDir, { weights: 'q4', maxRecordBytes: MAX_RECORD, id: 'scout' });
  await convertCheckpoint(scoutModel, otherPkgDir, { weights: 'f32', maxRecordBytes: MAX_RECORD });
  hub = await HubServer.start({
    repos: { 'meta-llama/tiny-scout': { main: scoutModel }, 'meta-llama/gated-scout': { main: scoutModel }, 'meta-llama/moving': { main: scoutModel } },
    gated: { 'meta-llama/gated-scout': 'hf_secret' },
    static: { pkg: pkgDir, other: otherPkgDir, scout: scoutModel },
    stallMs: 3000,
  });
});

after(async () => {
  await hub.close();
  removeDir(pkgDir);
  removeDir(otherPkgDir);
});

function reset(): void {
  hub.faults = [];
  hub.log = [];
  retries.length = 0;
}

const scoutHub = (o: { token?: string; repo?: string; signal?: AbortSignal } = {}) =>
  hubSource(o.repo ?? 'meta-llama/tiny-scout', { endpoint: hub.url, token: o.token, http: { ...http, signal: o.signal }, maxRangeBytes: MAX_RANGE });

/** The store holds exactly the uninterrupted import's records (by SHA-256), complete, each written once. */
async function assertSameAsUninterrupted(t: TestStore, id = 'scout', once = true): Promise<void> {
  const m = await t.store.manifest(id);
  assert.equal(m.digest, pkg.digest);
  assert.deepEqual(m.records.map((r) => [r.key, r.sha256, r.bytes]), pkg.records.map((r) => [r.key, r.sha256, r.bytes]));
  const stored = new Map<string, string>();
  for (const key of await t.records.keys(id)) stored.set(key, (await t.records.get(id, key))!.sha256);
  assert.deepEqual(stored, new Map(pkg.records.map((r) => [r.key, r.sha256])), 'nothing lost, nothing extra');
  if (once) assert.deepEqual([...t.records.puts.entries()].filter(([, n]) => n !== 1), [], 'each record written once');
}

async function assertConsistent(t: TestStore, id = 'scout'): Promise<number> {
  const committed = await t.index.committed(id);
  for (const c of committed) assert.equal((await t.records.get(id, c.key))?.sha256, c.sha256, `commit entry ${c.key}`);
  return committed.length;
}

test('a Hub repo imports by Range, in bounded reads, to the records of the converted package; progress has bytes, records, rate and time left', async () => {
  reset();
  const t = testStore();
  let clock = 0;
  const progress: ImportProgress[] = [];
  await importModel(t.store, scoutHub(), { ...options, now: () => (clock += 100), onProgress: (p) => progress.push(p) });
  await assertSameAsUninterrupted(t);
  const shard = hub.log.filter((r) => r.path.endsWith('/model.safetensors'));
  assert.ok(shard.every((r) => r.range !== null), 'the checkpoint is only read by Range');
  // past the safetensors header (its length, then the JSON header), no read is longer than maxRangeBytes
  const headerEnd = shard.find((r) => r.range![0] === 8)!.range![1];
  const longest = Math.max(...shard.filter((r) => r.range![0] >= headerEnd).map((r) => r.range![1] - r.range![0]));
  assert.ok(longest <= MAX_RANGE, `longest read ${longest} B`);
  assert.ok(hub.log.every((r) => r.path.startsWith('/meta-llama/tiny-scout/resolve/main/')));

  const last = progress[progress.length - 1];
  assert.equal(last.phase, 'complete');
  assert.deepEqual([last.bytesDone, last.recordsDone, last.recordsTotal], [pkg.totalBytes, pkg.records.length, pkg.records.length]);
  const mid = progress.filter((p) => p.phase === 'importing')[10];
  assert.ok(mid.bytesPerSecond > 0);
  assert.ok(Math.abs(mid.secondsLeft! - (mid.bytesTotal - mid.bytesDone) / mid.bytesPerSecond) < 1e-9);
  assert.match(mid.message, /^Importing tiny-scout: /);
});

test('dropped connections, 500s and a stalled response are retried; a dropped range resumes where it stopped; the result is bit-identical', async () => {
  reset();
  hub.faults = [
    { file: 'config.json', kind: 'status', status: 500 },
    { file: 'model.safetensors', kind: 'drop', fromByte: 100_000, afterBytes: 1000, times: 2 },
    { file: 'model.safetensors', kind: 'status', status: 503, fromByte: 300_000, times: 2 },
    { file: 'model.safetensors', kind: 'stall', fromByte: 500_000, afterBytes: 100 },
    { file: 'model.safetensors', kind: 'drop', fromByte: 700_000 },
  ];
  const t = testStore();
  await importModel(t.store, scoutHub(), options);
  await assertSameAsUninterrupted(t);
  assert.ok(hub.faults.every((f) => f.times === 0), 'every fault was hit');
  assert.ok(retries.some((e) => /HTTP 500/.test(e)) && retries.some((e) => /HTTP 503/.test(e)));
  assert.ok(retries.some((e) => /stalled/.test(e)), retries.join('; '));
  assert.ok(retries.some((e) => /connection (lost|closed)/.test(e)), retries.join('; '));
  // after a drop, the next request for that range asks only for the bytes not yet received
  const i = hub.log.findIndex((r) => r.fault === 'drop');
  const next = hub.log.slice(i + 1).find((r) => r.path === hub.log[i].path)!;
  assert.equal(next.range![0], hub.log[i].range![0] + 1000);
  assert.equal(next.range![1], hub.log[i].range![1]);
});

test('network loss beyond the retries stops with a clear error; a cancelled (killed) import too; both resume to the same records, nothing duplicated', async () => {
  reset();
  const t = testStore();
  hub.faults = [{ file: 'model.safetensors', kind: 'drop', fromByte: 400_000, afterBytes: 0, times: Infinity }];
  const err = await importModel(t.store, scoutHub(), options).catch((e) => e);
  assert.equal(err.code, 'download-failed');
  assert.match(err.message, /^Could not download model\.safetensors from 127\.0\.0\.1:\d+: connection (lost|closed).* \(4 attempts\)\. Check the connection and start the import again: the records already stored are kept\.$/);
  const kept = await assertConsistent(t);
  assert.ok(kept > 0 && kept < pkg.records.length, `${kept} records kept`);
  assert.equal((await t.store.list())[0].records, kept);

  hub.faults = [];
  const abort = new AbortController();
  let n = 0;
  const cancelled = await importModel(t.store, scoutHub({ signal: abort.signal }), {
    ...options,
    signal: abort.signal,
    onProgress: (p) => p.phase === 'importing' && ++n === 5 && abort.abort(),
  }).catch((e) => e);
  assert.equal(cancelled.code, 'cancelled');
  const kept2 = await assertConsistent(t);
  assert.ok(kept2 > kept && kept2 < pkg.records.length);

  const r = await importModel(t.store, scoutHub(), options);
  assert.equal(r.recordsKept, kept2);
  await assertSameAsUninterrupted(t);
});

test('a gated repo: no token → a 401 asking for one; a refused token → 403 naming the license; the right token imports', async () => {
  reset();
  const t = testStore();
  const none = await importModel(t.store, scoutHub({ repo: 'meta-llama/gated-scout' }), options).catch((e) => e);
  assert.equal(none.code, 'auth-required');
  assert.match(none.message, /meta-llama\/gated-scout is gated or private \(HTTP 401\): enter a Hugging Face access token/);
  const wrong = await importModel(t.store, scoutHub({ repo: 'meta-llama/gated-scout', token: 'hf_nope' }), options).catch((e) => e);
  assert.equal(wrong.code, 'auth-required');
  assert.match(wrong.message, /refused the access token for meta-llama\/gated-scout \(HTTP 403\)\. Accept the model's license/);
  assert.equal(hub.log.length, 2, 'no retries on 401/403');
  assert.deepEqual(await t.store.list(), []);
  await importModel(t.store, scoutHub({ repo: 'meta-llama/gated-scout', token: 'hf_secret' }), options);
  await assertSameAsUninterrupted(t);
});

test('a package by URL: a corrupted record is fetched again; one corrupted every time fails naming the file; a record of another model is refused', async () => {
  reset();
  const base = `${hub.url}/static/pkg/`;
  const t = testStore();
  hub.faults = [
    { file: 'records/layers.1.experts.2.bin', kind: 'corrupt', afterBytes: 700 },
    { file: 'records/lm_head@1.bin', kind: 'drop' },
  ];
  await importModel(t.store, packageUrlSource(base, { http }), { id: 'scout' });
  await assertSameAsUninterrupted(t);
  assert.equal(hub.log.filter((r) => r.path.endsWith('/layers.1.experts.2.bin')).length, 2, 'fetched again once');
  assert.ok(!hub.log.some((r) => r.path.endsWith('.safetensors')), 'no checkpoint, no quantization');

  reset();
  const t2 = testStore();
  hub.faults = [{ file: 'records/layers.2.attention.o.bin', kind: 'corrupt', afterBytes: 600, times: Infinity }];
  const bad = await importModel(t2.store, packageUrlSource(base, { http }), { id: 'scout' }).catch((e) => e);
  assert.equal(bad.code, 'download-failed');
  assert.match(bad.message, /^records\/layers\.2\.attention\.o\.bin \(http:\/\/127\.0\.0\.1:\d+\/static\/pkg\/\) failed verification 3 times \(SHA-256 [0-9a-f]{12}…, expected [0-9a-f]{12}…\)/);
  await assertConsistent(t2);

  // the f32 conversion's file served where the q4 package's record is: refused at once, no retry
  reset();
  const mixedDir = mkdtempSync(join(tmpdir(), 'tabscout-import-mixed-'));
  try {
    cpSync(pkgDir, mixedDir, { recursive: true });
    cpSync(join(otherPkgDir, 'records', 'norm.bin'), join(mixedDir, 'records', 'norm.bin'));
    hub.options.static!.mixed = mixedDir;
    const t3 = testStore();
    const refused = await importModel(t3.store, packageUrlSource(`${hub.url}/static/mixed/`, { http }), { id: 'scout' }).catch((e) => e);
    assert.equal(refused.code, 'bad-model');
    assert.match(refused.message, /^records\/norm\.bin belongs to a different model \(digest [0-9a-f]{12}…\) than the manifest of tiny-scout/);
    assert.equal(hub.log.filter((r) => r.path.endsWith('/norm.bin')).length, 1, 'refused without fetching again');
    await assertConsistent(t3);
  } finally {
    removeDir(mixedDir);
  }
});

test('an unfinished import of a repo that changed since (another model at the same revision) is refused', async () => {
  reset();
  const t = testStore();
  hub.faults = [{ file: 'model.safetensors', kind: 'status', status: 500, fromByte: 300_000, times: Infinity }];
  await assert.rejects(importModel(t.store, scoutHub({ repo: 'meta-llama/moving' }), options), /HTTP 500 \(4 attempts\)/);
  hub.faults = [];
  hub.options.repos!['meta-llama/moving'].main = maverickModel;
  await assert.rejects(importModel(t.store, scoutHub({ repo: 'meta-llama/moving' }), options), /unfinished import "scout" was started from a different model than meta-llama\/moving serves now/);
  hub.options.repos!['meta-llama/moving'].main = scoutModel;
  await importModel(t.store, scoutHub({ repo: 'meta-llama/moving' }), options);
  await assertSameAsUninterrupted(t);
});

test('a local folder (picked files or a directory handle) and a plain base URL import to the same records', async () => {
  const files = readdirSync(scoutModel).map((name) => {
    const f = new File([readFileSync(join(scoutModel, name))], name);
    Object.defineProperty(f, 'webkitRelativePath', { value: `tiny-scout/${name}` });
    return f;
  });
  const t = testStore();
  await importModel(t.store, folderSource(FolderFiles.fromFiles(files, 'tiny-scout'), { maxRangeBytes: MAX_RANGE }), options);
  await assertSameAsUninterrupted(t);
  assert.equal((await t.store.manifest('scout')).source.kind, 'folder');

  const handle = {
    name: 'tiny-scout',
    async getFileHandle(name: string) {
      const f = files.find((x) => x.name === name);
      if (!f) throw new DOMException(`${name} not found`, 'NotFoundError');
      return { getFile: async () => f };
    },
    async getDirectoryHandle(name: string): Promise<never> {
      throw new DOMException(`${name} not found`, 'NotFoundError');
    },
  } as unknown as FileSystemDirectoryHandle;
  const t2 = testStore();
  await importModel(t2.store, folderSource(FolderFiles.fromDirectoryHandle(handle)), options);
  await assertSameAsUninterrupted(t2);

  reset();
  const t3 = testStore();
  await importModel(t3.store, urlSource(`${hub.url}/static/scout/`, { http, maxRangeBytes: MAX_RANGE }), options);
  await assertSameAsUninterrupted(t3);
  assert.equal((await t3.store.manifest('scout')).source.kind, 'url');
});
