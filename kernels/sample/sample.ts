// Greedy / temperature / top-k / top-p sampling on the GPU; only the chosen id is read back.
// Semantics (sample.ref.ts is the reference), over logits l[0..vocab) of one row, banned ids getting −∞:
//   greedy (temperature = 0): argmax, lowest index on ties.
//   sampling: p_i ∝ exp((l_i − max)/T) over the tokens kept by top-k (the k largest logits) then top-p (the
//   smallest set of most likely tokens whose mass reaches top_p: i is kept iff the mass strictly above it is
//   < top_p); then the token where the running sum of kept p_i in vocabulary order passes u·Σp, u ∈ [0, 1) from the
//   caller's seeded generator.
// The vocabulary is spread over workgroups of SAMPLE_CHUNK logits (Scout: 99) in every pass but two selects:
//   sample_max         chunks  per chunk: max and argmax (when sampling, it also clears the histograms)
//   sample_argmax      1       greedy only: the argmax over the chunks into out[0]; nothing follows
//   sample_round × 4   chunks  top-k: radix-select rounds, 8 bits of the threshold each
//   sample_round × 4   chunks  top-p: the same over the masses
//   sample_round       chunks  the final threshold; each chunk's kept mass
//   sample_pick        1       the chunk, the thread, the token
// Greedy is 2 dispatches; sampling 3, plus 4 with top-k and 4 with top-p (the app's temperature + top-p: 7). Each
// round's selection is finished at the start of the next dispatch by all its workgroups (sample_round.wgsl).
import { ceilDiv, growingScratch, type GpuContext, type KernelSpec } from '../runtime.ts';
import common from './sample-common.wgsl';
import maxSource from './sample_max.wgsl';
import argmaxSource from './sample_argmax.wgsl';
import roundSource from './sample_round.wgsl';
import pickSource from './sample_pick.wgsl';

const uniforms = ['vocab:u32', 'offset:u32', 'nBanned:u32', 'topK:u32', 'temperature:f32', 'topP:f32', 'u:f32'] as const;
export const sampleMaxKernel: KernelSpec = { name: 'sample_max', source: maxSource, uniforms, includes: [common] };
export const sampleArgmaxKernel: KernelSpec = { name: 'sample_argmax', source: argmaxSource, uniforms, includes: [common] };
export const sampleRoundKernel: KernelSpec = { name: 'sample_round', source: roundSource, uniforms, includes: [common] };
export const samplePickKernel: KernelSpec = { name: 'sample_pick', source: pickSource, uniforms, includes: [common] };

/** logits per workgroup (sample-common.wgsl's CHUNK) */
export const SAMPLE_CHUNK = 2048;
/** sample-common.wgsl: the state words before the per-chunk ones, and hist's size */
const WORK_STATE = 32;
const HIST_WORDS = 3072;
/** sample_round.wgsl's stages: top-k round r, top-p round r, the kept masses; NONE: no stage before */
const TOP_K = 0, TOP_P = 4, MASS = 8, NONE = 0xffffffff;

const workScratch = growingScratch('sample work');
const histScratch = growingScratch('sample hist');

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

/**
 * Records the choice of the next token from logits[offset .. offset+vocab) into out[0]. The dispatches depend only
 * on whether it samples and whether top-k and top-p are on; scratch buffers are the context's own.
 */
export function sampleToken(ctx: GpuContext, logits: GPUBuffer, offset: number, vocab: number, banned: GPUBuffer | null, nBanned: number, out: GPUBuffer, p: SampleParams): void {
  const chunks = ceilDiv(vocab, SAMPLE_CHUNK);
  const sampling = p.temperature > 0;
  const topK = sampling && p.topK > 0 && p.topK < vocab;
  const topP = sampling && p.topP < 1;
  const params = { vocab, offset, nBanned: banned ? nBanned : 0, topK: topK ? p.topK : 0, temperature: p.temperature, topP: Math.min(p.topP, 1), u: p.u };
  const bindings = [logits, banned ?? ctx.emptyBuffer(), out, workScratch(ctx, (WORK_STATE + 3 * chunks) * 4), histScratch(ctx, HIST_WORDS * 4)];
  ctx.dispatch({ kernel: sampleMaxKernel, params, bindings, workgroups: [chunks] });
  if (!sampling) {
    ctx.dispatch({ kernel: sampleArgmaxKernel, params, bindings, workgroups: [1] });
    return;
  }
  let prev = NONE;
  const round = (stage: number) => {
    ctx.dispatch({ kernel: sampleRoundKernel, params, bindings, workgroups: [chunks], constants: { STAGE: stage, PREV: prev } });
    prev = stage;
  };
  if (topK) for (let r = 0; r < 4; r++) round(TOP_K + r);
  if (topP) for (let r = 0; r < 4; r++) round(TOP_P + r);
  round(MASS);
  ctx.dispatch({ kernel: samplePickKernel, params, bindings, workgroups: [1] });
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
