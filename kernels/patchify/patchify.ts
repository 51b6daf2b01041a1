// Patchify (the unfold half of Llama4UnfoldConvolution; the linear half is an ordinary f32 linear).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './patchify.wgsl';

export const patchifyKernel: KernelSpec = { name: 'patchify', source, uniforms: ['size:u32', 'patchSize:u32', 'channels:u32'] };

export function patchify(ctx: GpuContext, pixels: GPUBuffer, out: GPUBuffer, size: number, patch: number, channels = 3): void {
  const count = (size / patch) ** 2 * channels * patch * patch;
  const groups = Math.ceil(count / 256);
  ctx.dispatch({ kernel: patchifyKernel, params: { size, patchSize: patch, channels }, bindings: [pixels, out], workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)] });
}
