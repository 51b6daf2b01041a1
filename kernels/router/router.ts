// Llama 4 MoE router: top-k on raw logits, sigmoid scores (applied later to the expert input).
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import source from './router.wgsl';
import matvecSource from './router_matvec.wgsl';
import routerSum from './router-sum.wgsl';
import topkWgSource from './router_topk_wg.wgsl';
import topk from './topk.wgsl';
import type { LinearWeight } from '../linear/linear.ts';

export const routerKernel: KernelSpec = { name: 'router_topk', source, uniforms: ['tokens:u32', 'experts:u32', 'k:u32'], includes: [topk] };
export const routerMatvecKernel: KernelSpec = { name: 'router_matvec', source: matvecSource, uniforms: ['experts:u32'], includes: [routerSum] };
export const routerTopKWgKernel: KernelSpec = { name: 'router_topk_wg', source: topkWgSource, uniforms: ['experts:u32', 'k:u32'] };

/** the most experts routerMatvecTopK takes (router_topk_wg.wgsl: one thread per expert, workgroup arrays of 256) */
const MATVEC_MAX_EXPERTS = 256;
const MATVEC_MAX_TOKENS = 4;

export function routeTopK(ctx: GpuContext, logits: GPUBuffer, ids: GPUBuffer, scores: GPUBuffer, tokens: number, experts: number, k: number): void {
  if (k > 8 || k > experts) throw new Error(`router: top-${k} of ${experts} experts is not supported (k ≤ 8)`);
  ctx.dispatch({ kernel: routerKernel, params: { tokens, experts, k }, bindings: [logits, ids, scores], workgroups: [ceilDiv(tokens, 64)] });
}

/** Whether routerMatvecTopK takes this router and batch: GPU kernel variants, decode-sized batches, an f32 router of ≤ 256 experts in one segment. */
export function routerFusable(ctx: GpuContext, router: LinearWeight, tokens: number, k: number): boolean {
  return !ctx.cpuKernels && tokens <= MATVEC_MAX_TOKENS && router.format === 'f32' && router.rows <= MATVEC_MAX_EXPERTS && router.segments.length === 1 && router.rowsPerExpert === undefined && k <= 8 && k <= router.rows;
}

/**
 * Column threads per router row in router_matvec.wgsl. For E ≤ 32 the single-workgroup router kernel this replaces
 * had CT = 256 / pow2(⌈E/8⌉) column threads per row (256 threads, 8 rows per thread), and its per-row sum order is
 * kept with the same CT: the same logits bit for bit. Larger routers (Maverick's 128 experts) take 128.
 */
export function routerColumnThreads(experts: number): number {
  if (experts > 32) return 128;
  let groups = 1;
  while (groups * 8 < experts) groups *= 2;
  return 256 / groups;
}

/** Threads of router_topk_wg.wgsl: a power of two ≥ experts, at least a 32-lane subgroup. */
function topkThreads(experts: number): number {
  let n = 32;
  while (n < experts) n *= 2;
  return n;
}

/**
 * Router logits (x · Wᵀ into `logits`) and routeTopK's ids and scores for a few tokens (decode), in two dispatches
 * that spread over the GPU: router_matvec.wgsl, one workgroup per (expert, token) (Scout: 16 workgroups of 128
 * threads, each reading one 20 KB row, instead of one workgroup reading the 320 KB router), then router_topk_wg.wgsl,
 * one workgroup per token (a tree over the experts). Same ids and scores as routeTopK on these logits, ties included.
 */
export function routerMatvecTopK(ctx: GpuContext, router: LinearWeight, x: GPUBuffer, logits: GPUBuffer, ids: GPUBuffer, scores: GPUBuffer, tokens: number, k: number): void {
  if (!routerFusable(ctx, router, tokens, k)) throw new Error(`router: ${router.name} does not fit the decode router kernels`);
  routerMatvec(ctx, router, x, logits, tokens);
  routeTopKWg(ctx, logits, ids, scores, tokens, router.rows, k);
}

/**
 * routerMatvecTopK's first dispatch alone, the logits (for kernels that pick the experts themselves:
 * kernels/linear/expert-route.wgsl).
 */
export function routerMatvec(ctx: GpuContext, router: LinearWeight, x: GPUBuffer, logits: GPUBuffer, tokens: number): void {
  if (!routerFusable(ctx, router, tokens, 1)) throw new Error(`router: ${router.name} does not fit the decode router kernels`);
  const experts = router.rows;
  const CT = routerColumnThreads(experts);
  const NV = router.cols / 4;
  ctx.dispatch({
    kernel: routerMatvecKernel,
    params: { experts },
    bindings: [router.segments[0].weights, x, logits],
    workgroups: [experts, tokens],
    constants: { CT, NV, STEPS: ceilDiv(NV, CT) },
  });
}

/** routeTopK with one workgroup per token (router_topk_wg.wgsl): for a few tokens on GPUs, experts ≤ 256. */
export function routeTopKWg(ctx: GpuContext, logits: GPUBuffer, ids: GPUBuffer, scores: GPUBuffer, tokens: number, experts: number, k: number): void {
  if (k > 8 || k > experts || experts > MATVEC_MAX_EXPERTS) throw new Error(`router: top-${k} of ${experts} experts is not supported (k ≤ 8, experts ≤ ${MATVEC_MAX_EXPERTS})`);
  ctx.dispatch({ kernel: routerTopKWgKernel, params: { experts, k }, bindings: [logits, ids, scores], workgroups: [tokens], constants: { WG: topkThreads(experts) } });
}
