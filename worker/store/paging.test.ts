// Paging straight from the weight store: a stored model with one GPU slot per MoE layer reads its experts from
// IndexedDB (fake-indexeddb here) through the bounded RAM tier, and computes exactly what the resident model does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { convertCheckpoint } from '../../cli/convert.ts';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { Reference } from '../../cli/reference.ts';
import { fixturesDir, removeDir } from '../../testing/fixtures.ts';
import { importModel } from './import.ts';
import { loadSessionFromStore } from './session.ts';
import { packageSource } from './sources.ts';
import { fakeStorage, testStore } from '../../testing/stores.ts';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

test('a stored model pages its experts from IndexedDB with results identical to all experts resident', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabscout-paging-'));
  dirs.push(dir);
  await convertCheckpoint(join(fixturesDir(), 'tiny-scout', 'model'), dir, { weights: 'q4', id: 'tiny-scout-q4' });
  const t = testStore({ storage: fakeStorage(1e9) });
  const { manifest: { id } } = await importModel(t.store, packageSource(new FsModelFiles(dir + '/'), { kind: 'package', location: dir, revision: null }));
  const { ctx } = await createNodeGpu();
  const resident = await loadSessionFromStore(ctx, t.store, id, { contextLength: 256, vision: false });
  const paged = await loadSessionFromStore(ctx, t.store, id, { contextLength: 256, vision: false, expertSlots: 1 });
  const ref = await Reference.load(join(fixturesDir(), 'tiny-scout', 'reference'));
  const ids = ref.ids('long.input_ids');
  const a = await resident.logitsFor(ids);
  const b = await paged.logitsFor(ids);
  assert.ok(a.every((v, i) => Object.is(v, b[i])), 'paged logits differ from resident logits');
  const stats = paged.model.pager!.stats;
  assert.ok(stats.misses > 0 && stats.bytesRead > 0, JSON.stringify(stats));
  resident.destroy();
  paged.destroy();
});
