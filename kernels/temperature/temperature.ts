// Llama 4 attention temperature tuning (queries only, NoPE layers).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './temperature.wgsl';

export const temperatureKernel: KernelSpec = { name: 'attn_temperature', source, uniforms: ['tokens:u32', 'width:u32'] };

const fr = Math.fround;

/** HF: log1p(floor((pos + 1) / floor_scale)) · attn_scale + 1, in f32. */
export function attentionTemperatures(positions: ArrayLike<number>, floorScale: number, attnScale: number): Float32Array {
  const out = new Float32Array(positions.length);
  for (let t = 0; t < positions.length; t++) {
    const f = Math.floor(fr(fr(positions[t] + 1) / floorScale));
    out[t] = fr(fr(fr(Math.log1p(f)) * fr(attnScale)) + 1);
  }
  return out;
}

export function applyTemperature(ctx: GpuContext, q: GPUBuffer, scale: GPUBuffer, tokens: number, width: number): void {
  const groups = Math.ceil((tokens * width) / 256);
  ctx.dispatch({
    kernel: temperatureKernel,
    params: { tokens, width },
    bindings: [q, scale],
    workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)],
  });
}
