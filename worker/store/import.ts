// Imports a model into the weight store from any source (sources.ts), resumably: records already committed are
// kept and skipped, the rest is made (or fetched), hashed, written and committed one by one. A package record
// whose hash does not match is fetched again (hashAttempts times, then an error naming the file); network faults
// are retried by the HTTP layer; a full disk stops the import cleanly with the space still needed.
import { EngineError } from '../../protocol/errors.ts';
import type { ImportProgress } from '../../protocol/api.ts';
import { formatGB, sha256Hex, type Manifest, type RecordEntry } from './format.ts';
import type { ImportSource, ResolvedModel, ResolveOptions } from './sources.ts';
import { entryOf, isQuotaError, storeBytesNeeded, type WeightStore } from './store.ts';

export interface ImportOptions extends ResolveOptions {
  onProgress?: (p: ImportProgress) => void;
  /** stops between records (the HTTP layer also stops mid-request when its own signal is the same) */
  signal?: AbortSignal;
  /** tries of a record whose SHA-256 does not match the manifest (default 3) */
  hashAttempts?: number;
  /** clock in ms (tests) */
  now?: () => number;
}

export interface ImportResult {
  manifest: Manifest;
  /** records written by this run (0 when the model was already stored) */
  recordsWritten: number;
  /** records found already stored and kept */
  recordsKept: number;
  /** whether the browser agreed to keep the store under storage pressure (null: not asked / no StorageManager) */
  persisted: boolean | null;
}

const RATE_WINDOW_MS = 10_000;

/** Bytes per second over a sliding window of (time, bytes) samples. */
class Rate {
  private samples: [number, number][] = [];
  constructor(private now: () => number) {}
  add(bytes: number): number {
    const t = this.now();
    this.samples.push([t, bytes]);
    while (this.samples.length > 2 && t - this.samples[0][0] > RATE_WINDOW_MS) this.samples.shift();
    const [t0, b0] = this.samples[0];
    return t > t0 ? ((bytes - b0) * 1000) / (t - t0) : 0;
  }
}

async function verifiedPayload(resolved: ResolvedModel, entry: RecordEntry, attempts: number, signal?: AbortSignal): Promise<{ payload: Uint8Array; sha256: string }> {
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (signal?.aborted) throw new EngineError('cancelled', 'The import was cancelled. The records already stored are kept: start it again to resume.');
    const payload = await resolved.record(entry);
    if (payload.byteLength !== entry.bytes) {
      last = `${payload.byteLength} bytes instead of ${entry.bytes}`;
      continue;
    }
    const sha256 = await sha256Hex(payload);
    if (entry.sha256 === null || sha256 === entry.sha256) return { payload, sha256 };
    last = `SHA-256 ${sha256.slice(0, 12)}…, expected ${entry.sha256.slice(0, 12)}…`;
  }
  throw new EngineError('download-failed', `${resolved.describe(entry)} failed verification ${attempts} times (${last}): the copy at the source is damaged. Try again later or use another source; the records already stored are kept.`);
}

export async function importModel(store: WeightStore, source: ImportSource, options: ImportOptions = {}): Promise<ImportResult> {
  const now = options.now ?? (() => performance.now());
  const report = (p: Omit<ImportProgress, 'message'>, message: string) => options.onProgress?.({ ...p, message });
  report({ phase: 'resolving', bytesDone: 0, bytesTotal: 0, recordsDone: 0, recordsTotal: 0, bytesPerSecond: 0, secondsLeft: null, record: null }, `Reading ${source.info.location}…`);
  const resolved = await source.resolve(options);
  const m = resolved.manifest;

  return store.withModelLock(m.id, async () => {
    const existing = await store.index.get(m.id);
    if (existing && existing.digest !== m.digest) {
      throw new EngineError(
        'bad-model',
        existing.status === 'complete'
          ? `A different model is already stored as "${m.id}" (${existing.name}, from ${existing.source.location}): refused. Delete it first, or import this one under another name.`
          : `The unfinished import "${m.id}" was started from a different model than ${source.info.location} serves now (the repository or package changed): refused. Delete the unfinished model to start over.`,
      );
    }
    if (existing?.status === 'complete') {
      return { manifest: await store.manifest(m.id), recordsWritten: 0, recordsKept: existing.records.length, persisted: null };
    }
    const planned = new Map(m.records.map((r) => [r.key, r]));
    const committed = new Map((await store.index.committed(m.id)).filter((c) => planned.get(c.key)?.bytes === c.bytes).map((c) => [c.key, c]));
    const keptBytes = [...committed.values()].reduce((s, c) => s + c.bytes, 0);
    // room for what is left, from the config alone (memory-plan.ts): refuse before writing anything
    await store.checkFit(Math.max(0, storeBytesNeeded(resolved.config, m.weights, m.records.some((r) => r.chunk)) - keptBytes));
    const persisted = await store.persist();
    if (!existing) await store.index.begin(entryOf(m, 'partial'), m.files);

    const rate = new Rate(now);
    let bytesDone = keptBytes;
    let recordsDone = committed.size;
    let written = 0;
    const progress = (record: string | null) => {
      const bytesPerSecond = written > 0 ? rate.add(bytesDone) : 0;
      const left = m.totalBytes - bytesDone;
      report(
        { phase: 'importing', bytesDone, bytesTotal: m.totalBytes, recordsDone, recordsTotal: m.records.length, bytesPerSecond, secondsLeft: bytesPerSecond > 0 ? left / bytesPerSecond : null, record },
        `Importing ${m.name}: ${formatGB(bytesDone)} of ${formatGB(m.totalBytes)}`,
      );
    };
    rate.add(bytesDone);
    progress(null);
    for (const entry of m.records) {
      if (committed.has(entry.key)) continue;
      const { payload, sha256 } = await verifiedPayload(resolved, entry, options.hashAttempts ?? 3, options.signal);
      try {
        await store.putRecord(m, entry, payload, sha256);
      } catch (e) {
        if (!isQuotaError(e)) throw e;
        const space = await store.space().catch(() => null);
        throw new EngineError(
          'quota-exceeded',
          `Not enough storage to finish ${m.name}: ${formatGB(m.totalBytes - bytesDone)} more needed${space ? `, ${formatGB(space.free)} free` : ''}. Free up disk space or delete a stored model, then import again: the ${recordsDone} records already stored (${formatGB(bytesDone)}) are kept.`,
        );
      }
      committed.set(entry.key, { key: entry.key, sha256, bytes: entry.bytes });
      bytesDone += entry.bytes;
      recordsDone++;
      written++;
      progress(entry.key);
    }
    const records = m.records.map((r) => ({ ...r, sha256: committed.get(r.key)!.sha256 }));
    const manifest: Manifest = { ...m, records };
    await store.index.complete(entryOf(manifest, 'complete'));
    report({ phase: 'complete', bytesDone, bytesTotal: m.totalBytes, recordsDone, recordsTotal: m.records.length, bytesPerSecond: 0, secondsLeft: 0, record: null }, `${m.name} is stored`);
    return { manifest, recordsWritten: written, recordsKept: m.records.length - written, persisted };
  });
}
