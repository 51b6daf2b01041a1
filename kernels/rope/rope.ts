// RoPE (interleaved pairs) with the llama3 frequency scaling; the cos/sin table is built on the CPU.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import source from './rope.wgsl';

export const ropeKernel: KernelSpec = { name: 'rope', source, uniforms: ['tokens:u32', 'heads:u32', 'headDim:u32'] };

export interface RopeScaling {
  type: 'default' | 'llama3';
  factor?: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositionEmbeddings?: number;
}

const fr = Math.fround;

/** inv_freq[i] = theta^(−2i/dim) in f32, then llama3 scaling (HF _compute_llama3_parameters). */
export function ropeInvFreq(theta: number, dim: number, scaling: RopeScaling): Float32Array {
  const inv = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = fr(1 / fr(theta ** fr((2 * i) / dim)));
  if (scaling.type !== 'llama3') return inv;
  const factor = scaling.factor!, low = scaling.lowFreqFactor!, high = scaling.highFreqFactor!;
  const orig = scaling.originalMaxPositionEmbeddings!;
  const lowWavelen = orig / low, highWavelen = orig / high;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen < highWavelen) continue;
    if (wavelen > lowWavelen) {
      inv[i] = fr(inv[i] / factor);
    } else {
      const s = (orig / wavelen - low) / (high - low);
      inv[i] = fr(((1 - s) * inv[i]) / factor + s * inv[i]);
    }
  }
  return inv;
}

/** cos/sin pairs [positions.length, dim/2] for θ = fround(pos · inv_freq), as HF's f32 product. */
export function ropeTable(invFreq: Float32Array, positions: ArrayLike<number>): Float32Array {
  const half = invFreq.length;
  const out = new Float32Array(positions.length * half * 2);
  for (let t = 0; t < positions.length; t++) {
    for (let i = 0; i < half; i++) {
      const angle = fr(positions[t] * invFreq[i]);
      out[(t * half + i) * 2] = Math.cos(angle);
      out[(t * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return out;
}

export function rope(ctx: GpuContext, x: GPUBuffer, table: GPUBuffer, tokens: number, heads: number, headDim: number): void {
  const groups = Math.ceil((tokens * heads * headDim) / 2 / 256);
  ctx.dispatch({
    kernel: ropeKernel,
    params: { tokens, heads, headDim },
    bindings: [x, table],
    workgroups: [Math.min(groups, 65535), Math.ceil(groups / 65535)],
  });
}
