// SwiGLU activation between the fused gate/up projection and the down projection.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './swiglu.wgsl';

export const swigluKernel: KernelSpec = { name: 'swiglu', source, uniforms: ['items:u32', 'width:u32'] };

export function swiglu(ctx: GpuContext, gateUp: GPUBuffer, out: GPUBuffer, items: number, width: number): void {
  const groups = Math.ceil((items * width) / 256);
  ctx.dispatch({ kernel: swigluKernel, params: { items, width }, bindings: [gateUp, out], workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)] });
}
