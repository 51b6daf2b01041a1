// Row-wise bias add (the vision tower's linears have biases).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './bias.wgsl';

export const biasKernel: KernelSpec = { name: 'bias_add', source, uniforms: ['rows:u32', 'dim:u32'] };

export function addBias(ctx: GpuContext, x: GPUBuffer, bias: GPUBuffer, rows: number, dim: number): void {
  const groups = Math.ceil((rows * dim) / 256);
  ctx.dispatch({ kernel: biasKernel, params: { rows, dim }, bindings: [x, bias], workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)] });
}
