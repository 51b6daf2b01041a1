// RMSNorm over rows (learned weight), or the weightless per-head QK norm.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './rmsnorm.wgsl';

export const rmsnormKernel: KernelSpec = { name: 'rmsnorm', source, uniforms: ['rows:u32', 'dim:u32', 'eps:f32'] };

export function rowGrid(rows: number): [number, number] {
  return [Math.min(rows, 65535), Math.ceil(rows / 65535)];
}

/** y = rmsnorm(x) · weight; `weight` null for the weightless QK norm. x and y may be the same buffer. */
export function rmsnorm(ctx: GpuContext, x: GPUBuffer, weight: GPUBuffer | null, y: GPUBuffer, rows: number, dim: number, eps: number): void {
  ctx.dispatch({
    kernel: rmsnormKernel,
    params: { rows, dim, eps },
    bindings: [x, weight ?? ctx.emptyBuffer(), x === y ? ctx.emptyBuffer(1) : y],
    workgroups: rowGrid(rows),
    constants: { HAS_WEIGHT: weight ? 1 : 0, IN_PLACE: x === y ? 1 : 0, WG: ctx.cpuKernels ? 1 : 256 },
  });
}
