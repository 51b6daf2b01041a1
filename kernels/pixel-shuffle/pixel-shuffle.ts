// Pixel shuffle of the vision adapter (ratio 0.5 only, the value every Llama 4 checkpoint uses).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './pixel-shuffle.wgsl';

export const pixelShuffleKernel: KernelSpec = { name: 'pixel_shuffle', source, uniforms: ['grid:u32', 'dim:u32'] };

export function pixelShuffle(ctx: GpuContext, x: GPUBuffer, out: GPUBuffer, grid: number, dim: number): void {
  if (grid % 2 !== 0) throw new Error(`pixel shuffle needs an even patch grid, got ${grid}`);
  const groups = Math.ceil((grid * grid * dim) / 256);
  ctx.dispatch({ kernel: pixelShuffleKernel, params: { grid, dim }, bindings: [x, out], workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)] });
}
