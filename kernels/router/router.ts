// Llama 4 MoE router: top-k on raw logits, sigmoid scores (applied later to the expert input).
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import source from './router.wgsl';

export const routerKernel: KernelSpec = { name: 'router_topk', source, uniforms: ['tokens:u32', 'experts:u32', 'k:u32'] };

export function routeTopK(ctx: GpuContext, logits: GPUBuffer, ids: GPUBuffer, scores: GPUBuffer, tokens: number, experts: number, k: number): void {
  if (k > 8 || k > experts) throw new Error(`router: top-${k} of ${experts} experts is not supported (k ≤ 8)`);
  ctx.dispatch({ kernel: routerKernel, params: { tokens, experts, k }, bindings: [logits, ids, scores], workgroups: [ceilDiv(tokens, 64)] });
}
