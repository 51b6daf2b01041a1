// x += a (+ the k routed expert outputs), then h = rmsnorm(x) · weight: the end of one block and the start of the
// next in one dispatch.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import { rowGrid } from '../rmsnorm/rmsnorm.ts';
import source from './add-norm.wgsl';

export const addNormKernel: KernelSpec = { name: 'add_norm', source, uniforms: ['tokens:u32', 'dim:u32', 'k:u32', 'eps:f32'] };

export function addNorm(
  ctx: GpuContext,
  x: GPUBuffer,
  a: GPUBuffer,
  routed: { b: GPUBuffer; k: number } | null,
  weight: GPUBuffer,
  h: GPUBuffer,
  tokens: number,
  dim: number,
  eps: number,
): void {
  if (dim % 4 !== 0) throw new Error(`addNorm: dimension ${dim} is not a multiple of 4`);
  ctx.dispatch({
    kernel: addNormKernel,
    params: { tokens, dim, k: routed?.k ?? 0, eps },
    bindings: [x, a, routed?.b ?? ctx.emptyBuffer(), weight, h],
    workgroups: rowGrid(tokens),
    constants: { WG: ctx.cpuKernels ? 1 : 256 },
  });
}
