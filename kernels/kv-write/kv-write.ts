// Writes new keys/values into a layer's KV cache ring.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './kv-write.wgsl';

export const kvWriteKernel: KernelSpec = { name: 'kv_write', source, uniforms: ['tokens:u32', 'width:u32', 'startPos:u32', 'cacheLen:u32'] };

export function kvWrite(ctx: GpuContext, src: GPUBuffer, cache: GPUBuffer, tokens: number, width: number, startPos: number, cacheLen: number): void {
  if (tokens > cacheLen) throw new Error(`kvWrite: ${tokens} tokens do not fit a cache of ${cacheLen}`);
  const groups = Math.ceil((tokens * width) / 256);
  ctx.dispatch({
    kernel: kvWriteKernel,
    params: { tokens, width, startPos, cacheLen },
    bindings: [src, cache],
    workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)],
  });
}
