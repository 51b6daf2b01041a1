// A weight package on disk or on a static host: manifest.json (format.ts) and records/<key>.bin, each a 512-byte
// header (model digest, key, size, SHA-256) followed by the record payload.
import { EngineError } from '../../protocol/errors.ts';
import type { ModelFiles } from '../model/safetensors.ts';
import { timed, timedBusy, type LoadTimings } from '../load-timings.ts';
import { decodeRecordHeader, encodeRecordHeader, FORMAT_VERSION, parseManifest, RECORD_HEADER_BYTES, sha256Hex, type Manifest, type RecordEntry } from './format.ts';
import { readAhead } from './read-ahead.ts';

export function recordFileName(key: string): string {
  return `records/${key}.bin`;
}

/** Header + payload of a record file. */
export function recordFileBytes(manifest: Pick<Manifest, 'digest'>, entry: RecordEntry, payload: Uint8Array): Uint8Array[] {
  if (entry.sha256 === null) throw new Error(`record ${entry.key} has no hash yet`);
  return [encodeRecordHeader({ digest: manifest.digest, key: entry.key, bytes: entry.bytes, sha256: entry.sha256 }), payload];
}

/**
 * The payload of a record file, after checking that the file is the record the manifest lists: a file of another
 * model or another record is refused (bad-model), not retried. The hash is the caller's to check.
 */
export function recordFilePayload(bytes: Uint8Array, manifest: Pick<Manifest, 'digest' | 'name'>, entry: RecordEntry, file: string): Uint8Array {
  const h = decodeRecordHeader(bytes, file);
  if (h.formatVersion !== FORMAT_VERSION) throw new EngineError('bad-model', `${file}: record format version ${h.formatVersion}, expected ${FORMAT_VERSION}`);
  if (h.digest !== manifest.digest) {
    throw new EngineError('bad-model', `${file} belongs to a different model (digest ${h.digest.slice(0, 12)}…) than the manifest of ${manifest.name} (${manifest.digest.slice(0, 12)}…): refused. The package mixes files of two conversions; convert and upload it again.`);
  }
  if (h.key !== entry.key || h.bytes !== entry.bytes) throw new EngineError('bad-model', `${file} holds record ${h.key} (${h.bytes} bytes), but the manifest expects ${entry.key} (${entry.bytes} bytes) there: refused.`);
  if (bytes.byteLength !== RECORD_HEADER_BYTES + entry.bytes) throw new EngineError('bad-model', `${file} has ${bytes.byteLength - RECORD_HEADER_BYTES} payload bytes, expected ${entry.bytes}`);
  return bytes.subarray(RECORD_HEADER_BYTES);
}

/** A package read through any ModelFiles (a folder in Node, a URL): its manifest and verified record payloads. */
export async function openPackage(files: ModelFiles, timings?: LoadTimings): Promise<{ manifest: Manifest; read: (entry: RecordEntry) => Promise<Uint8Array> }> {
  const manifest = await timed(timings, 'manifest', async () => parseManifest(JSON.parse(await files.text('manifest.json')), `${files.label}/manifest.json`));
  return {
    manifest,
    async read(entry) {
      const bytes = await timedBusy(timings, 'read', () => files.range(entry.file!, 0, RECORD_HEADER_BYTES + entry.bytes));
      const payload = recordFilePayload(bytes, manifest, entry, entry.file!);
      if ((await timedBusy(timings, 'hash', () => sha256Hex(payload))) !== entry.sha256) throw new EngineError('bad-model', `${entry.file} fails its SHA-256 check (${files.label})`);
      return payload;
    },
  };
}

/** A package whose text records are read and checked ahead of their use, starting now (read-ahead.ts). */
export async function openPackageAhead(files: ModelFiles, timings?: LoadTimings): Promise<{ manifest: Manifest; read: (entry: RecordEntry) => Promise<Uint8Array> }> {
  const { manifest, read } = await openPackage(files, timings);
  const ahead = readAhead(manifest.records.filter((r) => !r.chunk), read);
  ahead.start();
  return { manifest, read: ahead.read };
}
