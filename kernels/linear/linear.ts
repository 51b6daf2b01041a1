// Linear layers (mat-vec for decode, mat-mul for prefill) over f32 or Q4_0 weights, split into row segments so no
// binding exceeds the device limit. Expert weights are one LinearWeight with `rowsPerExpert` rows per expert.
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import { q4Bytes, quantizeQ4 } from './q4-format.ts';
import type { WeightFormat } from './weight-format.ts';
import q4Source from './linear_q4.wgsl';
import f32Source from './linear_f32.wgsl';
import rowsQ4Source from './linear_rows_q4.wgsl';
import rowsF32Source from './linear_rows_f32.wgsl';

export type { WeightFormat } from './weight-format.ts';

const uniforms = ['rows:u32', 'cols:u32', 'items:u32', 'xRowDiv:u32', 'xStride:u32', 'yStride:u32', 'yOffset:u32', 'expertBase:u32', 'expertCount:u32'] as const;
export const linearQ4Kernel: KernelSpec = { name: 'linear_q4', source: q4Source, uniforms };
export const linearF32Kernel: KernelSpec = { name: 'linear_f32', source: f32Source, uniforms };
/** thread-per-row variants for CPU adapters (SwiftShader), where workgroup barriers are very slow */
export const linearRowsQ4Kernel: KernelSpec = { name: 'linear_rows_q4', source: rowsQ4Source, uniforms };
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

export function bytesPerRow(format: WeightFormat, cols: number): number {
  return format === 'q4' ? (cols / 32) * 18 : cols * 4;
}

/** Rows per segment: whole experts, at most maxBindingBytes for the largest binding, even (scale pairs). */
function rowsPerSegment(ctx: GpuContext, format: WeightFormat, cols: number, unit: number): number {
  const rowBytes = format === 'q4' ? (cols / 32) * 16 : cols * 4;
  const units = Math.max(1, Math.floor(ctx.maxBindingBytes / (rowBytes * unit)));
  return units * unit;
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
  if (cols % 4 !== 0) throw new Error(`${name}: input dimension ${cols} is not a multiple of 4`);
  if (format === 'q4' && cols % 32 !== 0) throw new Error(`${name}: q4 needs an input dimension that is a multiple of 32, got ${cols}`);
  const unit = rowsPerExpert ?? 2;
  const perSegment = rowsPerSegment(ctx, format, cols, unit);
  const segments: LinearSegment[] = [];
  for (let start = 0; start < rows; start += perSegment) {
    const count = Math.min(perSegment, rows - start);
    const data = rowsOf(start, count);
    const label = `${name}[${start}:${start + count}]`;
    const expertBase = rowsPerExpert ? start / rowsPerExpert : 0;
    const expertCount = rowsPerExpert ? count / rowsPerExpert : 0;
    if (format === 'q4') {
      const q = quantizeQ4(data, count, cols);
      segments.push({ rowStart: start, rows: count, weights: ctx.upload(q.qs, label), scales: ctx.upload(q.scales, label + '.scales'), expertBase, expertCount });
    } else {
      segments.push({ rowStart: start, rows: count, weights: ctx.upload(data, label), expertBase, expertCount });
    }
  }
  return { name, format, rows, cols, rowsPerExpert, segments };
}

export function linearBytes(w: LinearWeight): number {
  if (w.format === 'f32') return w.rows * w.cols * 4;
  const b = q4Bytes(w.rows, w.cols);
  return b.qs + b.scales;
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
  xStride?: number;
  yStride?: number;
  yOffset?: number;
  /** expert mode: the expert of each item */
  expertIds?: GPUBuffer;
  /** multiplies x of item n by scores[n] (the router score on the expert input) */
  scores?: GPUBuffer;
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

/** Non-gather calls with at most this many items take the mat-vec path (each item reads the weights once). */
const MATVEC_MAX_ITEMS = 4;
let matvecOverride: MatvecShape | null = null;
let pathOverride: 'matvec' | 'matmul' | null = null;

/**
 * For benchmarks: force a mat-vec launch shape, or the mat-mul path for every call (null restores the built-in
 * choice). Results are the same either way; only the speed differs.
 */
export function setMatvecShape(shape: MatvecShape | 'matmul' | null): void {
  if (shape && shape !== 'matmul') {
    const { WG, CT, R } = shape;
    if (WG % CT !== 0 || R < 1 || R > 8 || R > CT || WG > 256 || CT * ((R * WG) / CT + 1) > 2304) throw new Error(`bad mat-vec shape ${JSON.stringify(shape)}`);
  }
  matvecOverride = shape === 'matmul' ? null : shape;
  pathOverride = shape === 'matmul' ? 'matmul' : null;
}

/**
 * The built-in mat-vec launch shape for one dispatch of `rows` rows, from the sweep on an H100 (`npm run bench --
 * --variants`, docs/PERFORMANCE.md): 8 rows per thread in both formats; q4 with 64 column threads per row group (32 on
 * very tall matrices), f32 with 256 (64 on very tall ones).
 */
export function matvecShape(format: WeightFormat, rows: number, cols: number): MatvecShape {
  if (matvecOverride) return matvecOverride;
  void cols;
  const tall = rows > 65536;
  if (format === 'q4') return { WG: 128, CT: tall ? 32 : 64, R: 8 };
  return { WG: 256, CT: tall ? 64 : 256, R: 8 };
}

/** y = x · Wᵀ (per item), one dispatch per segment. */
export function linear(ctx: GpuContext, w: LinearWeight, x: GPUBuffer, y: GPUBuffer, call: LinearCall): void {
  const gather = call.expertIds !== undefined;
  if (gather !== (w.rowsPerExpert !== undefined)) throw new Error(`${w.name}: expert ids go with expert weights`);
  const dummy = ctx.emptyBuffer();
  const rowsPerDispatch = (s: LinearSegment) => (gather ? w.rowsPerExpert! : s.rows);
  const matvec = pathOverride ? pathOverride === 'matvec' : gather || call.items <= MATVEC_MAX_ITEMS;
  for (const s of w.segments) {
    const rows = rowsPerDispatch(s);
    const params = {
      rows,
      cols: w.cols,
      items: call.items,
      xRowDiv: call.xRowDiv ?? 1,
      xStride: call.xStride ?? w.cols,
      yStride: call.yStride ?? (gather ? w.rowsPerExpert! : w.rows),
      yOffset: (call.yOffset ?? 0) + (gather ? 0 : s.rowStart),
      expertBase: s.expertBase,
      expertCount: s.expertCount,
    };
    const tail = [x, y, call.expertIds ?? dummy, call.scores ?? dummy];
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
    if (matvec) {
      const { WG, CT, R } = matvecShape(w.format, rows, w.cols);
      Object.assign(constants, { WG, CT, R });
      workgroups = [ceilDiv(rows, (R * WG) / CT), call.items];
    } else {
      workgroups = [ceilDiv(rows, ROWS_PER_WORKGROUP), ceilDiv(call.items, TOKENS_PER_WORKGROUP)];
    }
    ctx.dispatch({
      kernel: w.format === 'q4' ? linearQ4Kernel : linearF32Kernel,
      params,
      bindings: w.format === 'q4' ? [s.weights, s.scales!, ...tail] : [s.weights, ...tail],
      workgroups,
      constants,
    });
  }
}
