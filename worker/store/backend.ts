// The two halves of the weight store, as interfaces so tests can inject faults (a full disk, a crash between two
// writes): records (the weight bytes) and the index (manifests, their text files, and one commit entry per stored
// record). idb.ts implements both on IndexedDB; every method is one transaction.
import type { ModelStatus } from '../../protocol/api.ts';
import type { Manifest } from './format.ts';

/** A record as stored: the payload and what it belongs to, so a record of another model is never taken. */
export interface StoredRecord {
  model: string;
  key: string;
  /** the model's digest (format.ts Manifest.digest) */
  digest: string;
  sha256: string;
  bytes: number;
  data: ArrayBuffer;
}

export interface RecordBackend {
  /** writes one record atomically (one transaction) */
  put(record: StoredRecord): Promise<void>;
  get(model: string, key: string): Promise<StoredRecord | undefined>;
  /** keys of a model's stored records */
  keys(model: string): Promise<string[]>;
  /** models that have at least one record */
  models(): Promise<string[]>;
  deleteModel(model: string): Promise<void>;
}

/** A manifest without its text files (kept apart so listing models stays light). */
export interface ModelEntry extends Omit<Manifest, 'files'> {
  status: ModelStatus;
}

/** The index's promise that a record is stored: written only after the record's data is. */
export interface CommittedRecord {
  key: string;
  sha256: string;
  bytes: number;
}

export interface IndexBackend {
  list(): Promise<ModelEntry[]>;
  get(id: string): Promise<ModelEntry | undefined>;
  files(id: string): Promise<Record<string, string> | undefined>;
  /** the planned manifest of a new import (status partial) and its files, in one transaction */
  begin(entry: ModelEntry, files: Record<string, string>): Promise<void>;
  /** marks one record as stored */
  commit(id: string, record: CommittedRecord): Promise<void>;
  committed(id: string): Promise<CommittedRecord[]>;
  /** the finished manifest (status complete, every hash) replaces the partial one and its commit entries, in one transaction */
  complete(entry: ModelEntry): Promise<void>;
  /** manifest, files and commit entries, in one transaction */
  delete(id: string): Promise<void>;
}
