// Greedy / temperature / top-k / top-p sampling on the GPU; only the chosen id is read back.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './sample.wgsl';

export const sampleKernel: KernelSpec = {
  name: 'sample',
  source,
  uniforms: ['vocab:u32', 'offset:u32', 'nBanned:u32', 'topK:u32', 'temperature:f32', 'topP:f32', 'u:f32'],
};

export interface SampleParams {
  /** 0 = greedy */
  temperature: number;
  /** 0 = off */
  topK: number;
  /** ≥ 1 = off */
  topP: number;
  /** uniform random number in [0, 1) */
  u: number;
}

/** Records the choice of the next token from logits[offset .. offset+vocab) into out[0]. */
export function sampleToken(ctx: GpuContext, logits: GPUBuffer, offset: number, vocab: number, banned: GPUBuffer | null, nBanned: number, out: GPUBuffer, p: SampleParams): void {
  ctx.dispatch({
    kernel: sampleKernel,
    params: { vocab, offset, nBanned: banned ? nBanned : 0, topK: p.topK, temperature: p.temperature, topP: Math.min(p.topP, 1), u: p.u },
    bindings: [logits, banned ?? ctx.emptyBuffer(), out],
    workgroups: [1],
  });
}

/** A small seeded generator (xorshift128+ style over 32-bit words) for the sampler's uniform numbers. */
export function seededRandom(seed: number): () => number {
  let a = (seed >>> 0) ^ 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = (seed * 2654435761) >>> 0;
  return () => {
    const t = a ^ (a << 11);
    a = b; b = c; c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d / 4294967296;
  };
}
