// A Llama 4 text model of any config with random weights made on the GPU (kernels/hash-fill): no CPU generation, no
// file, no upload, so Scout's 60 GB are ready in seconds. The weights take the engine's structure through the same
// assembly as a loaded checkpoint (assembleTextWeights), so the forward pass cannot tell them apart.
// Routed experts: `distinct` expert payloads are filled on the GPU and read back once into RAM (the pager's RAM tier
// serves them); expert e of layer l is payload (l·E + e) mod distinct, in resident pools (copied on the GPU) and in
// paged slots alike, so a resident and a paged run of one model compute the same tokens.
import type { GpuContext } from '../kernels/runtime.ts';
import { createLinear, destroyLinear, linearBytes, type LinearWeight } from '../kernels/linear/linear.ts';
import { copySlot, createLinearPool, readSlot } from '../kernels/linear/pool.ts';
import { hashFill } from '../kernels/hash-fill/hash-fill.ts';
import type { Q4Data } from '../kernels/linear/q4-format.ts';
import type { ModelConfig } from '../worker/model/config.ts';
import { formatFor, type MatrixPart } from '../worker/model/engine-tensors.ts';
import { assembleTextWeights, textWeightBytes, type MlpWeights, type TextWeights } from '../worker/model/weights.ts';
import type { ExpertSource } from '../worker/pager/pager.ts';
import type { WeightFormat as WeightMode } from '../kernels/linear/weight-format.ts';

/** q4 scales of ±[a/10, a] give weights of standard deviation ≈ 2.8·a; aim at 1/√cols (activations stay O(1)) */
const Q4_SCALE_AMP = 0.36;
/** f32 uniform in ±a has standard deviation a/√3 */
const F32_AMP = Math.sqrt(3);

export class SyntheticFiller {
  private seed = 1;
  constructor(private ctx: GpuContext) {}

  /** Fills every segment of a weight (q4: random nibbles and scales; f32: uniform values). */
  linear(w: LinearWeight): void {
    for (const s of w.segments) {
      if (w.format === 'q4') {
        hashFill(this.ctx, s.weights, s.weights.size, 0, this.seed++);
        hashFill(this.ctx, s.scales!, s.scales!.size, 1, this.seed++, Q4_SCALE_AMP / Math.sqrt(w.cols));
      } else {
        hashFill(this.ctx, s.weights, s.weights.size, 2, this.seed++, F32_AMP / Math.sqrt(w.cols));
      }
    }
    this.ctx.flush();
  }
}

/** Routed experts as a RAM tier: `distinct` payloads standing for every (layer, expert). */
export class SyntheticExperts implements ExpertSource {
  constructor(
    readonly payloads: MatrixPart[][],
    private numExperts: number,
  ) {}
  payloadOf(layer: number, expert: number): number {
    return (layer * this.numExperts + expert) % this.payloads.length;
  }
  async read(layer: number, expert: number): Promise<MatrixPart[]> {
    return this.payloads[this.payloadOf(layer, expert)];
  }
  bytesOf(parts: MatrixPart[]): number {
    return parts.reduce((s, p) => s + (p.data instanceof Float32Array ? p.data.byteLength : p.data.qs.byteLength + p.data.scales.byteLength), 0);
  }
}

export interface SyntheticModel {
  weights: TextWeights;
  experts: SyntheticExperts;
  /** bytes of one routed expert (gate_up + down) as stored on the GPU */
  expertBytes: number;
}

/**
 * Builds the text weights of `config`. `slots` expert slots per MoE layer (numExperts: resident, filled now; fewer:
 * paged, filled by the pager from `experts`). `distinctExperts` caps the expert payloads kept in RAM.
 */
export async function syntheticTextWeights(
  ctx: GpuContext,
  config: ModelConfig,
  mode: WeightMode,
  slots: number,
  distinctExperts: number,
  /** resident pools hold the payloads (as paged slots would); false: fresh random experts, filled faster */
  payloadExperts = true,
): Promise<SyntheticModel> {
  const c = config.text;
  const H = c.hiddenSize, F = c.intermediateSize, E = c.numExperts;
  const fill = new SyntheticFiller(ctx);
  const moeLayers = c.isMoe.map((m, l) => (m ? l : -1)).filter((l) => l >= 0);
  const paged = slots < E;
  const payloadCount = paged || payloadExperts ? Math.max(1, Math.min(distinctExperts, moeLayers.length * E)) : 1;
  // payloads: made on the GPU in a pool of their own, read back once for the RAM tier
  const payloadPool: MlpWeights | null = moeLayers.length
    ? { gateUp: createLinearPool(ctx, 'payload.gate_up', formatFor(mode, H), payloadCount, 2 * F, H), down: createLinearPool(ctx, 'payload.down', formatFor(mode, F), payloadCount, H, F) }
    : null;
  const payloads: MatrixPart[][] = [];
  if (payloadPool) {
    fill.linear(payloadPool.gateUp);
    fill.linear(payloadPool.down);
    for (let p = 0; p < payloadCount; p++) {
      const part = (name: string, w: LinearWeight, data: Float32Array | Q4Data): MatrixPart => ({ part: name, format: w.format, rows: w.rowsPerExpert!, cols: w.cols, data });
      payloads.push([part('gate_up', payloadPool.gateUp, await readSlot(ctx, payloadPool.gateUp, p)), part('down', payloadPool.down, await readSlot(ctx, payloadPool.down, p))]);
    }
  }
  const experts = new SyntheticExperts(payloads, E);
  const vectors = new Map<string, GPUBuffer>();
  const assembled = assembleTextWeights(config, {
    linear(key, rows, cols, f32) {
      const w = createLinear(ctx, key, f32 ? 'f32' : formatFor(mode, cols), rows, cols);
      fill.linear(w);
      return w;
    },
    stacked(name, parts, cols) {
      const w = createLinear(ctx, name, formatFor(mode, cols), parts.reduce((n, [, rows]) => n + rows, 0), cols);
      fill.linear(w);
      return w;
    },
    vector(key, n) {
      const v = ctx.upload(new Float32Array(n).fill(1), key);
      vectors.set(key, v);
      return v;
    },
    pool(l) {
      const p: MlpWeights = {
        gateUp: createLinearPool(ctx, `layers.${l}.experts.gate_up`, formatFor(mode, H), slots, 2 * F, H),
        down: createLinearPool(ctx, `layers.${l}.experts.down`, formatFor(mode, F), slots, H, F),
      };
      if (!paged && !payloadExperts) {
        fill.linear(p.gateUp);
        fill.linear(p.down);
      } else if (!paged) {
        for (let e = 0; e < E; e++) {
          const from = experts.payloadOf(l, e);
          copySlot(ctx, payloadPool!.gateUp, from, p.gateUp, e);
          copySlot(ctx, payloadPool!.down, from, p.down, e);
        }
        ctx.flush();
      }
      return p;
    },
    lmHead: () => null,
  });
  await ctx.settleWrites();
  const expertBytes = payloadPool ? linearBytes(payloadPool.gateUp) / payloadCount + linearBytes(payloadPool.down) / payloadCount : 0;
  if (payloadPool) [payloadPool.gateUp, payloadPool.down].forEach(destroyLinear);
  return { weights: { ...assembled, gpuBytes: textWeightBytes(assembled) }, experts, expertBytes };
}
