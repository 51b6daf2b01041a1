// Llama 4 MoE router: top-k on raw logits, sigmoid scores (applied later to the expert input).
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import source from './router.wgsl';
import matvecSource from './router_matvec.wgsl';
import matvecReduce from '../linear/matvec-reduce.wgsl';
import topk from './topk.wgsl';
import type { LinearWeight } from '../linear/linear.ts';

export const routerKernel: KernelSpec = { name: 'router_topk', source, uniforms: ['tokens:u32', 'experts:u32', 'k:u32'], includes: [topk] };
export const routerMatvecKernel: KernelSpec = { name: 'router_matvec_topk', source: matvecSource, uniforms: ['cols:u32', 'experts:u32', 'k:u32'], includes: [matvecReduce, topk] };

/** the most experts routerMatvecTopK takes (one workgroup reads the whole router per token) */
const MATVEC_MAX_EXPERTS = 32;
const MATVEC_MAX_TOKENS = 4;

export function routeTopK(ctx: GpuContext, logits: GPUBuffer, ids: GPUBuffer, scores: GPUBuffer, tokens: number, experts: number, k: number): void {
  if (k > 8 || k > experts) throw new Error(`router: top-${k} of ${experts} experts is not supported (k ≤ 8)`);
  ctx.dispatch({ kernel: routerKernel, params: { tokens, experts, k }, bindings: [logits, ids, scores], workgroups: [ceilDiv(tokens, 64)] });
}

/** Whether routerMatvecTopK takes this router and batch: GPU kernel variants, decode-sized batches, a small router in one segment. */
export function routerFusable(ctx: GpuContext, router: LinearWeight, tokens: number, k: number): boolean {
  return !ctx.cpuKernels && tokens <= MATVEC_MAX_TOKENS && router.format === 'f32' && router.rows <= MATVEC_MAX_EXPERTS && router.segments.length === 1 && router.rowsPerExpert === undefined && k <= 8 && k <= router.rows;
}

/**
 * Router logits (x · Wᵀ into `logits`) and routeTopK's ids and scores in one dispatch, one workgroup per token
 * (decode: the router of Scout is 16 × 5120, 320 KB).
 */
export function routerMatvecTopK(ctx: GpuContext, router: LinearWeight, x: GPUBuffer, logits: GPUBuffer, ids: GPUBuffer, scores: GPUBuffer, tokens: number, k: number): void {
  if (!routerFusable(ctx, router, tokens, k)) throw new Error(`router: ${router.name} does not fit the fused router kernel`);
  const experts = router.rows;
  // R = 8 rows per thread; row groups a power of two (they divide the 256 threads)
  let groups = 1;
  while (groups * 8 < experts) groups *= 2;
  ctx.dispatch({
    kernel: routerMatvecKernel,
    params: { cols: router.cols, experts, k },
    bindings: [router.segments[0].weights, x, logits, ids, scores],
    workgroups: [tokens],
    constants: { WG: 256, CT: 256 / groups, R: 8 },
  });
}
