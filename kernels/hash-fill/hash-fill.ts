// Fills buffers with hash-based random words on the GPU (hash-fill.wgsl): synthetic weights for benchmarks.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './hash-fill.wgsl';

export const hashFillKernel: KernelSpec = { name: 'hash_fill', source, uniforms: ['n:u32', 'seed:u32', 'mode:u32', 'amp:f32'] };

/** 0: raw u32; 1: f16 pairs in ±[amp/10, amp]; 2: f32 in [−amp, amp] */
export type FillMode = 0 | 1 | 2;

const WINDOW = 128 * 1024 * 1024; // bytes per dispatch: within any binding limit

/** Records the fill of `bytes` (a multiple of 4) of `buffer` from `offset`; `seed` picks the stream. */
export function hashFill(ctx: GpuContext, buffer: GPUBuffer, bytes: number, mode: FillMode, seed: number, amp = 1, offset = 0): void {
  for (let off = 0; off < bytes; off += WINDOW) {
    const size = Math.min(WINDOW, bytes - off);
    ctx.dispatch({
      kernel: hashFillKernel,
      // each window gets its own seed, so windows differ
      params: { n: size / 4, seed: (seed * 7919 + off / WINDOW) >>> 0, mode, amp },
      bindings: [{ buffer, offset: offset + off, size }],
      workgroups: [Math.min(4096, Math.ceil(size / 4 / 256))],
    });
  }
}
