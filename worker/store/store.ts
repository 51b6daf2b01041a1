// The weight store: models kept in IndexedDB after the first download (design decision 5). Lists, reads, deletes
// and makes room; importModel() (import.ts) fills it. Rules (docs/STORE.md):
// - a record is written in one transaction; its commit entry in the index is written only after it, so the index
//   never names a record that is not there (a crash in between leaves an unlisted record, written again on resume);
// - a model's manifest entry exists before its first record and is deleted before its records, so a record
//   without a manifest entry is garbage (sweep());
// - a model is written (imported, deleted) under the Web Lock 'tabscout-model-<id>', one tab at a time.
import { OpfsRecords, opfsAvailable } from './opfs.ts';
import { EngineError } from '../../protocol/errors.ts';
import type { WeightFormat } from '../../kernels/linear/weight-format.ts';
import { keys, type EngineTensor, type MatrixPart } from '../model/engine-tensors.ts';
import type { ModelConfig } from '../model/config.ts';
import { memoryPlan } from '../model/memory-plan.ts';
import type { ModelStatus, StoredModelInfo, StoreSpace } from '../../protocol/api.ts';
import type { IndexBackend, ModelEntry, RecordBackend } from './backend.ts';
import { expertParts, formatGB, sha256Hex, type Manifest, type RecordEntry } from './format.ts';
import { IdbIndex, IdbRecords } from './idb.ts';
import { storeTensors, type RecordProgress } from './reader.ts';

/** The part of the Web Locks API the store uses (navigator.locks; injectable where there is none, as in Node). */
export interface Locks {
  request<T>(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

/** The part of navigator.storage the store uses. */
export interface StorageLike {
  estimate(): Promise<{ quota?: number; usage?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

/** Exclusive locks within one JavaScript realm (Node, tests): the same contract as navigator.locks for ifAvailable. */
export function memoryLocks(): Locks {
  const held = new Set<string>();
  return {
    async request(name, options, callback) {
      if (held.has(name)) {
        if (options.ifAvailable) return callback(null);
        throw new Error(`lock ${name} is held (memoryLocks only supports ifAvailable waiting)`);
      }
      held.add(name);
      try {
        return await callback({ name });
      } finally {
        held.delete(name);
      }
    },
  };
}

/**
 * Bytes a model's records take in the store, from its config alone: the text model (routed experts included) in
 * the weights mode, and with `vision` the vision tower and projector as the checkpoint has them (2 bytes a
 * parameter: bf16; its small safetensors header aside).
 */
export function storeBytesNeeded(config: ModelConfig, weights: WeightFormat, vision = false): number {
  const plan = memoryPlan(config, weights);
  return plan.text.bytes + (vision ? 2 * (plan.vision.params + plan.projector.params) : 0);
}

export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === 'QuotaExceededError' || (e as { code?: string } | null)?.code === 'quota-exceeded';
}

export interface WeightStoreOptions {
  /** default navigator.locks, else locks within this realm */
  locks?: Locks;
  /** default navigator.storage; null where there is none */
  storage?: StorageLike | null;
}

export class WeightStore {
  readonly locks: Locks;
  readonly storage: StorageLike | null;

  constructor(
    readonly records: RecordBackend,
    readonly index: IndexBackend,
    options: WeightStoreOptions = {},
  ) {
    const nav = (globalThis as { navigator?: { locks?: Locks; storage?: StorageLike } }).navigator;
    this.locks = options.locks ?? nav?.locks ?? memoryLocks();
    this.storage = options.storage !== undefined ? options.storage : (nav?.storage ?? null);
  }

  /** The store on IndexedDB (databases "<prefix>-models" and "<prefix>-records"). */
  static indexedDb(options: WeightStoreOptions & { prefix?: string } = {}): WeightStore {
    return new WeightStore(new IdbRecords(options.prefix), new IdbIndex(options.prefix), options);
  }

  /** The browser's store: records in OPFS where the browser has it (ten times faster reads of 64 MiB records in
   * Chromium, docs/PERFORMANCE.md), else in IndexedDB; the index always in IndexedDB. */
  static browser(options: WeightStoreOptions & { prefix?: string } = {}): WeightStore {
    const records = opfsAvailable() ? new OpfsRecords(`${options.prefix ?? 'tabscout'}-records`) : new IdbRecords(options.prefix);
    return new WeightStore(records, new IdbIndex(options.prefix), options);
  }

  /** Runs fn holding the model's write lock; another tab holding it → EngineError('busy'). */
  withModelLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.request(`tabscout-model-${id}`, { ifAvailable: true }, async (lock) => {
      if (!lock) throw new EngineError('busy', `${id} is being imported or deleted in another tab. Wait for it to finish there, or close that tab.`);
      return fn();
    });
  }

  async list(): Promise<StoredModelInfo[]> {
    const out: StoredModelInfo[] = [];
    for (const e of await this.index.list()) {
      const committed = e.status === 'complete' ? null : await this.index.committed(e.id);
      out.push({
        id: e.id,
        name: e.name,
        source: e.source,
        date: e.date,
        weights: e.weights,
        status: e.status,
        bytes: committed ? committed.reduce((s, c) => s + c.bytes, 0) : e.totalBytes,
        totalBytes: e.totalBytes,
        records: committed ? committed.length : e.records.length,
        recordsTotal: e.records.length,
      });
    }
    return out.sort((a, b) => (a.date < b.date ? 1 : -1));
  }

  /** The manifest of a completely stored model. */
  async manifest(id: string): Promise<Manifest> {
    const e = await this.index.get(id);
    if (!e) throw new EngineError('not-loaded', `No model "${id}" is stored. Import it first.`);
    if (e.status !== 'complete') throw new EngineError('not-loaded', `${e.name} is only partly imported. Resume the import to finish it.`);
    const files = await this.index.files(id);
    if (!files) throw new EngineError('bad-model', `${e.name}: its tokenizer and config are missing from the store; delete it and import it again`);
    const { status: _, ...rest } = e;
    return { ...rest, files };
  }

  /** A record's payload, refused unless it is this model's record of the manifest's size (and hash, with verify). */
  async readRecord(manifest: Manifest, entry: RecordEntry, verify = false): Promise<Uint8Array> {
    const r = await this.records.get(manifest.id, entry.key);
    if (!r) throw new EngineError('bad-model', `Record ${entry.key} of ${manifest.name} is missing from the store. Delete the model and import it again.`);
    if (r.model !== manifest.id || r.key !== entry.key || r.digest !== manifest.digest) {
      throw new EngineError('bad-model', `Record ${entry.key} in the store belongs to a different model (${r.model}, digest ${r.digest.slice(0, 12)}…): refused. Delete ${manifest.name} and import it again.`);
    }
    if (r.bytes !== entry.bytes || r.data.byteLength !== entry.bytes) throw new EngineError('bad-model', `Record ${entry.key} of ${manifest.name} has ${r.data.byteLength} bytes, expected ${entry.bytes}. Delete the model and import it again.`);
    const payload = new Uint8Array(r.data);
    if (verify) {
      const sha = await sha256Hex(payload);
      if (sha !== entry.sha256) throw new EngineError('bad-model', `Record ${entry.key} of ${manifest.name} fails its SHA-256 check (stored data damaged). Delete the model and import it again.`);
    }
    return payload;
  }

  /** The engine tensors of a stored model, for loadTextWeights() (large linears in pieces, written in place). */
  tensors(manifest: Manifest, options: { verify?: boolean; onProgress?: RecordProgress } = {}): AsyncGenerator<EngineTensor> {
    return storeTensors(manifest, (entry) => this.readRecord(manifest, entry, options.verify), options.onProgress, undefined, { pieces: true });
  }

  /** Routed experts read one record at a time: an ExpertSource for the pager (worker/pager). */
  experts(manifest: Manifest): { read(layer: number, expert: number): Promise<MatrixPart[]>; bytesOf(parts: MatrixPart[]): number } {
    const byKey = new Map(manifest.records.map((r) => [r.key, r]));
    return {
      read: async (layer, expert) => {
        const entry = byKey.get(keys.expert(layer, expert));
        if (!entry) throw new EngineError('bad-model', `${manifest.name} has no record for expert ${expert} of layer ${layer}`);
        return expertParts(await this.readRecord(manifest, entry), entry);
      },
      bytesOf: (parts) => parts.reduce((s, p) => s + (p.data instanceof Float32Array ? p.data.byteLength : p.data.qs.byteLength + p.data.scales.byteLength), 0),
    };
  }

  /** Deletes a model (complete or partial) and frees its records: index first, so nothing ever names a deleted record. */
  delete(id: string): Promise<void> {
    return this.withModelLock(id, async () => {
      await this.index.delete(id);
      await this.records.deleteModel(id);
    });
  }

  /** Deletes records whose model has no manifest entry (left by a crash during delete()); returns how many models. */
  async sweep(): Promise<number> {
    const known = new Set((await this.index.list()).map((e) => e.id));
    let n = 0;
    for (const model of await this.records.models()) {
      if (known.has(model)) continue;
      await this.locks.request(`tabscout-model-${model}`, { ifAvailable: true }, async (lock) => {
        if (!lock || (await this.index.get(model))) return;
        await this.records.deleteModel(model);
        n++;
      });
    }
    return n;
  }

  /** Asks the browser to keep the store when space runs low (null where there is no StorageManager). */
  async persist(): Promise<boolean | null> {
    if (!this.storage?.persist) return null;
    try {
      return (await this.storage.persisted?.()) || (await this.storage.persist());
    } catch {
      return false;
    }
  }

  /** Quota and usage of this origin, or null where the browser does not say. */
  async space(): Promise<StoreSpace | null> {
    if (!this.storage) return null;
    const { quota, usage } = await this.storage.estimate();
    if (quota === undefined || usage === undefined) return null;
    const persisted = this.storage.persisted ? await this.storage.persisted().catch(() => null) : null;
    return { quota, usage, free: Math.max(0, quota - usage), persisted };
  }

  /** Refuses, with the numbers, when `bytes` more do not fit in the origin's quota. */
  async checkFit(bytes: number): Promise<void> {
    const space = await this.space();
    if (space && bytes > space.free) {
      throw new EngineError('quota-exceeded', `Not enough storage: ${formatGB(bytes)} needed, ${formatGB(space.free)} free. Free up disk space or delete a stored model, then try again.`);
    }
  }

  /** Writes a record (one transaction), then its commit entry. */
  async putRecord(manifest: Pick<Manifest, 'id' | 'digest'>, entry: RecordEntry, payload: Uint8Array, sha256: string): Promise<void> {
    const data = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? (payload.buffer as ArrayBuffer) : (payload.slice().buffer as ArrayBuffer);
    await this.records.put({ model: manifest.id, key: entry.key, digest: manifest.digest, sha256, bytes: entry.bytes, data });
    await this.index.commit(manifest.id, { key: entry.key, sha256, bytes: entry.bytes });
  }
}

export function entryOf(manifest: Manifest, status: ModelStatus): ModelEntry {
  const { files: _, ...rest } = manifest;
  return { ...rest, status };
}
