// What a model costs, from its config alone (before any download): parameters, bytes as the engine stores them,
// the spec's int4 accounting (llama4-spec.md §6), the KV cache, and the per-layer schedule.
// Shapes follow llama4-spec.md §5.1 / HF modeling_llama4.py.
import type { WeightFormat } from '../../kernels/linear/weight-format.ts';
import type { ModelConfig } from './config.ts';
import { weightBytes } from '../../kernels/linear/q4-format.ts';
import { kvBytesPerElement, type KvFormat } from '../../kernels/attention/kv-format.ts';

/** One group of tensors. */
export interface Part {
  params: number;
  /** bytes as the engine stores them in the plan's weight mode: q4 = 18 B per 32 weights where the input dim is a multiple of 32 (router, norms, biases, embeddings of the vision tower stay f32 = 4 B) */
  bytes: number;
  /** the spec's int4 accounting: every parameter at 4.5 bits (Q4_0 with its f16 scale) */
  int4Bytes: number;
}

export interface MemoryPlan {
  weights: WeightFormat;
  embedding: Part;
  lmHead: Part;
  attention: Part;
  sharedExperts: Part;
  denseMlp: Part;
  routers: Part;
  norms: Part;
  /** gate + up + down of one routed expert of one layer */
  oneExpert: Part;
  routedExperts: Part;
  /** the always-resident text part: everything text but the routed experts */
  nonExpertText: Part;
  text: Part;
  /** vision tower + pixel-shuffle adapter */
  vision: Part;
  projector: Part;
  total: Part;
  kv: {
    /** one layer, one token: K and V in f32 */
    bytesPerTokenPerLayer: number;
    /** summed over the RoPE (chunked) layers, which keep at most one chunk */
    ropeBytesPerToken: number;
    /** summed over the NoPE (full attention) layers, which keep the whole context */
    nopeBytesPerToken: number;
    bytesPerToken: number;
  };
}

export interface LayerPlan {
  layer: number;
  rope: boolean;
  attention: 'chunked' | 'full';
  ffn: 'moe' | 'dense';
}

const INT4_BYTES_PER_PARAM = 18 / 32;

class Acc {
  params = 0;
  bytes = 0;
  constructor(private mode: WeightFormat) {}
  /** a weight of `rows` outputs × `cols` inputs (times `count`); `quantizable` false keeps it f32 */
  add(rows: number, cols: number, count = 1, quantizable = true): this {
    const n = rows * cols * count;
    this.params += n;
    this.bytes += count * weightBytes(this.mode === 'q4' && quantizable && cols % 32 === 0 ? 'q4' : 'f32', rows, cols);
    return this;
  }
  /** vectors: norms, biases, embeddings kept f32 */
  f32(n: number, count = 1): this {
    return this.add(1, n, count, false);
  }
  part(): Part {
    return { params: this.params, bytes: this.bytes, int4Bytes: this.params * INT4_BYTES_PER_PARAM };
  }
}

const sum = (...parts: Part[]): Part => ({
  params: parts.reduce((s, p) => s + p.params, 0),
  bytes: parts.reduce((s, p) => s + p.bytes, 0),
  int4Bytes: parts.reduce((s, p) => s + p.int4Bytes, 0),
});

export function memoryPlan(config: ModelConfig, weights: WeightFormat): MemoryPlan {
  const c = config.text;
  const acc = () => new Acc(weights);
  const H = c.hiddenSize, F = c.intermediateSize;
  const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
  const moeLayers = c.isMoe.filter(Boolean).length;
  const denseLayers = c.numLayers - moeLayers;

  const embedding = acc().add(c.vocabSize, H).part();
  const lmHead = acc().add(c.vocabSize, H).part();
  const attention = acc().add(qDim, H, c.numLayers).add(kvDim, H, 2 * c.numLayers).add(H, qDim, c.numLayers).part();
  const sharedExperts = acc().add(2 * F, H, moeLayers).add(H, F, moeLayers).part();
  const denseMlp = acc().add(2 * c.intermediateSizeMlp, H, denseLayers).add(H, c.intermediateSizeMlp, denseLayers).part();
  const routers = acc().add(c.numExperts, H, moeLayers, false).part();
  const norms = acc().f32(H, 2 * c.numLayers + 1).part(); // QK norm is weightless
  // experts are stored [out, in]: gate_up along H, down along F
  const oneExpert = acc().add(2 * F, H).add(H, F).part();
  const routedExperts = acc().add(2 * F, H, moeLayers * c.numExperts).add(H, F, moeLayers * c.numExperts).part();
  const nonExpertText = sum(embedding, lmHead, attention, sharedExperts, denseMlp, routers, norms);
  const text = sum(nonExpertText, routedExperts);

  const vision = acc();
  const projector = acc();
  const v = config.vision;
  if (v) {
    const D = v.hiddenSize, I = v.intermediateSize, L = v.numLayers;
    const side = v.imageSize / v.patchSize;
    vision.add(D, 3 * v.patchSize * v.patchSize, 1, false); // patch embedding, no bias, f32
    vision.f32(D).f32(D, side * side + 1); // class + positional embedding
    vision.f32(D, 4); // layernorm_pre / _post, weight + bias
    vision.add(D, D, 4 * L).f32(D, 4 * L); // q, k, v, o with biases
    vision.add(I, D, L).f32(I, L).add(D, I, L).f32(D, L); // fc1, fc2 with biases
    vision.f32(D, 4 * L); // two layernorms per layer, weight + bias
    vision.add(v.projectorInputDim, I).add(v.projectorOutputDim, v.projectorOutputDim); // adapter fc1, fc2: no bias
    projector.add(H, v.visionOutputDim);
  }
  const visionPart = vision.part();
  const projectorPart = projector.part();

  const perLayer = kvBytesPerPosition(config);
  const ropeLayers = c.usesRope.filter(Boolean).length;
  return {
    weights,
    embedding,
    lmHead,
    attention,
    sharedExperts,
    denseMlp,
    routers,
    norms,
    oneExpert,
    routedExperts,
    nonExpertText,
    text,
    vision: visionPart,
    projector: projectorPart,
    total: sum(text, visionPart, projectorPart),
    kv: {
      bytesPerTokenPerLayer: perLayer,
      ropeBytesPerToken: ropeLayers * perLayer,
      nopeBytesPerToken: (c.numLayers - ropeLayers) * perLayer,
      bytesPerToken: c.numLayers * perLayer,
    },
  };
}

/** One position's keys and values in one layer's cache. */
export function kvBytesPerPosition(config: ModelConfig, format: KvFormat = 'f32'): number {
  return 2 * config.text.numKvHeads * config.text.headDim * kvBytesPerElement(format);
}

/** The KV cache for `contextLength` tokens, as the engine allocates it: RoPE layers keep at most one chunk. */
export function kvCacheBytes(config: ModelConfig, contextLength: number, format: KvFormat = 'f32'): number {
  const c = config.text;
  const perLayer = kvBytesPerPosition(config, format);
  return c.usesRope.reduce((s, rope) => s + perLayer * (rope ? Math.min(c.attentionChunkSize, contextLength) : contextLength), 0);
}

export function layerSchedule(config: ModelConfig): LayerPlan[] {
  const c = config.text;
  return c.usesRope.map((rope, layer) => ({ layer, rope, attention: rope ? 'chunked' : 'full', ffn: c.isMoe[layer] ? 'moe' : 'dense' }));
}

/** Expert slots per MoE layer that fit a GPU budget for routed experts (at least one). */
export function slotsForBudget(config: ModelConfig, mode: WeightFormat, budgetBytes: number): number {
  const c = config.text;
  const H = c.hiddenSize, F = c.intermediateSize;
  const matrix = (rows: number, cols: number) => weightBytes(mode === 'q4' && cols % 32 === 0 ? 'q4' : 'f32', rows, cols);
  const perExpert = matrix(2 * F, H) + matrix(H, F);
  const moeLayers = c.isMoe.filter(Boolean).length || 1;
  return Math.max(1, Math.min(c.numExperts, Math.floor(budgetBytes / (perExpert * moeLayers))));
}
