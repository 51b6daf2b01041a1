// GQA attention over the KV cache with the chunked (RoPE layers) or full causal (NoPE layers) mask.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './attention.wgsl';

export const attentionKernel: KernelSpec = {
  name: 'attention',
  source,
  uniforms: ['heads:u32', 'kvHeads:u32', 'headDim:u32', 'startPos:u32', 'cacheLen:u32', 'chunk:u32', 'scale:f32'],
};

export interface AttentionCall {
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** absolute position of the first query */
  startPos: number;
  /** slots in the cache ring */
  cacheLen: number;
  /** attention chunk size, or 0 for full causal attention */
  chunk: number;
  /** every query sees every key in the cache (vision encoder); cacheLen is then the key count */
  bidirectional?: boolean;
}

export function attention(ctx: GpuContext, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, out: GPUBuffer, c: AttentionCall): void {
  if (c.headDim > 256) throw new Error(`attention: head_dim ${c.headDim} > 256 is not supported`);
  if (c.heads % c.kvHeads !== 0) throw new Error(`attention: ${c.heads} heads are not a multiple of ${c.kvHeads} KV heads`);
  ctx.dispatch({
    kernel: attentionKernel,
    params: { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, startPos: c.startPos, cacheLen: c.cacheLen, chunk: Math.max(1, c.chunk), scale: 1 / Math.sqrt(c.headDim) },
    bindings: [q, k, v, out],
    workgroups: [c.heads, c.tokens],
    constants: { CHUNKED: c.chunk > 0 ? 1 : 0, BIDIRECTIONAL: c.bidirectional ? 1 : 0, TILE: ctx.cpuKernels && c.headDim <= 128 ? 8 : 64 },
  });
}
