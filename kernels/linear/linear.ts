// Linear layers (mat-vec for decode, mat-mul for prefill) over f32 or Q4_0 weights, split into row segments so no
// binding exceeds the device limit. Expert weights are one LinearWeight with `rowsPerExpert` rows per expert.
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import { q4Bytes, quantizeQ4, weightBytes, type Q4Data } from './q4-format.ts';
import type { WeightFormat } from './weight-format.ts';
import q4Prelude from './q4.wgsl';
import q4Source from './linear_q4.wgsl';
import q4Matvec from './q4-matvec.wgsl';
import { integerDotPath, quantizeX } from './quantize-x.ts';
import matvecReduce from './matvec-reduce.wgsl';
import matvecReduceSubgroups from './matvec-reduce-subgroups.wgsl';
import f32Source from './linear_f32.wgsl';
import rowsQ4Source from './linear_rows_q4.wgsl';
import rowsF32Source from './linear_rows_f32.wgsl';
import { matmul, type ItemsPerThread, type TileItems } from '../matmul/matmul.ts';

export type { WeightFormat } from './weight-format.ts';

const uniforms = ['rows:u32', 'cols:u32', 'items:u32', 'xRowDiv:u32', 'xStride:u32', 'yStride:u32', 'yOffset:u32', 'expertBase:u32', 'expertCount:u32'] as const;
export const linearQ4Kernel: KernelSpec = { name: 'linear_q4', source: q4Source, uniforms, includes: [q4Prelude, q4Matvec, matvecReduce] };
/** the mat-vec's row sums by subgroup shuffles (matvec-reduce-subgroups.wgsl; matvecSubgroupWidth, mat-vec only) */
export const linearQ4SubgroupsKernel: KernelSpec = { name: 'linear_q4_subgroups', source: q4Source, uniforms, includes: [q4Prelude, q4Matvec, matvecReduceSubgroups], enables: ['subgroups'] };
export const linearF32Kernel: KernelSpec = { name: 'linear_f32', source: f32Source, uniforms };
/** thread-per-row variants for CPU adapters (SwiftShader), where workgroup barriers are very slow */
export const linearRowsQ4Kernel: KernelSpec = { name: 'linear_rows_q4', source: rowsQ4Source, uniforms, includes: [q4Prelude] };
export const linearRowsF32Kernel: KernelSpec = { name: 'linear_rows_f32', source: rowsF32Source, uniforms };
const ROWS_PER_WORKGROUP = 8;
const TOKENS_PER_WORKGROUP = 4;

export interface LinearSegment {
  rowStart: number;
  rows: number;
  /** f32 weights, or the q4 nibbles */
  weights: GPUBuffer;
  /** q4 only: packed f16 scales */
  scales?: GPUBuffer;
  expertBase: number;
  expertCount: number;
}

export interface LinearWeight {
  name: string;
  format: WeightFormat;
  /** output features (for experts: all experts' rows together) */
  rows: number;
  /** input features */
  cols: number;
  /** for expert weights: rows of one expert; absent for plain linears */
  rowsPerExpert?: number;
  segments: LinearSegment[];
}

export { weightBytes };

/** Rows per segment: whole units (experts, or row pairs so q4 scale pairs stay aligned), at most maxBindingBytes for the largest binding. */
function rowsPerSegment(ctx: GpuContext, format: WeightFormat, cols: number, unit: number): number {
  const rowBytes = format === 'q4' ? q4Bytes(1, cols).qs : cols * 4;
  const units = Math.max(1, Math.floor(ctx.maxBindingBytes / (rowBytes * unit)));
  return units * unit;
}

/**
 * Allocates a [rows, cols] weight on the GPU, split into row segments that each fit one binding, with nothing
 * written yet (writeRows fills it, piece by piece; a benchmark may fill it on the GPU). With rowsPerExpert, segments
 * hold whole experts (an expert pool).
 */
export function createLinear(ctx: GpuContext, name: string, format: WeightFormat, rows: number, cols: number, rowsPerExpert?: number): LinearWeight {
  if (cols % 4 !== 0) throw new Error(`${name}: input dimension ${cols} is not a multiple of 4`);
  if (format === 'q4' && cols % 32 !== 0) throw new Error(`${name}: q4 needs an input dimension that is a multiple of 32, got ${cols}`);
  if (format === 'q4' && rowsPerExpert && ((rowsPerExpert * cols) / 32) % 2 !== 0) throw new Error(`${name}: an expert must have an even number of q4 blocks`);
  const perSegment = rowsPerSegment(ctx, format, cols, rowsPerExpert ?? 2);
  const segments: LinearSegment[] = [];
  for (let start = 0; start < rows; start += perSegment) {
    const count = Math.min(perSegment, rows - start);
    const label = `${name}[${start}:${start + count}]`;
    const b = format === 'q4' ? q4Bytes(count, cols) : { qs: count * cols * 4, scales: 0 };
    segments.push({
      rowStart: start,
      rows: count,
      weights: ctx.createBuffer(b.qs, label),
      scales: format === 'q4' ? ctx.createBuffer(b.scales, label + '.scales') : undefined,
      expertBase: rowsPerExpert ? start / rowsPerExpert : 0,
      expertCount: rowsPerExpert ? count / rowsPerExpert : 0,
    });
  }
  return { name, format, rows, cols, rowsPerExpert, segments };
}

/**
 * Writes rows [rowStart, rowStart + count) of a weight from f32 values (quantized here for a q4 weight) or from
 * Q4Data of exactly those rows; the rows may span segments. A q4 piece must start on an even block (as segments
 * and stored records do), so its scale pairs line up.
 */
export function writeRows(ctx: GpuContext, w: LinearWeight, rowStart: number, count: number, data: Float32Array | Q4Data): void {
  if (rowStart < 0 || rowStart + count > w.rows) throw new Error(`${w.name}: rows ${rowStart}–${rowStart + count} are out of range (${w.rows} rows)`);
  const nb = w.cols / 32;
  if (w.format === 'q4' && (rowStart * nb) % 2 !== 0) throw new Error(`${w.name}: a q4 piece must start on an even block (row ${rowStart})`);
  if (w.format === 'f32' && !(data instanceof Float32Array)) throw new Error(`${w.name}: an f32 weight takes f32 data`);
  for (const s of w.segments) {
    const from = Math.max(rowStart, s.rowStart), to = Math.min(rowStart + count, s.rowStart + s.rows);
    if (from >= to) continue;
    const local = from - s.rowStart, first = from - rowStart, n = to - from;
    if (w.format === 'f32') {
      ctx.write(s.weights, (data as Float32Array).subarray(first * w.cols, (first + n) * w.cols), local * w.cols * 4);
      continue;
    }
    const q = data instanceof Float32Array ? quantizeQ4(data.subarray(first * w.cols, (first + n) * w.cols), n, w.cols) : data;
    const qFirst = data instanceof Float32Array ? 0 : first; // quantized here: q holds only this piece
    ctx.write(s.weights, q.qs.subarray(qFirst * nb * 4, (qFirst + n) * nb * 4), local * nb * 16);
    ctx.write(s.scales!, q.scales.subarray(qFirst * nb, (qFirst + n) * nb), local * nb * 2);
  }
}

/**
 * One weight whose rows are the given weights' rows one after another (e.g. Q, K and V: one mat-vec instead of
 * three), copied on the GPU segment by segment. Row counts must be even (q4 scale pairs stay aligned).
 */
export function concatLinears(ctx: GpuContext, name: string, parts: LinearWeight[]): LinearWeight {
  const { format, cols } = parts[0];
  if (parts.some((p) => p.format !== format || p.cols !== cols || p.rowsPerExpert)) throw new Error(`${name}: only plain weights of one format and input size concatenate`);
  if (parts.some((p) => p.rows % 2 !== 0)) throw new Error(`${name}: concatenated weights need even row counts`);
  const out = createLinear(ctx, name, format, parts.reduce((n, p) => n + p.rows, 0), cols);
  const enc = ctx.commandEncoder();
  const rowBytes = format === 'q4' ? { qs: (cols / 32) * 16, sc: (cols / 32) * 2 } : { qs: cols * 4, sc: 0 };
  let base = 0;
  for (const p of parts) {
    for (const s of p.segments) {
      for (const d of out.segments) {
        const from = Math.max(base + s.rowStart, d.rowStart), to = Math.min(base + s.rowStart + s.rows, d.rowStart + d.rows);
        if (from >= to) continue;
        const src = from - base - s.rowStart, dst = from - d.rowStart, n = to - from;
        enc.copyBufferToBuffer(s.weights, src * rowBytes.qs, d.weights, dst * rowBytes.qs, n * rowBytes.qs);
        if (format === 'q4') {
          // whole u32 words of scales: every piece starts on an even row; an odd block count at the end of a piece is rounded up within both buffers
          const bytes = Math.min(Math.ceil((n * rowBytes.sc) / 4) * 4, s.scales!.size - src * rowBytes.sc, d.scales!.size - dst * rowBytes.sc);
          enc.copyBufferToBuffer(s.scales!, src * rowBytes.sc, d.scales!, dst * rowBytes.sc, bytes);
        }
      }
    }
    base += p.rows;
  }
  return out;
}

/**
 * Uploads a row-major [rows, cols] f32 matrix as f32 or q4. `rowsOf(start, count)` returns those rows, so callers
 * can stream a large tensor without holding it whole.
 */
export function uploadLinear(
  ctx: GpuContext,
  name: string,
  format: WeightFormat,
  rows: number,
  cols: number,
  rowsOf: (start: number, count: number) => Float32Array,
  rowsPerExpert?: number,
): LinearWeight {
  const w = createLinear(ctx, name, format, rows, cols, rowsPerExpert);
  for (const s of w.segments) writeRows(ctx, w, s.rowStart, s.rows, rowsOf(s.rowStart, s.rows));
  return w;
}

export function linearBytes(w: LinearWeight): number {
  return weightBytes(w.format, w.rows, w.cols);
}

export function destroyLinear(w: LinearWeight): void {
  for (const s of w.segments) {
    s.weights.destroy();
    s.scales?.destroy();
  }
}

export interface LinearCall {
  /** number of output rows of y (tokens, or token×expert items) */
  items: number;
  /** y row = n; x row = floor(n / xRowDiv) (default 1) */
  xRowDiv?: number;
  /** x already in integer form (quantize-x.ts; e.g. written by add-norm), used where the q4 mat-vec takes the integer path */
  xq?: GPUBuffer;
  xStride?: number;
  yStride?: number;
  yOffset?: number;
  /** expert mode: the expert of each item */
  expertIds?: GPUBuffer;
  /** multiplies x of item n by scores[n] (the router score on the expert input) */
  scores?: GPUBuffer;
  /**
   * benchmarks only: a mat-vec launch shape, the old mat-mul path ('matmul': linear_*.wgsl, DECODE = 0), or the
   * tiled GEMM with a given item tile, instead of the built-in choice (same results)
   */
  shape?: MatvecShape | 'matmul' | GemmShape;
}

/** The tiled GEMM (kernels/matmul) with this many items per tile (and per thread). */
export interface GemmShape {
  tileItems: TileItems;
  itemsPerThread?: ItemsPerThread;
}

/**
 * Mat-vec launch shape (see the DECODE = 1 path of the .wgsl files): WG threads, CT column threads per row group,
 * R rows per thread, so R·WG/CT rows per workgroup.
 */
export interface MatvecShape {
  WG: number;
  CT: number;
  R: number;
}

/**
 * Calls with at most this many items take the mat-vec path (each item reads the weights once); larger ones (prefill)
 * the tiled GEMM (kernels/matmul), expert calls grouped by expert there. CPU adapters keep their thread-per-row
 * variants.
 */
export const MATVEC_MAX_ITEMS = 4;

function isGemm(shape: LinearCall['shape']): shape is GemmShape {
  return typeof shape === 'object' && 'tileItems' in shape;
}

/** Throws unless a mat-vec launch shape fits the kernel (workgroup memory, rows per thread). */
export function checkMatvecShape(shape: MatvecShape): void {
  const { WG, CT, R } = shape;
  if (WG % CT !== 0 || R < 1 || R > 8 || R > CT || WG > 256 || CT * ((R * WG) / CT + 1) > 2304) throw new Error(`bad mat-vec shape ${JSON.stringify(shape)}`);
}

/**
 * The subgroup width of a q4 mat-vec's row sums (matvec-reduce-subgroups.wgsl's MV_SG: min(CT, the adapter's smallest
 * subgroup size)), or 0 for matvec-reduce.wgsl (no subgroups; CT not a power of two; R, rounded up to a power of two,
 * over that width: SwiftShader's 4 with R = 8). MV_SG = CT: no barrier (H200: CT 32 or 8); MV_SG < CT: one (CT 64);
 * matvec-reduce.wgsl: two.
 */
export function matvecSubgroupWidth(ctx: Pick<GpuContext, 'subgroups' | 'subgroupMinSize'>, shape: MatvecShape): number {
  const { CT, R } = shape;
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  const width = Math.min(CT, ctx.subgroupMinSize);
  return ctx.subgroups && pow2(CT) && pow2(width) && 2 ** Math.ceil(Math.log2(R)) <= width ? width : 0;
}

let q4ShapeOverride: MatvecShape | null = null;

/** Benchmarks only (`bench -- model --matvec-shape`): every q4 mat-vec of ≤ 65536 rows, linear and expert, takes this shape. */
export function overrideQ4MatvecShape(shape: MatvecShape | null): void {
  if (shape) checkMatvecShape(shape);
  q4ShapeOverride = shape;
}

/**
 * q4 mat-vec tuning (linear_q4.wgsl's decode path; not the expert kernels, where it measured 21 % slower). xAhead: x's
 * next block is loaded one iteration ahead with the weights' (XAHEAD), off the arithmetic's path: 2–4 % faster alone
 * at Scout's sizes on an H100 but no faster in a whole decode step there (docs/PERFORMANCE.md run T), and 7–8 vec4 more
 * registers a thread on GPUs not measured: off by default. `bench -- [model] --x-ahead` turns it on.
 */
export const q4MatvecTuning = { xAhead: false };

let q4Probe = 0;
let q4FloatX = false;

/** Benchmarks only (`bench -- --probes`): the q4 mat-vecs read x as f32 even where the integer dot product is there. */
export function forceQ4FloatX(on: boolean): void {
  q4FloatX = on;
}

export function q4FloatXForced(): boolean {
  return q4FloatX;
}

/**
 * x (rows of `cols` values) in integer form for a q4 mat-vec where the integer dot product is there — `given` when the
 * caller has it already (add-norm's h), else quantized now — or null: the kernel reads x as f32.
 */
export function integerX(ctx: GpuContext, w: LinearWeight, x: GPUBuffer, rows: number, cols: number, given?: GPUBuffer): GPUBuffer | null {
  return w.format === 'q4' && !q4FloatX && integerDotPath(ctx, cols) ? (given ?? quantizeX(ctx, x, rows, cols)) : null;
}

/** Whether linear() of `items` rows of x through plain weight w reads x in integer form (LinearCall.xq when given). */
export function readsIntegerX(ctx: GpuContext, w: LinearWeight, items: number): boolean {
  return items <= MATVEC_MAX_ITEMS && w.rowsPerExpert === undefined && w.format === 'q4' && !q4FloatX && integerDotPath(ctx, w.cols);
}

/** Benchmarks only (`bench -- --probes`): the q4 mat-vec in a diagnostic mode (linear_q4.wgsl's PROBE; 0: off). */
export function probeQ4Matvec(probe: number): void {
  q4Probe = probe;
}

/**
 * The built-in mat-vec launch shape for one dispatch of `rows` rows, from the sweep on an H100 (`npm run bench --
 * --variants`, docs/PERFORMANCE.md): 8 rows per thread in both formats; q4 with 64 column threads per row group (32 on
 * very tall matrices), f32 with 256 (64 on very tall ones). `integerX`: a plain (not expert) q4 mat-vec reading x in
 * integer form takes 32 column threads of 4 rows (H200 run K, `--only q4 --variants`: 12.40 / 13.65 / 14.19 / 15.44 µs
 * at 5120→5120 / 5120→7168 / 5120→8192 / 8192→5120 where 8 rows of 64 took 13.32 / 14.76 / 15.23 / 15.59 µs).
 */
export function matvecShape(format: WeightFormat, rows: number, integerX = false): MatvecShape {
  const tall = rows > 65536;
  if (format === 'q4' && q4ShapeOverride && !tall) return q4ShapeOverride;
  if (format === 'q4' && integerX && !tall) return { WG: 128, CT: 32, R: 4 };
  if (format === 'q4') return { WG: 128, CT: tall ? 32 : 64, R: 8 };
  return { WG: 256, CT: tall ? 64 : 256, R: 8 };
}

/** y = x · Wᵀ (per item), one dispatch per segment. */
export function linear(ctx: GpuContext, w: LinearWeight, x: GPUBuffer, y: GPUBuffer, call: LinearCall): void {
  const gather = call.expertIds !== undefined;
  if (gather !== (w.rowsPerExpert !== undefined)) throw new Error(`${w.name}: expert ids go with expert weights`);
  const dummy = ctx.emptyBuffer();
  const rowsPerDispatch = (s: LinearSegment) => (gather ? w.rowsPerExpert! : s.rows);
  const shape = call.shape;
  if (!ctx.cpuKernels && (shape ? isGemm(shape) : call.items > MATVEC_MAX_ITEMS)) {
    matmul(ctx, w, x, y, call, isGemm(shape) ? shape.tileItems : undefined, isGemm(shape) ? shape.itemsPerThread : undefined);
    return;
  }
  if (shape && shape !== 'matmul' && !isGemm(shape)) checkMatvecShape(shape);
  const matvec = shape ? shape !== 'matmul' : gather || call.items <= MATVEC_MAX_ITEMS;
  const xStride = call.xStride ?? w.cols;
  // q4 mat-vec with the integer dot product: x once in integer form, read by every segment's dispatch
  const xq = matvec ? integerX(ctx, w, x, Math.ceil(call.items / (call.xRowDiv ?? 1)), xStride, call.xq) : null;
  for (const s of w.segments) {
    const rows = rowsPerDispatch(s);
    const params = {
      rows,
      cols: w.cols,
      items: call.items,
      xRowDiv: call.xRowDiv ?? 1,
      xStride,
      yStride: call.yStride ?? (gather ? w.rowsPerExpert! : w.rows),
      yOffset: (call.yOffset ?? 0) + (gather ? 0 : s.rowStart),
      expertBase: s.expertBase,
      expertCount: s.expertCount,
    };
    const tail = [xq ?? x, y, call.expertIds ?? dummy, call.scores ?? dummy];
    if (ctx.cpuKernels) {
      ctx.dispatch({
        kernel: w.format === 'q4' ? linearRowsQ4Kernel : linearRowsF32Kernel,
        params,
        bindings: w.format === 'q4' ? [s.weights, s.scales!, ...tail] : [s.weights, ...tail],
        workgroups: [ceilDiv(rows, 64), ceilDiv(call.items, 4)],
        constants: { GATHER: gather ? 1 : 0, SCALE_X: call.scores ? 1 : 0 },
      });
      continue;
    }
    const constants: Record<string, number> = { GATHER: gather ? 1 : 0, SCALE_X: call.scores ? 1 : 0, DECODE: matvec ? 1 : 0 };
    let workgroups: [number, number];
    let kernel = w.format === 'q4' ? linearQ4Kernel : linearF32Kernel;
    if (matvec) {
      const { WG, CT, R } = shape && shape !== 'matmul' && !isGemm(shape) ? shape : matvecShape(w.format, rows, xq !== null && !gather);
      Object.assign(constants, { WG, CT, R });
      const sg = w.format === 'q4' ? matvecSubgroupWidth(ctx, { WG, CT, R }) : 0;
      if (sg) {
        kernel = linearQ4SubgroupsKernel;
        constants.MV_SG = sg;
      }
      if (q4Probe && w.format === 'q4') constants.PROBE = q4Probe;
      if (xq) constants.XQ = 1;
      if (q4MatvecTuning.xAhead && w.format === 'q4' && !q4Probe) constants.XAHEAD = 1;
      workgroups = [ceilDiv(rows, (R * WG) / CT), call.items];
    } else {
      workgroups = [ceilDiv(rows, ROWS_PER_WORKGROUP), ceilDiv(call.items, TOKENS_PER_WORKGROUP)];
    }
    ctx.dispatch({
      kernel,
      params,
      bindings: w.format === 'q4' ? [s.weights, s.scales!, ...tail] : [s.weights, ...tail],
      workgroups,
      constants,
    });
  }
}
