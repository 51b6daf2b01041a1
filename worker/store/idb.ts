// The weight store on IndexedDB through idb-keyval: database "<prefix>-models" holds the index (keys
// ['model', id], ['files', id], ['record', id, key]); database "<prefix>-records" holds the records (keys
// [model, key]). Each method is one IndexedDB transaction, so each write is all or nothing.
import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import type { CommittedRecord, IndexBackend, ModelEntry, RecordBackend, StoredRecord } from './backend.ts';

/** Every key that starts with `prefix` (array keys sort after strings, so [...prefix, []] is past them all). */
function under(prefix: IDBValidKey[]): IDBKeyRange {
  return IDBKeyRange.bound(prefix, [...prefix, []]);
}

export class IdbRecords implements RecordBackend {
  private store: UseStore;
  constructor(prefix = 'tabscout') {
    this.store = createStore(`${prefix}-records`, 'records');
  }

  put(record: StoredRecord): Promise<void> {
    return this.store('readwrite', (s) => {
      s.put(record, [record.model, record.key]);
      return promisifyRequest(s.transaction);
    });
  }

  get(model: string, key: string): Promise<StoredRecord | undefined> {
    return this.store('readonly', (s) => promisifyRequest(s.get([model, key]) as IDBRequest<StoredRecord | undefined>));
  }

  async keys(model: string): Promise<string[]> {
    const keys = await this.store('readonly', (s) => promisifyRequest(s.getAllKeys(under([model]))));
    return keys.map((k) => (k as string[])[1]);
  }

  async models(): Promise<string[]> {
    const keys = await this.store('readonly', (s) => promisifyRequest(s.getAllKeys()));
    return [...new Set(keys.map((k) => (k as string[])[0]))];
  }

  deleteModel(model: string): Promise<void> {
    return this.store('readwrite', (s) => {
      s.delete(under([model]));
      return promisifyRequest(s.transaction);
    });
  }
}

export class IdbIndex implements IndexBackend {
  private store: UseStore;
  constructor(prefix = 'tabscout') {
    this.store = createStore(`${prefix}-models`, 'models');
  }

  list(): Promise<ModelEntry[]> {
    return this.store('readonly', (s) => promisifyRequest(s.getAll(under(['model'])) as IDBRequest<ModelEntry[]>));
  }

  get(id: string): Promise<ModelEntry | undefined> {
    return this.store('readonly', (s) => promisifyRequest(s.get(['model', id]) as IDBRequest<ModelEntry | undefined>));
  }

  files(id: string): Promise<Record<string, string> | undefined> {
    return this.store('readonly', (s) => promisifyRequest(s.get(['files', id]) as IDBRequest<Record<string, string> | undefined>));
  }

  begin(entry: ModelEntry, files: Record<string, string>): Promise<void> {
    return this.store('readwrite', (s) => {
      s.put(entry, ['model', entry.id]);
      s.put(files, ['files', entry.id]);
      return promisifyRequest(s.transaction);
    });
  }

  commit(id: string, record: CommittedRecord): Promise<void> {
    return this.store('readwrite', (s) => {
      s.put(record, ['record', id, record.key]);
      return promisifyRequest(s.transaction);
    });
  }

  committed(id: string): Promise<CommittedRecord[]> {
    return this.store('readonly', (s) => promisifyRequest(s.getAll(under(['record', id])) as IDBRequest<CommittedRecord[]>));
  }

  complete(entry: ModelEntry): Promise<void> {
    return this.store('readwrite', (s) => {
      s.put(entry, ['model', entry.id]);
      s.delete(under(['record', entry.id]));
      return promisifyRequest(s.transaction);
    });
  }

  delete(id: string): Promise<void> {
    return this.store('readwrite', (s) => {
      s.delete(['model', id]);
      s.delete(['files', id]);
      s.delete(under(['record', id]));
      return promisifyRequest(s.transaction);
    });
  }
}
