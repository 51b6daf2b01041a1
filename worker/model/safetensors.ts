// safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then data.
// Tensors are read one at a time through a ModelFiles source (HTTP Range, files), never a whole file at once.
import { EngineError } from '../../protocol/errors.ts';
import { f16BitsToF32 } from '../../kernels/f16.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8';

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** absolute byte range in the file */
  begin: number;
  end: number;
  file: string;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1 };

/** Bytes of a source, read by range; `size` is known after the first read or from a HEAD request. */
export interface ModelFiles {
  readonly label: string;
  text(name: string): Promise<string>;
  /** null when the file does not exist */
  maybeText(name: string): Promise<string | null>;
  range(name: string, begin: number, end: number): Promise<Uint8Array>;
  size(name: string): Promise<number>;
}

export async function readSafetensorsHeader(files: ModelFiles, file: string): Promise<TensorInfo[]> {
  const total = await files.size(file);
  if (total < 8) throw new EngineError('bad-model', `${file}: the file is truncated (${total} bytes)`);
  const lenBytes = await files.range(file, 0, 8);
  const headerLength = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength <= 0 || 8 + headerLength > total || headerLength > 100_000_000) {
    throw new EngineError('bad-model', `${file}: invalid safetensors header length ${headerLength} for a file of ${total} bytes (truncated or not safetensors)`);
  }
  const headerBytes = await files.range(file, 8, 8 + headerLength);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch {
    throw new EngineError('bad-model', `${file}: the safetensors header is not valid JSON (file truncated or corrupt)`);
  }
  return parseHeader(header, file, 8 + headerLength, total);
}

export function parseHeader(header: Record<string, unknown>, file: string, dataStart: number, fileSize: number): TensorInfo[] {
  const out: TensorInfo[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(t.dtype in BYTES)) throw new EngineError('bad-model', `${file}: tensor ${name} has unsupported dtype ${t.dtype} (expected BF16, F16 or F32)`);
    const dtype = t.dtype as SafetensorsDtype;
    const count = t.shape.reduce((a, b) => a * b, 1);
    const [b, e] = t.data_offsets;
    if (e - b !== count * BYTES[dtype]) throw new EngineError('bad-model', `${file}: tensor ${name} has ${e - b} bytes for shape [${t.shape}] ${dtype}`);
    if (dataStart + e > fileSize) {
      throw new EngineError('bad-model', `${file}: tensor ${name} ends at byte ${dataStart + e} but the file has ${fileSize} bytes (truncated download?)`);
    }
    out.push({ name, dtype, shape: t.shape, begin: dataStart + b, end: dataStart + e, file });
  }
  return out;
}

/** Decodes raw tensor bytes of any supported float dtype to f32. */
export function toF32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const n = bytes.byteLength / BYTES[dtype];
  if (dtype === 'F32') return new Float32Array(aligned.buffer, aligned.byteOffset, n).slice();
  if (dtype === 'BF16') {
    // bfloat16 is the top half of an f32: a shift per value (~5x faster than decoding each one; a Scout-width
    // checkpoint is ~11 G values)
    const u16 = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    const out = new Float32Array(n);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = u16[i] << 16;
    return out;
  }
  if (dtype === 'F16') {
    const u16 = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = f16BitsToF32(u16[i]);
    return out;
  }
  throw new EngineError('bad-model', `cannot read a ${dtype} tensor as floating point`);
}

/** Every tensor of a checkpoint: `model.safetensors`, or the shards listed by `model.safetensors.index.json`. */
export async function readCheckpointIndex(files: ModelFiles): Promise<Map<string, TensorInfo>> {
  // The single file is looked for first: a one-file checkpoint (the built-in model) then asks for nothing that is
  // missing, and the browser console shows no 404 at start-up.
  const single = await files.size('model.safetensors').then(() => true, () => false);
  const indexText = single ? null : await files.maybeText('model.safetensors.index.json');
  const shardNames = indexText ? [...new Set(Object.values((JSON.parse(indexText) as { weight_map: Record<string, string> }).weight_map))] : ['model.safetensors'];
  const map = new Map<string, TensorInfo>();
  for (const shard of shardNames) {
    for (const t of await readSafetensorsHeader(files, shard)) map.set(t.name, t);
  }
  return map;
}
