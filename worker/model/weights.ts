// Llama 4 text weights on the GPU, built from a stream of engine tensors (engine-tensors.ts): from a checkpoint
// (quantized on the way when q4) or from a weight package (already quantized). Routed experts go to an
// ExpertSink: straight into a GPU pool with one slot per expert (resident), or to a pager's RAM tier.
import { EngineError } from '../../protocol/errors.ts';
import { linearBytes, destroyLinear, type LinearWeight } from '../../kernels/linear/linear.ts';
import { createLinearPool, writeSlot } from '../../kernels/linear/pool.ts';
import { uploadMatrix } from '../../kernels/linear/upload.ts';
import type { GpuContext } from '../../kernels/runtime.ts';
import type { ModelConfig } from './config.ts';
import { keys, type EngineTensor, type MatrixPart } from './engine-tensors.ts';

export interface AttentionWeights {
  q: LinearWeight; // [heads·headDim, hidden]
  k: LinearWeight; // [kvHeads·headDim, hidden]
  v: LinearWeight; // [kvHeads·headDim, hidden]
  o: LinearWeight; // [hidden, heads·headDim]
}

export interface MlpWeights {
  gateUp: LinearWeight; // [2F, hidden]: gate rows, then up rows
  down: LinearWeight; // [hidden, F]
}

export interface MoeWeights {
  router: LinearWeight; // [experts, hidden], always f32
  /** expert slot pools: gateUp [slots·2F, hidden], down [slots·hidden, F] (rowsPerExpert set) */
  experts: MlpWeights;
  shared: MlpWeights;
}

export interface LayerWeights {
  inputNorm: GPUBuffer; // [hidden]
  postAttentionNorm: GPUBuffer; // [hidden]
  attention: AttentionWeights;
  ffn: { kind: 'moe'; moe: MoeWeights } | { kind: 'dense'; mlp: MlpWeights };
}

export interface TextWeights {
  embedTokens: LinearWeight; // [vocab, hidden]
  layers: LayerWeights[];
  norm: GPUBuffer; // [hidden]
  lmHead: LinearWeight; // [vocab, hidden]
  gpuBytes: number;
}

/** Where routed experts go as they stream in. */
export interface ExpertSink {
  /** slots of the GPU pool of each MoE layer */
  slotsPerLayer: number;
  /** receives expert e of layer l; returns the slot it was written to, or null when it stays off the GPU */
  accept(layer: number, expert: number, parts: MatrixPart[], pools: MlpWeights): number | null;
}

/** Every expert in its own slot: slot e holds expert e (no paging). */
export function residentExperts(numExperts: number, ctx: GpuContext): ExpertSink {
  return {
    slotsPerLayer: numExperts,
    accept(_layer, expert, parts, pools) {
      writeSlot(ctx, pools.gateUp, expert, parts[0].data);
      writeSlot(ctx, pools.down, expert, parts[1].data);
      return expert;
    },
  };
}

export async function loadTextWeights(
  ctx: GpuContext,
  config: ModelConfig,
  tensors: AsyncIterable<EngineTensor>,
  experts: ExpertSink,
): Promise<TextWeights> {
  const c = config.text;
  const H = c.hiddenSize;
  const linears = new Map<string, LinearWeight>();
  const vectors = new Map<string, GPUBuffer>();
  const pools = new Map<number, MlpWeights>();
  const poolFor = (l: number, t: EngineTensor): MlpWeights => {
    let p = pools.get(l);
    if (!p) {
      const [gu, down] = t.parts;
      p = {
        gateUp: createLinearPool(ctx, `layers.${l}.experts.gate_up`, gu.format, experts.slotsPerLayer, gu.rows, gu.cols),
        down: createLinearPool(ctx, `layers.${l}.experts.down`, down.format, experts.slotsPerLayer, down.rows, down.cols),
      };
      pools.set(l, p);
    }
    return p;
  };
  const release = () => {
    linears.forEach(destroyLinear);
    vectors.forEach((b) => b.destroy());
    pools.forEach((p) => [p.gateUp, p.down].forEach(destroyLinear));
  };
  try {
    for await (const t of tensors) {
      const part = t.parts[0];
      if (t.kind === 'vector') {
        if (part.data instanceof Float32Array) vectors.set(t.key, ctx.upload(part.data, t.key));
        else throw new EngineError('bad-model', `${t.key}: a norm weight must be f32`);
      } else if (t.kind === 'linear') {
        linears.set(t.key, uploadMatrix(ctx, t.key, part.format, part.rows, part.cols, part.data));
      } else {
        experts.accept(t.layer!, t.expert!, t.parts, poolFor(t.layer!, t));
      }
    }
    const linear = (key: string) => {
      const w = linears.get(key);
      if (!w) throw new EngineError('bad-model', `the model has no ${key}`);
      return w;
    };
    const vector = (key: string) => {
      const v = vectors.get(key);
      if (!v) throw new EngineError('bad-model', `the model has no ${key}`);
      return v;
    };
    const layers: LayerWeights[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const attention = { q: linear(keys.attention(l, 'q')), k: linear(keys.attention(l, 'k')), v: linear(keys.attention(l, 'v')), o: linear(keys.attention(l, 'o')) };
      let ffn: LayerWeights['ffn'];
      if (c.isMoe[l]) {
        const pool = pools.get(l);
        if (!pool) throw new EngineError('bad-model', `the model has no routed experts for layer ${l}`);
        ffn = { kind: 'moe', moe: { router: linear(keys.router(l)), experts: pool, shared: { gateUp: linear(keys.shared(l, 'gate_up')), down: linear(keys.shared(l, 'down')) } } };
      } else {
        ffn = { kind: 'dense', mlp: { gateUp: linear(keys.mlp(l, 'gate_up')), down: linear(keys.mlp(l, 'down')) } };
      }
      layers.push({ inputNorm: vector(keys.inputNorm(l)), postAttentionNorm: vector(keys.postAttentionNorm(l)), attention, ffn });
    }
    const embedTokens = linear(keys.embed);
    const lmHead = linears.get(keys.lmHead) ?? (c.tieWordEmbeddings ? embedTokens : linear(keys.lmHead));
    const poolBytes = [...pools.values()].reduce((s, p) => s + linearBytes(p.gateUp) + linearBytes(p.down), 0);
    const gpuBytes = [...linears.values()].reduce((s, w) => s + linearBytes(w), 0) + poolBytes + vectors.size * H * 4;
    return { embedTokens, layers, norm: vector(keys.norm), lmHead, gpuBytes };
  } catch (e) {
    release();
    throw e;
  }
}

export function destroyTextWeights(w: TextWeights): void {
  destroyLinear(w.embedTokens);
  if (w.lmHead !== w.embedTokens) destroyLinear(w.lmHead);
  w.norm.destroy();
  for (const l of w.layers) {
    l.inputNorm.destroy();
    l.postAttentionNorm.destroy();
    Object.values(l.attention).forEach(destroyLinear);
    if (l.ffn.kind === 'moe') {
      const m = l.ffn.moe;
      [m.router, m.experts.gateUp, m.experts.down, m.shared.gateUp, m.shared.down].forEach(destroyLinear);
    } else {
      [l.ffn.mlp.gateUp, l.ffn.mlp.down].forEach(destroyLinear);
    }
  }
}
