// Where the shared Hugging Face fixtures live ($TABSCOUT_FIXTURES, else <repo>/../shared/fixtures), and small
// helpers for tests that need a modified copy of a fixture model (temp dir, safetensors read/write).
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function fixturesDir(): string {
  const env = process.env.TABSCOUT_FIXTURES;
  return env ? resolve(env) : fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
}

/** A writable temp copy of `<fixture>/model`; remove it with `removeDir(dir)`. */
export function tempModelCopy(fixture: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tabscout-${fixture}-`));
  cpSync(join(fixturesDir(), fixture, 'model'), dir, { recursive: true });
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644); // the fixtures are read-only
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** Every tensor of a safetensors file, in data order (straightforward reader, independent of the engine's). */
export function readSafetensorsFile(path: string): RawTensor[] {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: new Uint8Array(bytes.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1])), begin: t.data_offsets[0] }))
    .sort((a, b) => a.begin - b.begin)
    .map(({ begin: _, ...t }) => t);
}

/** Serializes tensors as safetensors (header padded with spaces to a multiple of 8, as the Python writer does). */
export function encodeSafetensors(tensors: RawTensor[], metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

export function writeSafetensorsFile(path: string, tensors: RawTensor[]): void {
  writeFileSync(path, encodeSafetensors(tensors));
}
