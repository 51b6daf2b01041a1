// The IndexedDB weight store (fake-indexeddb): import, list, read, delete, crash consistency, the fit check from
// the config alone, a full disk mid-import, Web Locks, and models that must not mix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { convertCheckpoint } from '../../cli/convert.ts';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { Reference } from '../../cli/reference.ts';
import { parseConfig } from '../model/config.ts';
import { ModelSession } from '../session.ts';
import { fixturesDir, removeDir } from '../../testing/fixtures.ts';
import type { Manifest } from './format.ts';
import { importModel } from './import.ts';
import { loadSessionFromStore } from './session.ts';
import { packageSource, type ImportSource } from './sources.ts';
import { memoryLocks, storeBytesNeeded, WeightStore, type Locks } from './store.ts';
import { fakeStorage, testStore, type TestStore } from '../../testing/stores.ts';

let scoutDir = '';
let maverickDir = '';
let scout: Manifest;

before(async () => {
  scoutDir = mkdtempSync(join(tmpdir(), 'tabscout-store-scout-'));
  maverickDir = mkdtempSync(join(tmpdir(), 'tabscout-store-maverick-'));
  scout = await convertCheckpoint(join(fixturesDir(), 'tiny-scout', 'model'), scoutDir, { weights: 'q4', maxRecordBytes: 8192, id: 'tiny-scout-q4' });
  await convertCheckpoint(join(fixturesDir(), 'tiny-maverick', 'model'), maverickDir, { weights: 'q4', maxRecordBytes: 8192, id: 'tiny-maverick-q4' });
});

after(() => {
  removeDir(scoutDir);
  removeDir(maverickDir);
});

const source = (dir: string): ImportSource => packageSource(new FsModelFiles(dir + '/'), { kind: 'package', location: dir, revision: null });

/** Every commit entry names a stored record with the same hash, and the model's records are the manifest's. */
async function assertConsistent(t: TestStore, id: string): Promise<void> {
  for (const c of await t.index.committed(id)) {
    const r = await t.records.get(id, c.key);
    assert.ok(r, `commit entry ${c.key} has no record`);
    assert.equal(r.sha256, c.sha256, c.key);
  }
}

async function storedHashes(store: WeightStore, id: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of await store.records.keys(id)) out.set(key, (await store.records.get(id, key))!.sha256);
  return out;
}

test('a package imports into IndexedDB: listed with name, size, source and date; loads to the checkpoint logits; deleted with all its records', async () => {
  const storage = fakeStorage(1e9);
  const t = testStore({ storage });
  const progress: number[] = [];
  const result = await importModel(t.store, source(scoutDir), { onProgress: (p) => p.phase === 'importing' && progress.push(p.recordsDone) });
  assert.equal(result.recordsWritten, scout.records.length);
  assert.equal(result.persisted, true);
  assert.equal(storage.persistCalls, 1, 'navigator.storage.persist() is asked');
  assert.deepEqual(progress, Array.from({ length: scout.records.length + 1 }, (_, i) => i));
  const [info] = await t.store.list();
  assert.deepEqual(
    { id: info.id, name: info.name, status: info.status, bytes: info.bytes, records: info.records, kind: info.source.kind },
    { id: 'tiny-scout-q4', name: 'tiny-scout', status: 'complete', bytes: scout.totalBytes, records: scout.records.length, kind: 'package' },
  );
  assert.ok(Date.parse(info.date) > 0);
  const hashes = await storedHashes(t.store, 'tiny-scout-q4');
  assert.deepEqual(new Map(scout.records.map((r) => [r.key, r.sha256])), hashes, 'the stored records are the package records');
  assert.deepEqual([...t.records.puts.values()].filter((n) => n !== 1), [], 'each record written once');
  await assertConsistent(t, 'tiny-scout-q4');

  // a second import of the same model is a no-op
  assert.equal((await importModel(t.store, source(scoutDir))).recordsWritten, 0);

  const { ctx } = await createNodeGpu();
  const dir = join(fixturesDir(), 'tiny-scout');
  const ids = (await Reference.load(join(dir, 'reference'))).ids('chat.input_ids');
  const a = await ModelSession.load(ctx, new FsModelFiles(join(dir, 'model')), { weights: 'q4', contextLength: 64 });
  const b = await loadSessionFromStore(ctx, t.reopen(), 'tiny-scout-q4', { contextLength: 64, verify: true });
  assert.ok(b.vision, 'the vision tower comes back from the store');
  const la = await a.logitsFor(ids);
  const lb = await b.logitsFor(ids);
  assert.equal(la.findIndex((v, i) => !Object.is(v, lb[i])), -1, 'logits from the store are bit-identical');
  a.destroy();
  b.destroy();

  await importModel(t.store, source(maverickDir));
  await t.store.delete('tiny-scout-q4');
  assert.deepEqual((await t.store.list()).map((m) => m.id), ['tiny-maverick-q4']);
  assert.deepEqual(await t.records.keys('tiny-scout-q4'), []);
  assert.equal(await t.index.files('tiny-scout-q4'), undefined);
  assert.ok((await t.records.keys('tiny-maverick-q4')).length > 0, 'the other model is untouched');
  await assert.rejects(loadSessionFromStore(ctx, t.store, 'tiny-scout-q4'), /No model "tiny-scout-q4" is stored/);
});

test('a crash between writing a record and committing it, or during the write, leaves the store consistent; the import resumes to the same records', async () => {
  const t = testStore();
  t.index.crashBeforeCommit = 10;
  await assert.rejects(importModel(t.store, source(scoutDir)), /simulated crash between/);
  await assertConsistent(t, 'tiny-scout-q4');
  assert.equal((await t.index.committed('tiny-scout-q4')).length, 9);
  assert.equal((await t.records.keys('tiny-scout-q4')).length, 10, 'the 10th record is stored but not committed');
  assert.equal((await t.store.list())[0].status, 'partial');
  await assert.rejects(t.store.manifest('tiny-scout-q4'), /only partly imported/);

  t.records.crashBeforePut = 5;
  await assert.rejects(importModel(t.store, source(scoutDir)), /simulated crash before/);
  await assertConsistent(t, 'tiny-scout-q4');
  assert.equal((await t.index.committed('tiny-scout-q4')).length, 9 + 4);

  const r = await importModel(t.store, source(scoutDir));
  assert.equal(r.recordsKept, 13);
  assert.deepEqual(await storedHashes(t.store, 'tiny-scout-q4'), new Map(scout.records.map((x) => [x.key, x.sha256])));
  assert.deepEqual(await t.index.committed('tiny-scout-q4'), [], 'commit entries are folded into the finished manifest');
  const rewritten = [...t.records.puts.entries()].filter(([, n]) => n > 1).map(([k]) => k);
  assert.deepEqual(rewritten, [`tiny-scout-q4/${scout.records[9].key}`], 'only the uncommitted record is written twice');
});

test('the fit check uses the bytes computed from the config alone: Scout and Maverick are refused with the numbers', async () => {
  const dir = join(fixturesDir(), 'configs');
  // text only, and with the vision tower kept in bf16 (+1.7 GB for both)
  const cases = [
    ['Llama-4-Scout-17B-16E-Instruct', 'q4', false, 'Not enough storage: 60.6 GB needed, 12.0 GB free.'],
    ['Llama-4-Scout-17B-16E-Instruct', 'q4', true, 'Not enough storage: 62.4 GB needed, 12.0 GB free.'],
    ['Llama-4-Scout-17B-16E-Instruct', 'f32', false, 'Not enough storage: 431.1 GB needed, 12.0 GB free.'],
    ['Llama-4-Maverick-17B-128E-Instruct', 'q4', false, 'Not enough storage: 225.5 GB needed, 12.0 GB free.'],
    ['Llama-4-Maverick-17B-128E-Instruct', 'q4', true, 'Not enough storage: 227.2 GB needed, 12.0 GB free.'],
  ] as const;
  const store = testStore({ storage: fakeStorage(40e9, () => 28e9) }).store;
  for (const [name, mode, vision, message] of cases) {
    const config = parseConfig(JSON.parse(readFileSync(join(dir, `${name}.config.json`), 'utf8')));
    await assert.rejects(store.checkFit(storeBytesNeeded(config, mode, vision)), (e: Error & { code?: string }) => e.code === 'quota-exceeded' && e.message.startsWith(message), `${name} ${mode}`);
  }
  const scoutConfig = parseConfig(JSON.parse(readFileSync(join(dir, 'Llama-4-Scout-17B-16E-Instruct.config.json'), 'utf8')));
  await testStore({ storage: fakeStorage(100e9, () => 20e9) }).store.checkFit(storeBytesNeeded(scoutConfig, 'q4'));

  // an import that does not fit is refused before anything is written
  const t = testStore({ storage: fakeStorage(Math.floor(scout.totalBytes / 2)) });
  await assert.rejects(importModel(t.store, source(scoutDir)), /^EngineError: Not enough storage: 0\.0 GB needed/);
  assert.deepEqual(await t.store.list(), []);
  assert.deepEqual(await t.records.models(), []);
});

test('a full disk mid-import stops cleanly with the space needed; what was written stays consistent and the import resumes to the same records', async () => {
  const t = testStore();
  t.records.quotaBytes = Math.floor(scout.totalBytes / 2);
  const err = await importModel(t.store, source(scoutDir)).catch((e) => e);
  assert.equal(err.code, 'quota-exceeded');
  assert.match(err.message, /Not enough storage to finish tiny-scout: 0\.0 GB more needed\. Free up disk space or delete a stored model, then import again: the \d+ records already stored \(0\.0 GB\) are kept\./);
  await assertConsistent(t, 'tiny-scout-q4');
  const kept = (await t.index.committed('tiny-scout-q4')).length;
  assert.ok(kept > 0 && kept < scout.records.length);
  t.records.quotaBytes = Infinity;
  const r = await importModel(t.store, source(scoutDir));
  assert.equal(r.recordsKept, kept);
  assert.deepEqual(await storedHashes(t.store, 'tiny-scout-q4'), new Map(scout.records.map((x) => [x.key, x.sha256])));
  assert.ok([...t.records.puts.values()].every((n) => n === 1), 'nothing written twice');
});

test('a manifest of a different model is refused, partial or complete; a stored record of another model is refused on read', async () => {
  const t = testStore();
  t.records.quotaBytes = 20000;
  await assert.rejects(importModel(t.store, source(scoutDir), { id: 'mine' }), /Not enough storage/);
  t.records.quotaBytes = Infinity;
  await assert.rejects(importModel(t.store, source(maverickDir), { id: 'mine' }), (e: Error & { code?: string }) => e.code === 'bad-model' && /unfinished import "mine" was started from a different model/.test(e.message));
  await importModel(t.store, source(scoutDir), { id: 'mine' });
  await assert.rejects(importModel(t.store, source(maverickDir), { id: 'mine' }), /A different model is already stored as "mine"/);

  const m = await t.store.manifest('mine');
  const entry = m.records.find((r) => r.key === 'norm')!;
  const rec = (await t.records.get('mine', 'norm'))!;
  await t.records.inner.put({ ...rec, digest: 'f'.repeat(64) });
  await assert.rejects(t.store.readRecord(m, entry), /Record norm in the store belongs to a different model/);
  await t.records.inner.put({ ...rec, data: new Uint8Array(rec.bytes).fill(7).buffer });
  await t.store.readRecord(m, entry); // size is checked on every read, the hash with verify
  await assert.rejects(t.store.readRecord(m, entry, true), /fails its SHA-256 check/);
});

test('Web Locks: a second import or a delete of a model being imported is refused as busy; records left by an interrupted delete are swept', async () => {
  const locks = memoryLocks();
  const t = testStore({ locks });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const first = locks.request('tabscout-model-tiny-scout-q4', { ifAvailable: true }, async () => held);
  await assert.rejects(importModel(t.store, source(scoutDir)), (e: Error & { code?: string }) => e.code === 'busy' && /another tab/.test(e.message));
  await assert.rejects(t.store.delete('tiny-scout-q4'), (e: Error & { code?: string }) => e.code === 'busy');
  release();
  await first;

  // navigator.locks is used when there is one: a lock manager that never grants makes every write busy
  const never: Locks = { request: (_n, _o, cb) => cb(null) };
  await assert.rejects(importModel(testStore({ locks: never }).store, source(scoutDir)), /another tab/);

  await importModel(t.store, source(scoutDir));
  await t.index.delete('tiny-scout-q4'); // a delete cut after its first transaction
  assert.ok((await t.records.keys('tiny-scout-q4')).length > 0);
  assert.equal(await t.store.sweep(), 1);
  assert.deepEqual(await t.records.models(), []);
});
