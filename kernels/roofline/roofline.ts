// Streaming-read roofline: the fastest a kernel can read device memory, measured with the same WebGPU path as the
// real kernels. The bench divides every kernel's bytes-read rate by this one's (cli/bench.ts).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './roofline.wgsl';
import gridReadSource from './grid-read.wgsl';
import readWindow from './read-window.wgsl';

export const rooflineKernel: KernelSpec = { name: 'roofline_read', source, uniforms: ['n:u32'], includes: [readWindow] };

/** Workgroups of the grid-stride loop: enough to fill a large GPU many times over, few enough to keep each thread busy. */
export const ROOFLINE_WORKGROUPS = 2048;

/**
 * Reads `bytes` bytes (a multiple of 16) of `src` from `offset` and adds the sum of its u32 words (mod 2^32) to the
 * u32 at out[0]. `workgroups` defaults to ROOFLINE_WORKGROUPS, capped so each thread has at least one vec4.
 */
export function rooflineRead(ctx: GpuContext, src: GPUBuffer, out: GPUBuffer, bytes = src.size, offset = 0, workgroups = ROOFLINE_WORKGROUPS): void {
  if (bytes % 16 !== 0) throw new Error(`roofline: ${bytes} bytes is not a multiple of 16`);
  const n = bytes / 16;
  if (n > 0xffffffff) throw new Error(`roofline: ${bytes} bytes is too many for one dispatch`);
  const groups = Math.max(1, Math.min(workgroups, Math.ceil(n / 256)));
  ctx.dispatch({
    kernel: rooflineKernel,
    params: { n },
    bindings: [{ buffer: src, offset, size: bytes }, out],
    workgroups: [groups],
  });
}

export const gridReadKernel: KernelSpec = { name: 'grid_read', source: gridReadSource, uniforms: ['stages:u32', 'base:u32'], includes: [readWindow] };

/**
 * Reads stage after stage of `src` in ONE dispatch of `workgroups` workgroups, a grid-wide barrier between stages
 * (grid-read.wgsl; benchmarks only). `stages` holds (first vec4, vec4 count) pairs, `stageCount` of them; `out` is
 * [checksum, arrivals, timed out]: the checksum gains the sum of every stage's u32 words, the arrivals
 * stageCount · workgroups, which the caller passes back as `base` of the next dispatch on the same `out`.
 */
export function gridStagedRead(ctx: GpuContext, src: GPUBuffer, stages: GPUBuffer, stageCount: number, out: GPUBuffer, workgroups: number, base: number): void {
  if (base + stageCount * workgroups > 0x7fffffff) throw new Error('grid read: the arrival counter would wrap; start a new out buffer');
  ctx.dispatch({
    kernel: gridReadKernel,
    params: { stages: stageCount, base },
    bindings: [src, stages, out],
    workgroups: [workgroups],
  });
}
