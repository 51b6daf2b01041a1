// RoPE + QK norm (or the NoPE layers' attention temperature) on the new q and k heads out of the fused Q/K/V
// projection, and the k/v cache writes, in one dispatch per layer (qk-prep.wgsl).
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './qk-prep.wgsl';
import { kvF32Include, kvFormatKernel } from '../attention/kv-kernels.ts';
import type { KvFormat } from '../attention/kv-format.ts';

export const qkPrepKernel: KernelSpec = {
  name: 'qk_prep',
  source,
  uniforms: ['tokens:u32', 'heads:u32', 'kvHeads:u32', 'headDim:u32', 'startPos:u32', 'cacheLen:u32', 'eps:f32'],
  includes: [kvF32Include],
};

export interface QkPrepCall {
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  startPos: number;
  cacheLen: number;
  eps: number;
  /** RoPE layer: rotate q and k (with the cos/sin table), then QK-norm them when qkNorm */
  rope: boolean;
  qkNorm: boolean;
  /** NoPE layer with temperature tuning: scale q by temperatures[t] */
  temperature: boolean;
  /** the caches' element form (kernels/attention/kv-format.ts; default f32) */
  kvFormat?: KvFormat;
}

/** q ← the prepared q heads of qkv ([tokens, (heads + 2·kvHeads)·headDim]); k and v heads into the caches. */
export function qkPrep(ctx: GpuContext, qkv: GPUBuffer, q: GPUBuffer, ropeTable: GPUBuffer, temperatures: GPUBuffer, kCache: GPUBuffer, vCache: GPUBuffer, c: QkPrepCall): void {
  if (c.tokens > c.cacheLen) throw new Error(`qkPrep: ${c.tokens} tokens do not fit a cache of ${c.cacheLen}`);
  if (c.headDim % 2 !== 0) throw new Error(`qkPrep: head dimension ${c.headDim} is odd`);
  ctx.dispatch({
    kernel: kvFormatKernel(qkPrepKernel, c.kvFormat),
    params: { tokens: c.tokens, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, startPos: c.startPos, cacheLen: c.cacheLen, eps: c.eps },
    bindings: [qkv, q, ropeTable, temperatures, kCache, vCache],
    workgroups: [c.heads + c.kvHeads, c.tokens],
    constants: { ROPE: c.rope ? 1 : 0, QK_NORM: c.qkNorm ? 1 : 0, TEMPERATURE: c.temperature ? 1 : 0, WG: ctx.cpuKernels ? 1 : 64 },
  });
}
