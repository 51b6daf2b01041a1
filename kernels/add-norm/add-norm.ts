// x += a (+ the k routed expert outputs), then h = rmsnorm(x) · weight: the end of one block and the start of the
// next in one dispatch.
import { growingScratch, type GpuContext, type KernelSpec } from '../runtime.ts';
import { rowGrid } from '../rmsnorm/rmsnorm.ts';
import source from './add-norm.wgsl';
import sumSource from './add-norm-sum.wgsl';
import scaleSource from './add-norm-scale.wgsl';

export const addNormKernel: KernelSpec = { name: 'add_norm', source, uniforms: ['tokens:u32', 'dim:u32', 'k:u32', 'eps:f32'] };
/** the two passes of the few-token GPU variant: residual update + partial sums of squares, then the scaling */
export const addNormSumKernel: KernelSpec = { name: 'add_norm_sum', source: sumSource, uniforms: ['dim:u32', 'k:u32'] };
export const addNormScaleKernel: KernelSpec = { name: 'add_norm_scale', source: scaleSource, uniforms: ['dim:u32', 'eps:f32'] };

/** up to this many tokens, GPUs take the two-pass variant over many workgroups (decode) */
const SPLIT_MAX_TOKENS = 4;
/** threads per workgroup of the two passes, one vec4 each */
const SPLIT_WG = 64;

/** Whether addNorm takes the two-pass variant (GPU, few tokens) rather than one workgroup per token. */
export function addNormSplits(ctx: GpuContext, tokens: number): boolean {
  return !ctx.cpuKernels && tokens <= SPLIT_MAX_TOKENS;
}

/** partial sums of squares; grown, never replaced by a smaller one (recorded work may still read it) */
const partialsBuffer = growingScratch('add-norm partials', 1024);
const partials = (ctx: GpuContext, floats: number) => partialsBuffer(ctx, floats * 4);

export function addNorm(
  ctx: GpuContext,
  x: GPUBuffer,
  a: GPUBuffer,
  routed: { b: GPUBuffer; k: number } | null,
  weight: GPUBuffer,
  h: GPUBuffer,
  tokens: number,
  dim: number,
  eps: number,
): void {
  if (dim % 4 !== 0) throw new Error(`addNorm: dimension ${dim} is not a multiple of 4`);
  if (addNormSplits(ctx, tokens)) {
    const groups = Math.ceil(dim / 4 / SPLIT_WG);
    const part = partials(ctx, SPLIT_MAX_TOKENS * groups);
    const k = routed?.k ?? 0;
    ctx.dispatch({ kernel: addNormSumKernel, params: { dim, k }, bindings: [x, a, routed?.b ?? ctx.emptyBuffer(), part], workgroups: [groups, tokens], constants: { WG: SPLIT_WG } });
    ctx.dispatch({ kernel: addNormScaleKernel, params: { dim, eps }, bindings: [x, weight, part, h], workgroups: [groups, tokens], constants: { WG: SPLIT_WG } });
    return;
  }
  ctx.dispatch({
    kernel: addNormKernel,
    params: { tokens, dim, k: routed?.k ?? 0, eps },
    bindings: [x, a, routed?.b ?? ctx.emptyBuffer(), weight, h],
    workgroups: rowGrid(tokens),
    constants: { WG: ctx.cpuKernels ? 1 : 256 },
  });
}
