// Streaming-read roofline: the fastest a kernel can read device memory, measured with the same WebGPU path as the
// real kernels. The bench divides every kernel's bytes-read rate by this one's (cli/bench.ts).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './roofline.wgsl';

export const rooflineKernel: KernelSpec = { name: 'roofline_read', source, uniforms: ['n:u32'] };

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
