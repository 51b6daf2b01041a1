// x in the integer form of the q4 mat-vec's integer-dot path (quantize-x.wgsl): one dispatch per mat-vec input.
import { ceilDiv, growingScratch, type GpuContext, type KernelSpec } from '../runtime.ts';
import source from './quantize-x.wgsl';
import xqBlock from './xq-block.wgsl';
import xqReduce from './xq-reduce.wgsl';
import xqReduceSubgroups from './xq-reduce-subgroups.wgsl';
import xqWrite from './xq-write.wgsl';

/** the includes that give a kernel xq_write: xq-block.wgsl, the block reduction without or with subgroups, xq-write.wgsl */
export function xqWriteIncludes(subgroups: boolean): string[] {
  return [xqBlock, subgroups ? xqReduceSubgroups : xqReduce, xqWrite];
}

export const quantizeXKernel: KernelSpec = { name: 'quantize_x', source, uniforms: ['blocks:u32'], includes: xqWriteIncludes(false) };
/** the same with the block's max and Σ X by subgroup shuffles (xq-reduce-subgroups.wgsl; GpuContext.subgroups) */
export const quantizeXSubgroupsKernel: KernelSpec = { name: 'quantize_x_subgroups', source, uniforms: ['blocks:u32'], includes: xqWriteIncludes(true), enables: ['subgroups'] };

/**
 * xq-reduce-subgroups.wgsl's XQ_SG on this context: min(8, the smallest subgroup size), 8 (no barrier) on GPUs with
 * subgroups of ≥ 8 (NVIDIA 32), 4 on SwiftShader (shuffles, then two barriers); 0 without subgroups (xq-reduce.wgsl).
 */
export function xqSubgroupWidth(ctx: Pick<GpuContext, 'subgroups' | 'subgroupMinSize'>): number {
  return ctx.subgroups && ctx.subgroupMinSize >= 4 ? Math.min(8, ctx.subgroupMinSize) : 0;
}

/** bytes of the integer form of one block of 32 x values (7 vec4<u32>) */
export const XQ_BLOCK_BYTES = 112;
const WG = 256;

/** scratch for the integer form (a mat-vec reads it right after; the next quantizeX waits for that in the pass) */
const scratch = growingScratch('x (integer form)', XQ_BLOCK_BYTES);

/** Whether linear() and the expert MLP read x in integer form on this context (GPU kernels, WGSL's 4×8-bit dot product). */
export function integerDotPath(ctx: GpuContext, cols: number): boolean {
  return ctx.integerDot && !ctx.cpuKernels && cols % 32 === 0;
}

/** The integer form of `rows` rows of `cols` values of x (back to back), in the context's scratch buffer. */
export function quantizeX(ctx: GpuContext, x: GPUBuffer, rows: number, cols: number): GPUBuffer {
  if (cols % 32 !== 0) throw new Error(`quantizeX: ${cols} columns is not a multiple of 32`);
  const blocks = (rows * cols) / 32;
  const xq = scratch(ctx, blocks * XQ_BLOCK_BYTES);
  const sg = xqSubgroupWidth(ctx);
  ctx.dispatch({
    kernel: sg ? quantizeXSubgroupsKernel : quantizeXKernel,
    params: { blocks },
    bindings: [x, xq],
    workgroups: [ceilDiv(blocks, WG / 8), 1],
    constants: sg ? { WG, XQ_SG: sg } : { WG },
  });
  return xq;
}
