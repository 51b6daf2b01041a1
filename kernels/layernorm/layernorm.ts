// LayerNorm (weight and bias), used by the vision tower.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import { rowGrid } from '../rmsnorm/rmsnorm.ts';
import source from './layernorm.wgsl';

export const layernormKernel: KernelSpec = { name: 'layernorm', source, uniforms: ['rows:u32', 'dim:u32', 'eps:f32'] };

export function layernorm(ctx: GpuContext, x: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer, y: GPUBuffer, rows: number, dim: number, eps: number): void {
  if (x === y) throw new Error('layernorm: x and y must be different buffers');
  ctx.dispatch({ kernel: layernormKernel, params: { rows, dim, eps }, bindings: [x, weight, bias, y], workgroups: rowGrid(rows), constants: { WG: ctx.cpuKernels ? 1 : 256 } });
}
