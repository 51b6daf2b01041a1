// Test doubles for the weight store: IndexedDB from fake-indexeddb (a fresh database pair per store), a record
// backend that counts writes and can run out of space or crash, and a StorageManager with a set quota.
import 'fake-indexeddb/auto';
import type { CommittedRecord, IndexBackend, RecordBackend, StoredRecord } from '../worker/store/backend.ts';
import { IdbIndex, IdbRecords } from '../worker/store/idb.ts';
import { WeightStore, type Locks, type StorageLike } from '../worker/store/store.ts';

let stores = 0;

/** Records with write counts; throws QuotaExceededError once more than `quotaBytes` would be stored. */
export class TestRecords implements RecordBackend {
  puts = new Map<string, number>();
  quotaBytes = Infinity;
  /** throws (as a crash would) before storing the n-th put from now (1 = the next) */
  crashBeforePut = 0;
  constructor(readonly inner: RecordBackend) {}

  async stored(): Promise<number> {
    let n = 0;
    for (const m of await this.inner.models()) for (const k of await this.inner.keys(m)) n += (await this.inner.get(m, k))!.bytes;
    return n;
  }

  async put(r: StoredRecord): Promise<void> {
    if (this.crashBeforePut > 0 && --this.crashBeforePut === 0) throw new Error('simulated crash before a record write');
    if (this.quotaBytes !== Infinity) {
      const old = await this.inner.get(r.model, r.key);
      if ((await this.stored()) - (old?.bytes ?? 0) + r.bytes > this.quotaBytes) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    }
    await this.inner.put(r);
    this.puts.set(`${r.model}/${r.key}`, (this.puts.get(`${r.model}/${r.key}`) ?? 0) + 1);
  }
  get(model: string, key: string) {
    return this.inner.get(model, key);
  }
  keys(model: string) {
    return this.inner.keys(model);
  }
  models() {
    return this.inner.models();
  }
  deleteModel(model: string) {
    return this.inner.deleteModel(model);
  }
}

/** An index whose commit entries can fail, as a crash between a record write and its commit would. */
export class TestIndex implements IndexBackend {
  /** throws before the n-th commit from now (1 = the next) */
  crashBeforeCommit = 0;
  constructor(readonly inner: IndexBackend) {}
  list() {
    return this.inner.list();
  }
  get(id: string) {
    return this.inner.get(id);
  }
  files(id: string) {
    return this.inner.files(id);
  }
  begin(...a: Parameters<IndexBackend['begin']>) {
    return this.inner.begin(...a);
  }
  async commit(id: string, r: CommittedRecord) {
    if (this.crashBeforeCommit > 0 && --this.crashBeforeCommit === 0) throw new Error('simulated crash between a record write and its commit');
    return this.inner.commit(id, r);
  }
  committed(id: string) {
    return this.inner.committed(id);
  }
  complete(...a: Parameters<IndexBackend['complete']>) {
    return this.inner.complete(...a);
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
}

export interface TestStore {
  store: WeightStore;
  records: TestRecords;
  index: TestIndex;
  /** a store over the same databases, as another page load would open */
  reopen(options?: { locks?: Locks; storage?: StorageLike | null }): WeightStore;
}

export function testStore(options: { locks?: Locks; storage?: StorageLike | null } = {}): TestStore {
  const prefix = `test-${process.pid}-${++stores}`;
  const records = new TestRecords(new IdbRecords(prefix));
  const index = new TestIndex(new IdbIndex(prefix));
  return {
    store: new WeightStore(records, index, { storage: null, ...options }),
    records,
    index,
    reopen: (o = {}) => new WeightStore(new IdbRecords(prefix), new IdbIndex(prefix), { storage: null, ...o }),
  };
}

/** navigator.storage with a quota; usage from a callback. */
export function fakeStorage(quota: number, usage: () => Promise<number> | number = () => 0): StorageLike & { persistCalls: number } {
  const s = {
    persistCalls: 0,
    async estimate() {
      return { quota, usage: await usage() };
    },
    async persist() {
      s.persistCalls++;
      return true;
    },
    async persisted() {
      return false;
    },
  };
  return s;
}
