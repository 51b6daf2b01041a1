// Exact (erf) GELU, in place.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './gelu.wgsl';

export const geluKernel: KernelSpec = { name: 'gelu', source, uniforms: ['count:u32'] };

export function gelu(ctx: GpuContext, x: GPUBuffer, count: number): void {
  const groups = Math.ceil(count / 256);
  ctx.dispatch({ kernel: geluKernel, params: { count }, bindings: [x], workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)] });
}
