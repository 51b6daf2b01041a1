// Tiled GEMM for prefill over a LinearWeight (f32 or Q4_0, split into row segments like every linear): tiles of
// 16–64 items × 64 rows, K step 32, through workgroup memory (matmul.wgsl). Expert calls (MoE prefill) first group
// their items by expert on the GPU (expert-groups.wgsl), then run one dispatch per segment whose workgroups each take
// one (expert, item tile, row tile), so an expert's weights are read once per tile of its items instead of once per
// item. linear() routes prefill here on GPU adapters; the CPU reference is kernels/linear/linear.ref.ts.
import { ceilDiv, growingScratch, type GpuContext, type KernelSpec } from '../runtime.ts';
import type { WeightFormat } from '../linear/weight-format.ts';
import q4Prelude from '../linear/q4.wgsl';
import coreSource from './matmul.wgsl';
import q4Source from './matmul_q4.wgsl';
import f32Source from './matmul_f32.wgsl';
import groupsSource from './expert-groups.wgsl';

const uniforms = ['rows:u32', 'cols:u32', 'items:u32', 'xRowDiv:u32', 'xStride:u32', 'yStride:u32', 'yOffset:u32', 'expertBase:u32', 'expertCount:u32', 'maxTiles:u32'] as const;
export const matmulQ4Kernel: KernelSpec = { name: 'matmul_q4', source: coreSource, uniforms, includes: [q4Prelude, q4Source] };
export const matmulF32Kernel: KernelSpec = { name: 'matmul_f32', source: coreSource, uniforms, includes: [f32Source] };
export const expertGroupsKernel: KernelSpec = { name: 'expert_groups', source: groupsSource, uniforms: ['items:u32', 'experts:u32', 'tileItems:u32', 'maxTiles:u32'] };

/**
 * The weight and call as linear() has them (kernels/linear/linear.ts: LinearWeight, LinearCall), spelled out here so
 * that linear.ts can import this module without an import cycle.
 */
export interface MatmulWeight {
  name: string;
  format: WeightFormat;
  rows: number;
  cols: number;
  rowsPerExpert?: number;
  segments: { rowStart: number; rows: number; weights: GPUBuffer; scales?: GPUBuffer; expertBase: number; expertCount: number }[];
}

export interface MatmulCall {
  items: number;
  xRowDiv?: number;
  xStride?: number;
  yStride?: number;
  yOffset?: number;
  expertIds?: GPUBuffer;
  scores?: GPUBuffer;
}

/** Rows per tile (fixed by the kernel); items per tile is 16, 32 or 64. */
export const TILE_ROWS = 64;
export type TileItems = 16 | 32 | 64;
/** Items per thread (each thread: this many items × 4 rows); 8 needs tiles of 32 or 64 items. */
export type ItemsPerThread = 4 | 8;
/** The built-in items per thread (4: not yet measured against 8 on a GPU; `npm run bench -- --gemm` sweeps both) */
export const DEFAULT_ITEMS_PER_THREAD: ItemsPerThread = 4;
/** expert-groups.wgsl counts in one workgroup array of this many experts */
export const MAX_GROUPED_EXPERTS = 1024;

/** Workgroups the GPU should get at least before a larger item tile is worth it (about two per SM of a big GPU). */
const TARGET_WORKGROUPS = 256;

/**
 * The item tile for a call: the largest (most reuse of each loaded weight) that still gives the GPU
 * TARGET_WORKGROUPS workgroups; for expert calls, by the mean number of items per expert.
 */
export function tileItemsFor(items: number, rows: number, experts?: number): TileItems {
  if (experts !== undefined) {
    const perExpert = items / Math.min(experts, items);
    return perExpert >= 64 ? 64 : perExpert >= 32 ? 32 : 16;
  }
  for (const t of [64, 32] as const) if (ceilDiv(items, t) * ceilDiv(rows, TILE_ROWS) >= TARGET_WORKGROUPS) return t;
  return 16;
}

/** Upper bound on the tiles of any grouping of `items` items over `experts` experts into tiles of `tileItems`. */
export function maxGroupTiles(items: number, experts: number, tileItems: number): number {
  return ceilDiv(items, tileItems) + Math.min(experts, items);
}

/** The groups buffer's size in u32 for a call: the sorted item list, 3 words per tile, each expert's first tile. */
export function groupsWords(items: number, experts: number, tileItems: number): number {
  return items + 3 * maxGroupTiles(items, experts, tileItems) + experts + 1;
}

/**
 * Sorts `items` items by their expert ids (ids ≥ experts are left out) into `groups`: the sorted item list and the
 * tile table matmul's GROUPED mode reads (expert-groups.wgsl).
 */
export function expertGroups(ctx: GpuContext, ids: GPUBuffer, groups: GPUBuffer, items: number, experts: number, tileItems: number): void {
  if (experts > MAX_GROUPED_EXPERTS) throw new Error(`expert groups: ${experts} experts, at most ${MAX_GROUPED_EXPERTS}`);
  if (groups.size < groupsWords(items, experts, tileItems) * 4) throw new Error('expert groups: the groups buffer is too small');
  ctx.dispatch({
    kernel: expertGroupsKernel,
    params: { items, experts, tileItems, maxTiles: maxGroupTiles(items, experts, tileItems) },
    bindings: [ids, groups],
    workgroups: [1],
  });
}

/** One groups buffer per context, grown on demand (the dispatches that use it run in recording order). */
const groupsBuffer = growingScratch('expert groups', 4096);
const groupsScratch = (ctx: GpuContext, words: number) => groupsBuffer(ctx, words * 4);

/**
 * y = x · Wᵀ per item as a tiled GEMM, one dispatch per segment (plus the grouping for expert calls). Takes the
 * same call options as linear() (items, xRowDiv, xStride, yStride, yOffset, expertIds, scores).
 */
export function matmul(ctx: GpuContext, w: MatmulWeight, x: GPUBuffer, y: GPUBuffer, call: MatmulCall, tileItems?: TileItems, itemsPerThread?: ItemsPerThread): void {
  const grouped = call.expertIds !== undefined;
  if (grouped !== (w.rowsPerExpert !== undefined)) throw new Error(`${w.name}: expert ids go with expert weights`);
  if (call.items === 0) return;
  const experts = grouped ? w.rows / w.rowsPerExpert! : 0;
  const items = call.items;
  const dummy = ctx.emptyBuffer();
  let groups = dummy;
  let maxTiles = 0;
  const t = tileItems ?? tileItemsFor(items, grouped ? w.rowsPerExpert! : w.rows, grouped ? experts : undefined);
  const it = t === 16 ? 4 : (itemsPerThread ?? DEFAULT_ITEMS_PER_THREAD);
  if (itemsPerThread === 8 && t === 16) throw new Error('matmul: 8 items per thread needs tiles of 32 or 64 items');
  if (grouped) {
    groups = groupsScratch(ctx, groupsWords(items, experts, t));
    expertGroups(ctx, call.expertIds!, groups, items, experts, t);
    maxTiles = maxGroupTiles(items, experts, t);
  }
  for (const s of w.segments) {
    if (grouped && s.expertCount === 0) continue;
    const rows = grouped ? w.rowsPerExpert! : s.rows;
    const params = {
      rows,
      cols: w.cols,
      items,
      xRowDiv: call.xRowDiv ?? 1,
      xStride: call.xStride ?? w.cols,
      yStride: call.yStride ?? (grouped ? w.rowsPerExpert! : w.rows),
      yOffset: (call.yOffset ?? 0) + (grouped ? 0 : s.rowStart),
      expertBase: s.expertBase,
      expertCount: s.expertCount,
      maxTiles,
    };
    const tail = [x, y, groups, call.scores ?? dummy];
    // grouped: the segment's experts have at most this many tiles (expert-groups.wgsl gives where they start)
    const tilesY = grouped ? maxGroupTiles(items, s.expertCount, t) : ceilDiv(items, t);
    ctx.dispatch({
      kernel: w.format === 'q4' ? matmulQ4Kernel : matmulF32Kernel,
      params,
      bindings: w.format === 'q4' ? [s.weights, s.scales!, ...tail] : [s.weights, ...tail],
      workgroups: [ceilDiv(rows, TILE_ROWS), tilesY],
      constants: { GROUPED: grouped ? 1 : 0, SCALE_X: call.scores ? 1 : 0, GM: t / 4, IT: it },
    });
  }
}
