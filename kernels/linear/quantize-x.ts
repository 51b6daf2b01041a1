// x in the integer form of the q4 mat-vec's integer-dot path (quantize-x.wgsl): one dispatch per mat-vec input.
import { ceilDiv, growingScratch, type GpuContext, type KernelSpec } from '../runtime.ts';
import source from './quantize-x.wgsl';
import xqBlock from './xq-block.wgsl';
import xqReduce from './xq-reduce.wgsl';

export const quantizeXKernel: KernelSpec = { name: 'quantize_x', source, uniforms: ['blocks:u32'], includes: [xqBlock, xqReduce] };

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
  ctx.dispatch({ kernel: quantizeXKernel, params: { blocks }, bindings: [x, xq], workgroups: [ceilDiv(blocks, WG / 8), 1], constants: { WG } });
  return xq;
}
