// The weight store in a real browser (e2e/store.e2e.ts): a page exposes `storeCheck`, which imports from a Hub-like
// server into the real IndexedDB, with the real navigator.locks and navigator.storage, and reports back.
import { WeightStore } from '../../worker/store/store.ts';
import { importModel } from '../../worker/store/import.ts';
import { hubSource } from '../../worker/store/sources.ts';

const store = WeightStore.indexedDb({ prefix: 'tabscout-e2e' });

interface ImportArgs {
  repo: string;
  id: string;
  maxRecordBytes: number;
  maxRangeBytes: number;
  idleTimeoutMs: number;
  attempts: number;
}

export const storeCheck = {
  async importHub(a: ImportArgs) {
    try {
      const source = hubSource(a.repo, { endpoint: location.origin, maxRangeBytes: a.maxRangeBytes, http: { attempts: a.attempts, backoffMs: 5, maxBackoffMs: 20, idleTimeoutMs: a.idleTimeoutMs } });
      const r = await importModel(store, source, { id: a.id, weights: 'q4', maxRecordBytes: a.maxRecordBytes });
      return { ok: true as const, recordsWritten: r.recordsWritten, recordsKept: r.recordsKept, persisted: r.persisted };
    } catch (e) {
      return { ok: false as const, code: (e as { code?: string }).code ?? null, message: (e as Error).message };
    }
  },
  async list() {
    return store.list();
  },
  /** [key, sha256] of the stored records, read back from IndexedDB */
  async hashes(id: string): Promise<[string, string][]> {
    const out: [string, string][] = [];
    for (const key of await store.records.keys(id)) out.push([key, (await store.records.get(id, key))!.sha256]);
    return out;
  },
  async committed(id: string): Promise<number> {
    return (await store.index.committed(id)).length;
  },
  async verify(id: string): Promise<number> {
    const m = await store.manifest(id);
    for (const r of m.records) await store.readRecord(m, r, true);
    return m.records.length;
  },
  async delete(id: string) {
    await store.delete(id);
    return store.records.models();
  },
  async space() {
    return store.space();
  },
};

(globalThis as { storeCheck?: typeof storeCheck }).storeCheck = storeCheck;
