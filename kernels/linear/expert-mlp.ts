// The expert MLP of a MoE layer for a few tokens (decode) in two mat-vec dispatches (expert_q4.wgsl /
// expert_f32.wgsl) instead of six: routed and shared gate+up with SwiGLU in its epilogue (a workgroup computes gate
// row i and up row F + i together), then the routed and shared down projections in one, written straight into the
// block output. A dense MLP takes the same two kinds of dispatch (three before).
// Works with any slot assignment (a pager's rounds: items of other rounds carry slot 0xffffffff) and with expert
// pools split into several segments: every item is computed exactly once, so the result does not depend on either.
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import { checkMatvecShape, integerX, MATVEC_MAX_ITEMS, matvecShape, matvecSubgroupWidth, q4FloatXForced, type LinearWeight, type MatvecShape } from './linear.ts';
import { integerDotPath } from './quantize-x.ts';
import q4Prelude from './q4.wgsl';
import q4Matvec from './q4-matvec.wgsl';
import matvecReduce from './matvec-reduce.wgsl';
import matvecReduceSubgroups from './matvec-reduce-subgroups.wgsl';
import q4Source from './expert_q4.wgsl';
import xqBlock from './xq-block.wgsl';
import f32Source from './expert_f32.wgsl';
import routeSource from './expert-route.wgsl';

const uniforms = ['rows:u32', 'cols:u32', 'routed:u32', 'k:u32', 'withShared:u32', 'expertBase:u32', 'expertCount:u32'] as const;
export const expertQ4Kernel: KernelSpec = { name: 'expert_q4', source: q4Source, uniforms, includes: [q4Prelude, q4Matvec, matvecReduce, xqBlock, routeSource] };
/** the mat-vec's row sums by subgroup shuffles (matvec-reduce-subgroups.wgsl; linear.ts matvecSubgroupWidth) */
export const expertQ4SubgroupsKernel: KernelSpec = { name: 'expert_q4_subgroups', source: q4Source, uniforms, includes: [q4Prelude, q4Matvec, matvecReduceSubgroups, xqBlock, routeSource], enables: ['subgroups'] };
export const expertF32Kernel: KernelSpec = { name: 'expert_f32', source: f32Source, uniforms, includes: [matvecReduce, routeSource] };

export interface ExpertMlpWeights {
  gateUp: LinearWeight; // [2F, hidden] (a pool: rowsPerExpert = 2F)
  down: LinearWeight; // [hidden, F] (a pool: rowsPerExpert = hidden)
}

/**
 * Whether `tokens` tokens of a MoE layer take the fused path: GPU kernel variants, a decode-sized batch (as the
 * mat-vec path of linear()), and a shared expert of the routed experts' format and shape held in one segment each.
 */
export function expertMlpFusable(ctx: GpuContext, pool: ExpertMlpWeights, shared: ExpertMlpWeights, tokens: number): boolean {
  const same = (p: LinearWeight, s: LinearWeight) => p.format === s.format && p.cols === s.cols && p.rowsPerExpert === s.rows && s.rowsPerExpert === undefined && s.segments.length === 1;
  return !ctx.cpuKernels && tokens <= MATVEC_MAX_ITEMS && same(pool.gateUp, shared.gateUp) && same(pool.down, shared.down);
}

/** Whether a dense MLP of `tokens` tokens takes the two-dispatch path (denseMlp). */
export function denseMlpFusable(ctx: GpuContext, m: ExpertMlpWeights, tokens: number): boolean {
  const one = (w: LinearWeight) => w.rowsPerExpert === undefined && w.segments.length === 1;
  return !ctx.cpuKernels && tokens <= MATVEC_MAX_ITEMS && one(m.gateUp) && one(m.down) && m.gateUp.format === m.down.format && m.gateUp.rows === 2 * m.down.cols;
}

/**
 * The gate+up launch shape that writes activations in integer form: RW = 64 rows, 32 activations per workgroup. From
 * the sweep at Scout's shapes on the H200 (`bench -- --experts --variants`, docs/PERFORMANCE.md run J): 8 column
 * threads of 2 rows each read 57.8 % of the roofline where WG256/CT32/R8 read 46.1 %.
 */
export const XQ_OUT_SHAPE: MatvecShape = { WG: 256, CT: 8, R: 2 };

let shapeOverride: { gateUp?: MatvecShape; down?: MatvecShape } = {};

/**
 * Benchmarks only (`bench -- --experts --variants`): the launch shape of the gate+up (MODE 0) or down (MODE 1)
 * dispatches. A gate+up shape that writes activations in integer form must keep 64 rows per workgroup.
 */
export function overrideExpertShapes(shapes: { gateUp?: MatvecShape; down?: MatvecShape }): void {
  for (const s of [shapes.gateUp, shapes.down]) if (s) checkMatvecShape(s);
  shapeOverride = shapes;
}

function expertShape(mode: 0 | 1, format: LinearWeight['format'], rows: number, xqOut: boolean): MatvecShape {
  const given = mode === 0 ? shapeOverride.gateUp : shapeOverride.down;
  if (given && xqOut && (given.R * given.WG) / given.CT !== 64) throw new Error(`gate+up with integer activations needs 64 rows per workgroup, not ${JSON.stringify(given)}`);
  return given ?? (xqOut ? XQ_OUT_SHAPE : matvecShape(format, rows));
}

/**
 * Whether the MoE or dense MLP `m` hands its activations from gate+up to down in integer form (quantize-x.wgsl's
 * layout, written by the gate+up epilogue: no separate quantize_x dispatch): q4 on both sides, the integer dot product.
 */
export function integerActivations(ctx: GpuContext, m: ExpertMlpWeights): boolean {
  return m.gateUp.format === 'q4' && m.down.format === 'q4' && !q4FloatXForced() && integerDotPath(ctx, m.down.cols);
}

function dispatchExpert(
  ctx: GpuContext,
  mode: 0 | 1,
  w: LinearWeight,
  routedSeg: LinearWeight['segments'][number],
  shared: LinearWeight,
  x: GPUBuffer,
  y: GPUBuffer,
  ids: GPUBuffer,
  aux: GPUBuffer,
  params: { rows: number; routed: number; k: number; withShared: number; items: number; scaleX?: boolean; xq?: boolean; xqOut?: boolean; route?: number },
): void {
  if (params.items === 0) return;
  const s = shared.segments[0];
  // activations out in integer form: one block of 32 per workgroup (RW / 2 = 32)
  const shape = expertShape(mode, w.format, params.rows, params.xqOut ?? false);
  const rowsPerWorkgroup = (shape.R * shape.WG) / shape.CT;
  // MODE 0: half of a workgroup's rows are gate rows, half the matching up rows; one activation per gate row
  const groups = mode === 0 ? ceilDiv(params.rows / 2, rowsPerWorkgroup / 2) : ceilDiv(params.rows, rowsPerWorkgroup);
  const weights = w.format === 'q4' ? [routedSeg.weights, routedSeg.scales!, s.weights, s.scales!] : [routedSeg.weights, s.weights];
  const sg = w.format === 'q4' ? matvecSubgroupWidth(ctx, shape) : 0;
  ctx.dispatch({
    kernel: w.format === 'q4' ? (sg ? expertQ4SubgroupsKernel : expertQ4Kernel) : expertF32Kernel,
    params: {
      rows: params.rows,
      cols: w.cols,
      routed: params.routed,
      k: params.k,
      withShared: params.withShared,
      expertBase: routedSeg.expertBase,
      expertCount: routedSeg.expertCount,
    },
    bindings: [...weights, x, y, ids, aux],
    workgroups: [groups, params.items],
    constants: { MODE: mode, SCALE_X: params.scaleX ? 1 : 0, ...shape, ...(sg ? { MV_SG: sg } : {}), ...(params.xq ? { XQ: 1 } : {}), ...(params.xqOut ? { XQOUT: 1 } : {}), ...(params.route ? { ROUTE: params.route } : {}) },
  });
}

export interface ExpertGateUpCall {
  tokens: number;
  /** routed experts per token */
  k: number;
  /** the slot of each of the tokens·k routed items (0xffffffff or another segment's slot: left out); with routeExperts, the router logits */
  slots: GPUBuffer;
  /** router scores: item n's input is x[n / k] · scores[n] (not read with routeExperts) */
  scores: GPUBuffer;
  /**
   * E: `slots` holds the router logits [tokens, E] and the kernels pick each token's expert and score from them as
   * routeTopK would (expert-route.wgsl): top-1 only, every expert in its own slot (no pager)
   */
  routeExperts?: number;
  /** also the shared expert's rows (once per layer: a pager's later rounds leave them out) */
  withShared: boolean;
  /** write the activations in integer form (integerActivations) */
  integerActivations?: boolean;
  /** x already in integer form (quantize-x.ts; written by add-norm), used where the q4 kernels take the integer path */
  xq?: GPUBuffer;
}

/**
 * act = silu(gate) · up of the tokens·k routed items, then of the shared expert for each token: [tokens·k (+ tokens), F].
 * One dispatch per segment of the pool (one on real GPUs); the shared rows go with the first.
 */
export function expertGateUp(ctx: GpuContext, pool: LinearWeight, shared: LinearWeight, x: GPUBuffer, act: GPUBuffer, call: ExpertGateUpCall): void {
  const routed = call.tokens * call.k;
  const xq = integerX(ctx, pool, x, call.tokens, pool.cols, call.xq);
  const xqOut = call.integerActivations ?? false;
  checkRoute(call);
  for (const [i, seg] of pool.segments.entries()) {
    const items = routed + (call.withShared && i === 0 ? call.tokens : 0);
    dispatchExpert(ctx, 0, pool, seg, shared, xq ?? x, act, call.slots, call.scores, { rows: pool.rowsPerExpert!, routed, k: call.k, withShared: 0, items, scaleX: true, xq: xq !== null, xqOut, route: call.routeExperts });
  }
}

export interface ExpertDownCall {
  tokens: number;
  k: number;
  slots: GPUBuffer;
  /** as ExpertGateUpCall.routeExperts */
  routeExperts?: number;
  /** `act` holds the activations in integer form (expertGateUp with integerActivations) */
  integerActivations?: boolean;
}

/**
 * Down of the routed items and the shared expert, from the activations expertGateUp wrote (`act`):
 * y[t] = shared(t) + routed item (t, 0), one reduction over both; with k > 1 the items (t, j ≥ 1) go to
 * rest[t·(k − 1) + j − 1] (add-norm sums them). Items of other rounds or segments are left out, so a token's
 * block output is written in the round (and dispatch) that holds its first routed item.
 */
export function expertDown(ctx: GpuContext, pool: LinearWeight, shared: LinearWeight, act: GPUBuffer, y: GPUBuffer, rest: GPUBuffer | null, call: ExpertDownCall): void {
  if (call.k > 1 && !rest) throw new Error('expertDown: k > 1 needs a buffer for the routed rows j ≥ 1');
  checkRoute(call);
  const routed = call.tokens * call.k;
  // act: the routed items' rows, then one shared row per token
  const xq = call.integerActivations ? act : integerX(ctx, pool, act, routed + call.tokens, pool.cols);
  for (const seg of pool.segments) {
    dispatchExpert(ctx, 1, pool, seg, shared, xq ?? act, y, call.slots, rest ?? ctx.emptyBuffer(1), { rows: pool.rowsPerExpert!, routed, k: call.k, withShared: 1, items: routed, xq: xq !== null, route: call.routeExperts });
  }
}

function checkRoute(call: { k: number; routeExperts?: number }): void {
  if (call.routeExperts !== undefined && (call.k !== 1 || call.routeExperts < 1 || call.routeExperts > 256)) throw new Error(`expert MLP: routing in the kernels is top-1 of ≤ 256 experts only (k = ${call.k}, ${call.routeExperts} experts)`);
}

/** A dense MLP: act = silu(gate(x)) · up(x) ([tokens, F]), then y = down(act) ([tokens, hidden]), two dispatches. */
export function denseMlp(ctx: GpuContext, m: ExpertMlpWeights, x: GPUBuffer, act: GPUBuffer, y: GPUBuffer, tokens: number, xGiven?: GPUBuffer): void {
  // no routed items: the routed-weight and id bindings take buffers already bound read-only (never read)
  const xq = integerX(ctx, m.gateUp, x, tokens, m.gateUp.cols, xGiven);
  const xqOut = integerActivations(ctx, m);
  dispatchExpert(ctx, 0, m.gateUp, m.gateUp.segments[0], m.gateUp, xq ?? x, act, x, ctx.emptyBuffer(1), { rows: m.gateUp.rows, routed: 0, k: 1, withShared: 0, items: tokens, xq: xq !== null, xqOut });
  const actq = xqOut ? act : integerX(ctx, m.down, act, tokens, m.down.cols);
  dispatchExpert(ctx, 1, m.down, m.down.segments[0], m.down, actq ?? act, y, act, ctx.emptyBuffer(1), { rows: m.down.rows, routed: 0, k: 1, withShared: 0, items: tokens, xq: actq !== null });
}
