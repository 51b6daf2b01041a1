// CPU reference for addNorm(): the residual update (residualRef), then the RMSNorm (rmsnormRef).
import { residualRef } from '../residual/residual.ref.ts';
import { rmsnormRef } from '../rmsnorm/rmsnorm.ref.ts';

export function addNormRef(x: Float32Array, a: Float32Array, b: Float32Array | null, k: number, weight: Float32Array, tokens: number, dim: number, eps: number): { x: Float32Array; h: Float32Array } {
  const x2 = residualRef(x, a, tokens, dim, b ?? undefined, k);
  return { x: x2, h: rmsnormRef(x2, weight, tokens, dim, eps) };
}
