// OPFS records in a real browser (e2e/opfs-store.e2e.ts): run in a worker (sync access handles) and on the page
// (File / writable streams), a round trip of records must give back exactly what was put.
import { OpfsRecords } from '../../worker/store/opfs.ts';
import type { StoredRecord } from '../../worker/store/backend.ts';

function record(model: string, key: string, size: number, seed: number): StoredRecord {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 255;
  return { model, key, digest: `digest-${model}`, sha256: `sha-${key}-${seed}`, bytes: size, data: data.buffer };
}

export async function opfsRoundTrip(where: string): Promise<string[]> {
  const problems: string[] = [];
  const records = new OpfsRecords(`tabscout-e2e-opfs-${where}`);
  const model = 'meta-llama/tiny model';
  const put = [record(model, 'embed_tokens', 5_000_003, 1), record(model, 'layers.0.experts.3', 4096, 2), record(model, 'layers.1.attention.q#1', 17, 3)];
  await Promise.all(put.map((r) => records.put(r))); // concurrent calls are serialised
  await records.put(record(model, 'layers.0.experts.3', 4096, 9)); // overwrite
  put[1] = record(model, 'layers.0.experts.3', 4096, 9);
  for (const r of put) {
    const got = await records.get(model, r.key);
    if (!got) {
      problems.push(`${r.key}: missing`);
      continue;
    }
    const a = new Uint8Array(got.data), b = new Uint8Array(r.data);
    if (got.sha256 !== r.sha256 || got.digest !== r.digest || got.model !== model || got.bytes !== r.bytes) problems.push(`${r.key}: metadata differs`);
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) problems.push(`${r.key}: data differs`);
  }
  if ((await records.get(model, 'nope')) !== undefined) problems.push('a missing key was found');
  const keys = (await records.keys(model)).sort();
  if (JSON.stringify(keys) !== JSON.stringify(put.map((r) => r.key).sort())) problems.push(`keys: ${JSON.stringify(keys)}`);
  if (!(await records.models()).includes(model)) problems.push('model not listed');
  await records.deleteModel(model);
  if ((await records.keys(model)).length !== 0) problems.push('records left after delete');
  return problems;
}

// In a worker, run at once and report; on the page, expose the check.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
  opfsRoundTrip('worker').then(
    (problems) => postMessage({ problems, syncHandles: 'createSyncAccessHandle' in FileSystemFileHandle.prototype }),
    (e) => postMessage({ problems: [String((e as Error).stack ?? e)] }),
  );
} else {
  (globalThis as { opfsRoundTrip?: typeof opfsRoundTrip }).opfsRoundTrip = opfsRoundTrip;
}
