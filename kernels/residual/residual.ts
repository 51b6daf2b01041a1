// x += a (+ the sum of k routed expert outputs).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './residual.wgsl';

export const residualKernel: KernelSpec = { name: 'residual_add', source, uniforms: ['tokens:u32', 'dim:u32', 'k:u32'] };

export function residualAdd(ctx: GpuContext, x: GPUBuffer, a: GPUBuffer, tokens: number, dim: number, routed?: { b: GPUBuffer; k: number }): void {
  const groups = Math.ceil((tokens * dim) / 256);
  ctx.dispatch({
    kernel: residualKernel,
    params: { tokens, dim, k: routed?.k ?? 0 },
    bindings: [x, a, routed?.b ?? ctx.emptyBuffer()],
    workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)],
  });
}
