// add-norm folded into the q4 mat-vec that reads its h (linear_q4_norm.wgsl): at decode the residual update and the
// next RMSNorm run inside the Q/K/V projection's workgroups, one dispatch fewer per layer. Each workgroup recomputes
// the row's norm (Scout: 448 workgroups re-reading 5120 values of x, a and the norm weight from L2) instead of waiting
// for a dispatch that wrote h.
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import { matvecShape, matvecSubgroupWidth, readsIntegerX, type LinearWeight } from './linear.ts';
import q4Prelude from './q4.wgsl';
import q4Matvec from './q4-matvec.wgsl';
import matvecReduce from './matvec-reduce.wgsl';
import matvecReduceSubgroups from './matvec-reduce-subgroups.wgsl';
import xqBlock from './xq-block.wgsl';
import source from './linear_q4_norm.wgsl';
import residualUpdate from '../add-norm/residual-update.wgsl';

const uniforms = ['rows:u32', 'cols:u32', 'yStride:u32', 'yOffset:u32', 'eps:f32', 'writeResidual:u32'] as const;
export const linearQ4NormKernel: KernelSpec = { name: 'linear_q4_norm', source, uniforms, includes: [q4Prelude, q4Matvec, matvecReduce, xqBlock, residualUpdate] };
/** the same with the mat-vec's row sums by subgroup shuffles (matvec-reduce-subgroups.wgsl) */
export const linearQ4NormSubgroupsKernel: KernelSpec = { name: 'linear_q4_norm_subgroups', source, uniforms, includes: [q4Prelude, q4Matvec, matvecReduceSubgroups, xqBlock, residualUpdate], enables: ['subgroups'] };

/** What add-norm would do before the mat-vec: xOut = x + a (+ the k routed rows of b per token), h = rmsnorm(xOut) · weight. */
export interface NormIn {
  x: GPUBuffer;
  xOut: GPUBuffer;
  a: GPUBuffer;
  routed: { b: GPUBuffer; k: number } | null;
  weight: GPUBuffer;
  eps: number;
}

/** Whether linearNormIn takes `items` tokens through w: where linear() would read x in integer form (q4, decode, GPU kernels). */
export function normInFusable(ctx: GpuContext, w: LinearWeight, items: number): boolean {
  return readsIntegerX(ctx, w, items);
}

/**
 * y[n] = W · rmsnorm(x[n] + a[n] + Σ routed rows) · weight for `items` tokens, and that residual into norm.xOut (≠ x):
 * addNorm() then linear() on its h, in one dispatch per segment of w.
 */
export function linearNormIn(ctx: GpuContext, w: LinearWeight, norm: NormIn, y: GPUBuffer, items: number): void {
  if (!normInFusable(ctx, w, items)) throw new Error(`linearNormIn: ${w.name} over ${items} tokens does not take h in integer form here (q4, ≤ 4 tokens, GPU kernels with the integer dot product)`);
  if (norm.x === norm.xOut) throw new Error('linearNormIn: the residual must go to another buffer than it is read from');
  const shape = matvecShape('q4', w.segments[0].rows, true);
  const sg = matvecSubgroupWidth(ctx, shape);
  const k = norm.routed?.k ?? 0;
  w.segments.forEach((s, i) => {
    ctx.dispatch({
      kernel: sg ? linearQ4NormSubgroupsKernel : linearQ4NormKernel,
      params: { rows: s.rows, cols: w.cols, yStride: w.rows, yOffset: s.rowStart, eps: norm.eps, writeResidual: i === 0 ? 1 : 0 },
      bindings: [s.weights, s.scales!, norm.x, norm.a, k > 0 ? norm.routed!.b : ctx.emptyBuffer(), norm.weight, norm.xOut, y],
      workgroups: [ceilDiv(s.rows, (shape.R * shape.WG) / shape.CT), items],
      constants: { WG: shape.WG, CT: shape.CT, R: shape.R, ...(k > 0 ? { K: k } : {}), ...(sg ? { MV_SG: sg } : {}) },
    });
  });
}
