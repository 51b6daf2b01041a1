// Engine tensors from stored records (IndexedDB or a package): what loadTextWeights() consumes, with q4 parts as
// Q4Data so nothing is quantized at load. A tensor of one record is a set of views of that record; a tensor cut
// into several records is put back together (its segments start on even q4 blocks, so they concatenate).
import { EngineError } from '../../protocol/errors.ts';
import type { Q4Data } from '../../kernels/linear/q4-format.ts';
import { CheckpointReader, visionEngineTensors, type EngineTensor, type MatrixPart } from '../model/engine-tensors.ts';
import type { ModelConfig } from '../model/config.ts';
import { readSafetensorsHeader, type ModelFiles } from '../model/safetensors.ts';
import { partData, VISION_FILE, type Manifest, type RecordEntry } from './format.ts';

/** Reads one record's payload (verified by the caller's store: model, key, size). */
export type ReadRecord = (entry: RecordEntry) => Promise<Uint8Array>;

export type RecordProgress = (doneBytes: number, totalBytes: number, record: string) => void;

/** Records grouped by engine tensor, in manifest order. */
export function recordsByTensor(manifest: Manifest): { tensor: string; records: RecordEntry[] }[] {
  const groups: { tensor: string; records: RecordEntry[] }[] = [];
  for (const r of manifest.records) {
    if (r.chunk) continue;
    const tensor = r.parts[0].tensor;
    const last = groups[groups.length - 1];
    if (last && last.tensor === tensor) last.records.push(r);
    else groups.push({ tensor, records: [r] });
  }
  return groups;
}

function emptyPart(format: 'q4' | 'f32', rows: number, cols: number): Float32Array | Q4Data {
  if (format === 'f32') return new Float32Array(rows * cols);
  const blocks = (rows * cols) / 32;
  return { qs: new Uint32Array(blocks * 4), scales: new Uint16Array(Math.ceil(blocks / 2) * 2) };
}

/** Copies a segment's data into the whole part (the inverse of writePart). */
function placeSegment(whole: Float32Array | Q4Data, payload: Uint8Array, p: RecordEntry['parts'][number]): void {
  const seg = partData(payload, p);
  if (whole instanceof Float32Array) {
    whole.set(seg as Float32Array, p.rowStart * p.cols);
    return;
  }
  const q = seg as Q4Data;
  const nb = p.cols / 32;
  const blocks = (p.rowEnd - p.rowStart) * nb;
  whole.qs.set(q.qs, p.rowStart * nb * 4);
  whole.scales.set(q.scales.subarray(0, blocks), p.rowStart * nb);
}

/**
 * The engine tensors of a stored model, one at a time: the text tensors, then, given the model's config with
 * `vision`, the vision tower's from its kept file (the same stream ModelSession.load takes from a checkpoint).
 * With `pieces`, a linear cut into several records comes as one tensor per record (MatrixPart.rowStart/rowCount),
 * which the GPU loader writes in place: a 580 MB embedding is never put back together in memory. Without, every
 * tensor comes whole (comparisons, conversion).
 */
export async function* storeTensors(manifest: Manifest, read: ReadRecord, onProgress?: RecordProgress, vision?: ModelConfig, options: { pieces?: boolean } = {}): AsyncGenerator<EngineTensor> {
  let done = 0;
  const total = manifest.records.reduce((s, r) => s + (r.chunk ? 0 : r.bytes), 0);
  const progress = (r: RecordEntry) => {
    done += r.bytes;
    onProgress?.(done, total, r.key);
  };
  for (const { tensor, records } of recordsByTensor(manifest)) {
    const first = records[0].parts[0];
    let parts: MatrixPart[];
    if (records.length === 1) {
      const payload = await read(records[0]);
      parts = records[0].parts.map((p) => {
        if (p.rowStart !== 0 || p.rowEnd !== p.rows) throw new EngineError('bad-model', `record ${records[0].key} holds rows ${p.rowStart}–${p.rowEnd} of ${tensor} but no other record has the rest`);
        return { part: p.part, format: p.format, rows: p.rows, cols: p.cols, data: partData(payload, p) };
      });
      progress(records[0]);
    } else if (options.pieces && first.kind === 'linear') {
      let covered = 0;
      for (const r of records) {
        const p = r.parts[0];
        if (r.parts.length !== 1 || p.rowStart !== covered) throw new EngineError('bad-model', `record ${r.key}: segments of ${tensor} are out of order`);
        const data = partData(await read(r), p);
        covered = p.rowEnd;
        progress(r);
        yield { key: tensor, kind: 'linear', parts: [{ part: p.part, format: p.format, rows: p.rows, cols: p.cols, data, rowStart: p.rowStart, rowCount: p.rowEnd - p.rowStart }] };
      }
      if (covered !== first.rows) throw new EngineError('bad-model', `${tensor}: its records cover ${covered} of ${first.rows} rows`);
      continue;
    } else {
      const whole = emptyPart(first.format, first.rows, first.cols);
      let covered = 0;
      for (const r of records) {
        const p = r.parts[0];
        if (r.parts.length !== 1 || p.rowStart !== covered) throw new EngineError('bad-model', `record ${r.key}: segments of ${tensor} are out of order`);
        placeSegment(whole, await read(r), p);
        covered = p.rowEnd;
        progress(r);
      }
      if (covered !== first.rows) throw new EngineError('bad-model', `${tensor}: its records cover ${covered} of ${first.rows} rows`);
      parts = [{ part: first.part, format: first.format, rows: first.rows, cols: first.cols, data: whole }];
    }
    yield { key: tensor, kind: first.kind, ...(first.layer !== undefined ? { layer: first.layer, expert: first.expert } : {}), parts };
  }
  if (vision) {
    const file = visionFile(manifest, read);
    if (!file) throw new EngineError('bad-model', `the stored model ${manifest.name} was imported without its vision tower: import it again with images on`);
    const tensors = await readSafetensorsHeader(file, VISION_FILE);
    const reader = new CheckpointReader(file, new Map(tensors.map((t) => [t.name, t])), 0);
    yield* visionEngineTensors(reader, vision, manifest.weights);
  }
}

/** Whether a stored model kept its vision tower. */
export function hasVision(manifest: Manifest): boolean {
  return manifest.records.some((r) => r.chunk?.file === VISION_FILE);
}

/**
 * The kept vision file (its checkpoint tensors as one safetensors file, cut into chunk records) as bytes read by
 * range, chunk record by chunk record (the last one cached: tensors are read one after another).
 */
function visionFile(manifest: Manifest, read: ReadRecord): ModelFiles | null {
  const chunks = manifest.records.filter((r) => r.chunk?.file === VISION_FILE);
  if (chunks.length === 0) return null;
  const size = chunks[chunks.length - 1].chunk!.end;
  let cached: { key: string; payload: Uint8Array } | null = null;
  const chunk = async (r: RecordEntry) => {
    if (cached?.key !== r.key) cached = { key: r.key, payload: await read(r) };
    return cached.payload;
  };
  const only = (name: string) => {
    if (name !== VISION_FILE) throw new EngineError('bad-model', `${name} is not a file of the stored model ${manifest.name}`);
  };
  return {
    label: `stored model ${manifest.name}`,
    maybeText: async () => null,
    text: async (name) => {
      throw new EngineError('bad-model', `${name} is not a text file of the stored model ${manifest.name}`);
    },
    size: async (name) => (only(name), size),
    range: async (name, begin, end) => {
      only(name);
      end = Math.min(end, size);
      const out = new Uint8Array(Math.max(0, end - begin));
      for (const r of chunks) {
        const { begin: b, end: e } = r.chunk!;
        const lo = Math.max(begin, b), hi = Math.min(end, e);
        if (lo < hi) out.set((await chunk(r)).subarray(lo - b, hi - b), lo - begin);
      }
      return out;
    },
  };
}

