// Makes a record's payload from a Hugging Face checkpoint, reading only the rows it needs by range, in pieces of
// at most maxRangeBytes, and quantizing each piece as it arrives. Memory stays bounded by one record (plus, for a
// routed expert, its part transposed in the checkpoint's own dtype): never a whole shard or tensor. Chunks of the
// vision file are the checkpoint's bytes as they are.
import { EngineError } from '../../protocol/errors.ts';
import { quantizeQ4 } from '../../kernels/linear/q4-format.ts';
import { toF32, type ModelFiles, type TensorInfo } from '../model/safetensors.ts';
import type { PartEntry } from './format.ts';
import type { LayoutPart, PlannedRecord, VirtualFile } from './layout.ts';

export const DEFAULT_MAX_RANGE_BYTES = 16 * 1024 * 1024;

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

export class CheckpointRecords {
  constructor(
    private files: ModelFiles,
    private tensors: Map<string, TensorInfo>,
    private maxRangeBytes = DEFAULT_MAX_RANGE_BYTES,
    private vision: VirtualFile | null = null,
  ) {}

  private info(name: string, shape: number[]): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new EngineError('bad-model', `tensor ${name} is missing from the checkpoint (${this.files.label})`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (t.shape.reduce((a, b) => a * b, 1) !== n || (t.shape.length === shape.length && t.shape.some((d, i) => d !== shape[i]))) {
      throw new EngineError('bad-model', `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (!(t.dtype in DTYPE_BYTES)) throw new EngineError('bad-model', `${t.file}: tensor ${name} has dtype ${t.dtype}, expected BF16, F16 or F32`);
    return t;
  }

  /** Raw bytes [begin, end) of a tensor's data, checked for length. */
  private async bytes(t: TensorInfo, begin: number, end: number): Promise<Uint8Array> {
    const b = await this.files.range(t.file, t.begin + begin, t.begin + end);
    if (b.byteLength !== end - begin) throw new EngineError('bad-model', `${t.file}: tensor ${t.name} is truncated (${b.byteLength} of ${end - begin} bytes)`);
    return b;
  }

  async payload(record: PlannedRecord): Promise<Uint8Array> {
    const out = new Uint8Array(record.bytes);
    if (record.chunk) {
      await this.readFile(record.chunk.begin, record.chunk.end, out);
      return out;
    }
    for (const entry of record.parts) {
      const part = record.tensor!.parts.find((p) => p.part === entry.part)!;
      const sink = new PartWriter(out, entry);
      if (part.source.kind === 'rows') await this.readRows(part, entry, sink);
      else await this.readExpert(part, entry, sink);
    }
    return out;
  }

  /** Bytes [begin, end) of the vision file: its header, then its tensors' bytes as they are in the checkpoint. */
  private async readFile(begin: number, end: number, out: Uint8Array): Promise<void> {
    const vf = this.vision;
    if (!vf) throw new Error('this checkpoint has no vision file');
    if (begin < vf.header.byteLength) out.set(vf.header.subarray(begin, Math.min(end, vf.header.byteLength)), 0);
    for (const t of vf.tensors) {
      const lo = Math.max(begin, t.begin), hi = Math.min(end, t.end);
      for (let at = lo; at < hi; at += this.maxRangeBytes) {
        const n = Math.min(this.maxRangeBytes, hi - at);
        out.set(await this.bytes(t.source, at - t.begin, at - t.begin + n), at - begin);
      }
    }
  }

  /** Engine rows [rowStart, rowEnd) of a part stacked from checkpoint matrices (same [rows, cols] layout). */
  private async readRows(part: LayoutPart, entry: PartEntry, sink: PartWriter): Promise<void> {
    if (part.source.kind !== 'rows') return;
    let base = 0;
    for (const src of part.source.tensors) {
      const lo = Math.max(entry.rowStart, base), hi = Math.min(entry.rowEnd, base + src.rows);
      if (lo < hi) {
        const t = this.info(src.name, src.rows === 1 ? [part.cols] : [src.rows, part.cols]);
        const rowBytes = part.cols * DTYPE_BYTES[t.dtype];
        const per = Math.max(1, Math.floor(this.maxRangeBytes / rowBytes));
        for (let r = lo; r < hi; r += per) {
          const n = Math.min(per, hi - r);
          const raw = await this.bytes(t, (r - base) * rowBytes, (r - base + n) * rowBytes);
          sink.rows(r, n, toF32(raw, t.dtype));
        }
      }
      base += src.rows;
    }
  }

  /** One routed expert: HF stores [E, in, out]; the engine row o is column o of the expert's [in, out] block. */
  private async readExpert(part: LayoutPart, entry: PartEntry, sink: PartWriter): Promise<void> {
    if (part.source.kind !== 'expert') return;
    const { name, expert, experts } = part.source;
    const inDim = part.cols, outDim = part.rows;
    const t = this.info(name, [experts, inDim, outDim]);
    const size = DTYPE_BYTES[t.dtype];
    // the block transposed to [out, in], kept in the checkpoint's dtype (bit copies), converted row by row below
    const transposed = new Uint8Array(inDim * outDim * size);
    const dst = size === 2 ? new Uint16Array(transposed.buffer) : new Uint32Array(transposed.buffer);
    const rowBytes = outDim * size;
    const per = Math.max(1, Math.floor(this.maxRangeBytes / rowBytes));
    const first = expert * inDim * rowBytes;
    for (let i0 = 0; i0 < inDim; i0 += per) {
      const n = Math.min(per, inDim - i0);
      let raw = await this.bytes(t, first + i0 * rowBytes, first + (i0 + n) * rowBytes);
      if (raw.byteOffset % size !== 0) raw = raw.slice();
      const src = size === 2 ? new Uint16Array(raw.buffer, raw.byteOffset, n * outDim) : new Uint32Array(raw.buffer, raw.byteOffset, n * outDim);
      for (let i = 0; i < n; i++) for (let o = 0; o < outDim; o++) dst[o * inDim + i0 + i] = src[i * outDim + o];
    }
    const perOut = Math.max(2, Math.floor(this.maxRangeBytes / (inDim * 4)) & ~1);
    for (let r = entry.rowStart; r < entry.rowEnd; r += perOut) {
      const n = Math.min(perOut, entry.rowEnd - r);
      sink.rows(r, n, toF32(transposed.subarray(r * inDim * size, (r + n) * inDim * size), t.dtype));
    }
  }
}

/** Puts rows of one part into the payload, quantizing them when the part is q4. */
class PartWriter {
  private scales: Uint16Array | null = null;
  constructor(
    private out: Uint8Array,
    private entry: PartEntry,
  ) {
    if (entry.format === 'q4') this.scales = new Uint16Array(out.buffer, out.byteOffset + entry.scales![0], (entry.scales![1] - entry.scales![0]) / 2);
  }

  /** rows [r, r + n) of the whole part (absolute row index), as f32 */
  rows(r: number, n: number, values: Float32Array): void {
    const e = this.entry;
    const local = r - e.rowStart;
    if (e.format === 'f32') {
      this.out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), e.data[0] + local * e.cols * 4);
      return;
    }
    const nb = e.cols / 32;
    const q = quantizeQ4(values, n, e.cols);
    this.out.set(new Uint8Array(q.qs.buffer, q.qs.byteOffset, q.qs.byteLength), e.data[0] + local * nb * 16);
    this.scales!.set(q.scales.subarray(0, n * nb), local * nb);
  }
}
