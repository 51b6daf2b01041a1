// Arithmetic (f32 FMA) roofline: the rate a kernel can reach when it does nothing but multiply-adds, measured with the
// same WebGPU path as the real kernels. The model bench divides the prefill's FLOP rate by this one (cli/bench-model.ts).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './fma-roofline.wgsl';

export const fmaRooflineKernel: KernelSpec = { name: 'fma_roofline', source, uniforms: ['iterations:u32'] };

/** FLOPs of one fmaRoofline() dispatch (an FMA counts as two). */
export function fmaRooflineFlops(workgroups: number, iterations: number): number {
  return workgroups * 256 * iterations * 8 * 4 * 2;
}

/** Runs `iterations` steps of 8 vec4 FMA chains on every thread of `workgroups` × 256; out gets one f32 per thread. */
export function fmaRoofline(ctx: GpuContext, out: GPUBuffer, workgroups: number, iterations: number): void {
  if (out.size < workgroups * 256 * 4) throw new Error(`fma roofline: out holds ${out.size} bytes, ${workgroups * 256 * 4} needed`);
  ctx.dispatch({ kernel: fmaRooflineKernel, params: { iterations }, bindings: [out], workgroups: [workgroups] });
}
