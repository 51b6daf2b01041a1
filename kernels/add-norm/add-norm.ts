// xOut = x + a (+ the k routed expert outputs), then h = rmsnorm(xOut) · weight: the end of one block and the start
// of the next in one dispatch. The residual goes to another buffer than it comes from (the model alternates two):
// for a few tokens on GPUs the dispatch splits each row over many workgroups that all read the whole row, so none may
// write over it. At decode the MoE router's mat-vec can ride along (its logits from the h this dispatch makes).
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import { rowGrid } from '../rmsnorm/rmsnorm.ts';
import { routerColumnThreads, routerFusable } from '../router/router.ts';
import type { LinearWeight } from '../linear/linear.ts';
import source from './add-norm.wgsl';
import { xqSubgroupWidth, xqWriteIncludes } from '../linear/quantize-x.ts';
import routerSum from '../router/router-sum.wgsl';
import workgroupSum from './workgroup-sum.wgsl';
import residualUpdate from './residual-update.wgsl';
import workgroupSumSubgroups from './workgroup-sum-subgroups.wgsl';

const uniforms = ['tokens:u32', 'dim:u32', 'eps:f32', 'groups:u32'] as const;
export const addNormKernel: KernelSpec = { name: 'add_norm', source, uniforms, includes: [...xqWriteIncludes(false), routerSum, workgroupSum, residualUpdate] };
/**
 * the same with the sum of squares and (XQ_OUT) each block's max and Σ X through subgroup shuffles
 * (GpuContext.subgroups, WG ≥ 128; XQ_SG: quantize-x.ts xqSubgroupWidth)
 */
export const addNormSubgroupsKernel: KernelSpec = { name: 'add_norm_subgroups', source, uniforms, includes: [...xqWriteIncludes(true), routerSum, workgroupSumSubgroups, residualUpdate], enables: ['subgroups'] };

/**
 * The few-token GPU launch shape (decode): up to maxTokens tokens, each row's slices of `threads` vec4s (one per
 * thread) go to workgroups of `threads` threads, every one of which also reads the whole row for its sum of squares
 * (Scout's 5120 = 5 workgroups per token, each re-reading 40–60 KB from L2, 5 vec4s of each input per thread). Tune
 * on the GPU.
 */
export const ADD_NORM_SPLIT = { maxTokens: 4, threads: 256 } as const;

/** The few-token GPU launch (ADD_NORM_SPLIT; one slice per workgroup, one workgroup for rows of ≤ one slice). */
function fewTokenLaunch(ctx: GpuContext, tokens: number): boolean {
  return !ctx.cpuKernels && tokens <= ADD_NORM_SPLIT.maxTokens;
}

/** Workgroups per token: several on GPUs for a few tokens, else one per token. */
export function addNormGroups(ctx: GpuContext, tokens: number, dim: number): number {
  return fewTokenLaunch(ctx, tokens) ? Math.ceil(dim / 4 / ADD_NORM_SPLIT.threads) : 1;
}

/** A MoE router whose logits addNorm computes from the h it makes: weight [experts, dim] f32, logits [tokens, experts]. */
export interface AddNormRouter {
  weight: LinearWeight;
  logits: GPUBuffer;
}

/**
 * Whether addNorm takes this router for `tokens` tokens: the few-token GPU launch and a router that
 * router_matvec.wgsl takes (router.ts routerFusable: f32, ≤ 256 experts, one segment); its logits are then
 * routerMatvec's on the h that addNorm writes, with no dispatch of their own.
 */
export function addNormRouterFusable(ctx: GpuContext, router: LinearWeight, tokens: number): boolean {
  return fewTokenLaunch(ctx, tokens) && routerFusable(ctx, router, tokens, 1) && routerColumnThreads(router.rows) <= ADD_NORM_SPLIT.threads;
}

/** x and xOut must be different buffers; a, the routed rows and h must be neither. */
export function addNorm(
  ctx: GpuContext,
  x: GPUBuffer,
  xOut: GPUBuffer,
  a: GPUBuffer,
  routed: { b: GPUBuffer; k: number } | null,
  weight: GPUBuffer,
  h: GPUBuffer,
  tokens: number,
  dim: number,
  eps: number,
  /** also h in the integer form of quantize-x.ts (the q4 mat-vecs' input), when given (GPU kernels, dim % 32 = 0) */
  hq: GPUBuffer | null = null,
  /** also this router's logits of h (addNormRouterFusable; E · tokens more workgroups), when given */
  router: AddNormRouter | null = null,
): void {
  if (dim % 4 !== 0) throw new Error(`addNorm: dimension ${dim} is not a multiple of 4`);
  if (x === xOut) throw new Error('addNorm: the residual must go to another buffer than it is read from');
  const groups = addNormGroups(ctx, tokens, dim);
  const split = groups > 1;
  if (hq && (ctx.cpuKernels || dim % 32 !== 0)) throw new Error('addNorm: h in integer form needs GPU kernels and a width in blocks of 32');
  if (router && !(addNormRouterFusable(ctx, router.weight, tokens) && router.weight.cols === dim)) {
    throw new Error(`addNorm: the router ${router.weight.name} (${router.weight.rows}×${router.weight.cols}, ${router.weight.format}) does not fold into add-norm over ${tokens} tokens of ${dim} here (GPU kernels, ≤ ${ADD_NORM_SPLIT.maxTokens} tokens, an f32 router of ≤ 256 experts in one segment over the same width)`);
  }
  if (router && routed && routed.k > 0) throw new Error('addNorm: a router rides only an add-norm without routed rows (the post-attention one)');
  const experts = router?.weight.rows ?? 0;
  const CT = routerColumnThreads(experts);
  const WG = ctx.cpuKernels ? 1 : split ? ADD_NORM_SPLIT.threads : 256;
  const k = routed?.k ?? 0;
  const subgroups = ctx.subgroups && WG >= 128;
  ctx.dispatch({
    kernel: subgroups ? addNormSubgroupsKernel : addNormKernel,
    params: { tokens, dim, eps, groups },
    // with a router, b holds its weight (no routed rows then): 8 storage buffers, the WebGPU default limit
    bindings: [x, a, router ? router.weight.segments[0].weights : (routed?.b ?? ctx.emptyBuffer()), weight, xOut, h, hq ?? ctx.emptyBuffer(1), router?.logits ?? ctx.emptyBuffer(2)],
    workgroups: rowGrid(tokens * groups + experts * tokens),
    constants: {
      WG,
      STEPS: ceilDiv(dim / 4, WG),
      ...(k > 0 ? { K: k } : {}),
      ...(hq ? { XQ_OUT: 1 } : {}),
      ...(subgroups ? { XQ_SG: xqSubgroupWidth(ctx) } : {}),
      ...(router ? { ROUTER_E: experts, ROUTER_CT: CT, ROUTER_STEPS: ceilDiv(dim / 4, CT) } : {}),
    },
  });
}
