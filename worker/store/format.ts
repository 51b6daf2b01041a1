// The weight store's record format (docs/STORE.md): one record per engine tensor segment and one per (layer,
// expert), each a flat byte payload whose parts are described by the manifest. The same manifest and payloads
// make a package on disk (cli/convert.ts, one file per record behind a small header) and a model in IndexedDB.
//
// Payload of a record: its parts back to back. A q4 part of rows [r0, r1) is the Q4_0 nibbles of those rows
// (16 B per block of 32 weights, Q4Data.qs) followed by their f16 scales (Q4Data.scales, padded to an even count so
// the section is a whole number of u32); an f32 part is the row-major f32 values. Every section starts on a 4-byte
// boundary, so a reader takes typed views of the payload without copying.
import type { WeightFormat } from '../../kernels/linear/weight-format.ts';
import { EngineError } from '../../protocol/errors.ts';
import type { ModelSource } from '../../protocol/api.ts';
import { q4Bytes, weightBytes, type Q4Data } from '../../kernels/linear/q4-format.ts';
import type { EngineTensor, MatrixPart, TensorFormat } from '../model/engine-tensors.ts';

export const FORMAT_VERSION = 1;
/** No record is larger than one binding the smallest GPUs allow (experts excepted in f32 mode, see planRecords). */
export const MAX_RECORD_BYTES = 128 * 1024 * 1024;

/** One part of a record: rows [rowStart, rowEnd) of part `part` of engine tensor `tensor`. */
export interface PartEntry {
  tensor: string;
  kind: EngineTensor['kind'];
  layer?: number;
  expert?: number;
  part: string;
  format: TensorFormat;
  /** shape of the whole part (all segments) */
  rows: number;
  cols: number;
  rowStart: number;
  rowEnd: number;
  /** byte range in the payload: q4 nibbles or f32 values */
  data: [number, number];
  /** byte range of the f16 scales (q4 only) */
  scales?: [number, number];
}

export interface RecordEntry {
  key: string;
  bytes: number;
  /** SHA-256 of the payload, hex; null while a record planned from a checkpoint is not made yet */
  sha256: string | null;
  /** the engine tensor parts it holds (none for a chunk) */
  parts: PartEntry[];
  /** a record that is bytes [begin, end) of a file kept as is (the vision tower's safetensors, VISION_FILE) */
  chunk?: { file: string; begin: number; end: number };
  /** the record's file in a package, relative to manifest.json */
  file?: string;
}

export interface Manifest {
  formatVersion: number;
  /** store key of the model */
  id: string;
  name: string;
  source: ModelSource;
  /** ISO date of the conversion or import */
  date: string;
  weights: WeightFormat;
  /** SHA-256 of what the records are made from (modelDigest): a record or manifest of another model differs */
  digest: string;
  maxRecordBytes: number;
  /** config.json, tokenizer files, chat template, image processor configs (those the model has), as text */
  files: Record<string, string>;
  totalBytes: number;
  records: RecordEntry[];
}

/**
 * The vision tower and projector are kept as a safetensors file of their checkpoint tensors, unconverted (the
 * engine's vision loader quantizes at load), cut into chunk records; storeTensors reads its tensors after the text
 * ones, in the same stream ModelSession.load takes from a checkpoint.
 */
export const VISION_FILE = 'vision.safetensors';

/** Text files kept with a model (whichever exist). */
export const MODEL_TEXT_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'chat_template.json',
  'preprocessor_config.json',
  'processor_config.json',
];

/** Bytes of a part of `rows` rows in a record. */
export function partBytes(format: TensorFormat, rows: number, cols: number): { data: number; scales: number } {
  if (format === 'f32') return { data: rows * cols * 4, scales: 0 };
  const b = q4Bytes(rows, cols);
  return { data: b.qs, scales: b.scales };
}

/**
 * Row ranges of a matrix split into records of at most maxBytes. A q4 segment starts on an even block index so
 * its f16 scale pairs line up with the whole tensor's (segments concatenate to the tensor's Q4Data).
 */
export function segmentRows(format: TensorFormat, rows: number, cols: number, maxBytes: number): [number, number][] {
  const rowBytes = weightBytes(format, 2, cols) / 2; // per row (q4: 18 bytes per block, two rows keep the scale pairs whole)
  let per = Math.max(1, Math.floor(maxBytes / rowBytes));
  if (format === 'q4' && (cols / 32) % 2 === 1) per = Math.max(2, per - (per % 2));
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += per) out.push([r, Math.min(rows, r + per)]);
  return out;
}

/** Lays out parts back to back and returns the record entry (no hash yet). */
export function layoutRecord(key: string, parts: Omit<PartEntry, 'data' | 'scales'>[]): RecordEntry {
  let at = 0;
  const placed = parts.map((p) => {
    const b = partBytes(p.format, p.rowEnd - p.rowStart, p.cols);
    const entry: PartEntry = { ...p, data: [at, at + b.data] };
    at += b.data;
    if (p.format === 'q4') {
      entry.scales = [at, at + b.scales];
      at += b.scales;
    }
    return entry;
  });
  return { key, bytes: at, sha256: null, parts: placed };
}

function view<T extends Uint32Array | Uint16Array | Float32Array>(
  payload: Uint8Array,
  [b, e]: [number, number],
  Type: { new (buffer: ArrayBufferLike, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const n = (e - b) / Type.BYTES_PER_ELEMENT;
  if ((payload.byteOffset + b) % Type.BYTES_PER_ELEMENT === 0) return new Type(payload.buffer, payload.byteOffset + b, n);
  return new Type(payload.slice(b, e).buffer, 0, n);
}

/** The data of one part of a record, as typed views of the payload. */
export function partData(payload: Uint8Array, p: PartEntry): Float32Array | Q4Data {
  if (p.format === 'f32') return view(payload, p.data, Float32Array);
  return { qs: view(payload, p.data, Uint32Array), scales: view(payload, p.scales!, Uint16Array) };
}

/** Writes rows [p.rowStart, p.rowEnd) of a whole part's data (f32 or Q4Data of all p.rows rows) into a payload. */
export function writePart(payload: Uint8Array, p: PartEntry, whole: Float32Array | Q4Data): void {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (p.format === 'f32') {
    if (!(whole instanceof Float32Array)) throw new Error(`${p.tensor}: q4 data for an f32 part`);
    payload.set(bytes(whole.subarray(p.rowStart * p.cols, p.rowEnd * p.cols)), p.data[0]);
    return;
  }
  if (whole instanceof Float32Array) throw new Error(`${p.tensor}: f32 data for a q4 part (quantize it first)`);
  const nb = p.cols / 32;
  payload.set(bytes(whole.qs.subarray(p.rowStart * nb * 4, p.rowEnd * nb * 4)), p.data[0]);
  payload.set(bytes(whole.scales.subarray(p.rowStart * nb, p.rowEnd * nb)), p.scales![0]);
}

/** MatrixParts of an expert record (gate_up, down), views of the payload. */
export function expertParts(payload: Uint8Array, entry: RecordEntry): MatrixPart[] {
  return entry.parts.map((p) => ({ part: p.part, format: p.format, rows: p.rows, cols: p.cols, data: partData(payload, p) }));
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** GB with one decimal, as the user reads it ("61.1 GB"). */
export function formatGB(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/** A package's manifest.json or a stored manifest, checked enough that nothing later trips on its shape. */
export function parseManifest(json: unknown, where: string): Manifest {
  const m = json as Partial<Manifest>;
  const bad = (why: string) => new EngineError('bad-model', `${where}: ${why}`);
  if (!m || typeof m !== 'object') throw bad('not a TabScout weight package manifest');
  if (m.formatVersion !== FORMAT_VERSION) throw bad(`format version ${m.formatVersion} is not supported (this app reads version ${FORMAT_VERSION}); convert the model again with this version`);
  if (typeof m.id !== 'string' || typeof m.digest !== 'string' || !Array.isArray(m.records) || !m.files || typeof m.files['config.json'] !== 'string') {
    throw bad('the manifest is incomplete (id, digest, files["config.json"] and records are required)');
  }
  if (m.weights !== 'q4' && m.weights !== 'f32') throw bad(`unknown weights mode ${m.weights}`);
  for (const r of m.records) {
    if (typeof r.key !== 'string' || !Number.isInteger(r.bytes) || !Array.isArray(r.parts)) throw bad(`record ${JSON.stringify(r.key)} is malformed`);
    const end = r.chunk ? r.chunk.end - r.chunk.begin : r.parts.reduce((s, p) => Math.max(s, p.scales ? p.scales[1] : p.data[1]), 0);
    if (end !== r.bytes) throw bad(`record ${r.key}: its parts cover ${end} bytes but it has ${r.bytes}`);
  }
  return m as Manifest;
}

// A record file of a package: a 512-byte JSON header (padded with spaces) naming the model digest, the record key,
// its size and hash, then the payload. The header lets an importer refuse a record of another model outright
// instead of taking it for a damaged download.
export const RECORD_HEADER_BYTES = 512;

export interface RecordHeader {
  magic: 'tabscout-record';
  formatVersion: number;
  digest: string;
  key: string;
  bytes: number;
  sha256: string;
}

export function encodeRecordHeader(h: Omit<RecordHeader, 'magic' | 'formatVersion'>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ magic: 'tabscout-record', formatVersion: FORMAT_VERSION, ...h }));
  if (json.byteLength > RECORD_HEADER_BYTES - 1) throw new Error(`record header of ${h.key} is too long`);
  const out = new Uint8Array(RECORD_HEADER_BYTES).fill(0x20);
  out.set(json);
  out[RECORD_HEADER_BYTES - 1] = 0x0a;
  return out;
}

export function decodeRecordHeader(bytes: Uint8Array, file: string): RecordHeader {
  let h: RecordHeader;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(0, RECORD_HEADER_BYTES)));
  } catch {
    throw new EngineError('bad-model', `${file} is not a TabScout record file (no header)`);
  }
  if (h.magic !== 'tabscout-record') throw new EngineError('bad-model', `${file} is not a TabScout record file`);
  return h;
}
