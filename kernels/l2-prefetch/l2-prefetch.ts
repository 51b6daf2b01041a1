// Warming the L2 cache with the next mat-vec's weights from spare workgroups of a latency-bound dispatch before it
// (l2-prefetch.wgsl): the decode attention reads o_proj's, the add-norm that ends a layer the next layer's fused
// Q/K/V. Off by default (fraction 0) until a GPU has measured it; `bench -- model --l2-prefetch F` sets it.
import type { LinearWeight } from '../linear/linear.ts';
import type { GpuContext } from '../runtime.ts';
import source from './l2-prefetch.wgsl';

export const l2PrefetchInclude = source;

/**
 * fraction: the share of the weight's packed bytes (a q4 weight's nibbles, an f32 weight's words; not its scales) to
 * read ahead, 0 (off) to 1; groups: the workgroups that read it, added to the host dispatch.
 */
export const l2PrefetchTuning = { fraction: 0, groups: 96 };

/** What a host dispatch reads ahead: a buffer to bind and the extra workgroups and constants that read it. */
export interface L2Prefetch {
  buffer: GPUBuffer;
  groups: number;
  constants: { PF_GROUPS: number; PF_UNITS: number };
}

/**
 * The read-ahead of weight w for a host whose prefetch binding is an array of unitBytes-byte elements, or null (off,
 * CPU adapters, a weight in several segments, nothing to read).
 */
export function l2Prefetch(ctx: GpuContext, w: LinearWeight | null | undefined, unitBytes: 4 | 16): L2Prefetch | null {
  const { fraction, groups } = l2PrefetchTuning;
  if (!w || fraction <= 0 || ctx.cpuKernels || w.segments.length !== 1 || groups < 1) return null;
  const buffer = w.segments[0].weights;
  const units = Math.floor((Math.min(fraction, 1) * buffer.size) / unitBytes);
  if (units === 0) return null;
  return { buffer, groups, constants: { PF_GROUPS: groups, PF_UNITS: units } };
}
