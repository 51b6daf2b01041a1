// The Llama 4 text decoder as an ONNX graph (../shared/docs/llama4-spec.md §2; the same math as
// worker/model/llama4.ts), with the decoder interface transformers.js feeds: input_ids, attention_mask,
// position_ids and past_key_values.{i}.key/value in; logits and present.{i}.key/value (past + new) out.
// Activations are float32; linears are MatMulNBits (int4, Q4_0 numerics) where the input dimension allows.
// The MoE computes every routed expert for every token (unselected experts see a zero input), as exports of
// Hugging Face's Llama4TextMoe do.
import { ropeInvFreq } from '../../kernels/rope/rope.ts';
import type { TextConfig } from '../../worker/model/config.ts';
import { keys } from '../../worker/model/engine-tensors.ts';
import type { GraphBuilder } from './graph.ts';
import { DataType } from './onnx-proto.ts';

/** A linear weight already added to the graph's initializers under its key (see initializerNames). */
export interface LinearRef {
  format: 'q4' | 'f32';
  /** output features */
  rows: number;
  /** input features */
  cols: number;
}

/** The initializer names of a linear: q4 as MatMulNBits (packed B, scales), f32 transposed for MatMul (x · Wᵀ). */
export const initializerNames = (key: string) => ({ qweight: `${key}.qweight`, scales: `${key}.scales`, weightT: `${key}.weight_t`, vector: `${key}.weight` });

/** Keys of the weights the graph reads, beyond the engine's (engine-tensors.ts): expert parts and the embedding table. */
export const graphKeys = {
  expertPart: (l: number, e: number, part: 'gate_up' | 'down') => `${keys.expert(l, e)}.${part}`,
  /** the embedding as a float32 table for Gather (its Q4_0 values, dequantized) */
  embedTable: 'embed_tokens.table',
  /** the engine stacks gate and up ('….gate_up'); the graph keeps them apart ('….gate', '….up') */
  gate: (gateUpKey: string) => gateUpKey.replace(/gate_up$/, 'gate'),
  up: (gateUpKey: string) => gateUpKey.replace(/gate_up$/, 'up'),
};

const LOWEST_F32 = -3.4028234663852886e38;

interface Positions {
  /** [B, S, 1, hd/2, 1]: cos and sin of position · inv_freq, broadcast over heads and over a rotation pair */
  cos: string;
  sin: string;
  /** additive masks [B, 1, S, T]: causal over everything (NoPE layers), causal within the chunk (RoPE layers) */
  fullMask: string;
  chunkMask: string;
  /** [1, S, 1, 1]: the NoPE layers' query temperature at each query's absolute position */
  temperature: string | null;
}

export interface GraphOptions {
  /** 'auto': top-1 routing without TopK (see routerScores); 'topk': the TopK form whatever k (tests use it at k = 1) */
  router?: 'auto' | 'topk';
}

export class Llama4Graph {
  constructor(
    private g: GraphBuilder,
    private c: TextConfig,
    private weights: Map<string, LinearRef>,
    private options: GraphOptions = {},
  ) {}

  /** The whole decoder: inputs, embedding, layers, final norm, lm_head, outputs. */
  build(): void {
    const { g, c } = this;
    const batch = 'batch_size', seq = 'sequence_length', past = 'past_sequence_length', total = 'total_sequence_length';
    const inputIds = g.input('input_ids', DataType.INT64, [batch, seq]);
    const attentionMask = g.input('attention_mask', DataType.INT64, [batch, total]);
    const positionIds = g.input('position_ids', DataType.INT64, [batch, seq]);
    const pastKv = Array.from({ length: c.numLayers }, (_, l) => ({
      key: g.input(`past_key_values.${l}.key`, DataType.FLOAT, [batch, c.numKvHeads, past, c.headDim]),
      value: g.input(`past_key_values.${l}.value`, DataType.FLOAT, [batch, c.numKvHeads, past, c.headDim]),
    }));
    g.output('logits', DataType.FLOAT, [batch, seq, c.vocabSize]);
    for (let l = 0; l < c.numLayers; l++) {
      g.output(`present.${l}.key`, DataType.FLOAT, [batch, c.numKvHeads, total, c.headDim]);
      g.output(`present.${l}.value`, DataType.FLOAT, [batch, c.numKvHeads, total, c.headDim]);
    }

    const pos = this.positions(inputIds, attentionMask, positionIds, pastKv[0].key);
    g.scope = 'embed_tokens';
    let x = g.op('Gather', [initializerNames(graphKeys.embedTable).vector, inputIds], { axis: 0 });
    for (let l = 0; l < c.numLayers; l++) x = this.decoderLayer(l, x, pos, pastKv[l]);
    g.scope = 'norm';
    const h = this.rmsNorm(x, keys.norm);
    g.scope = 'lm_head';
    this.linear(h, keys.lmHead, 'logits');
  }

  /** Pre-norm residual block: x += attention(norm(x)); x += ffn(norm(x)). */
  private decoderLayer(l: number, x: string, pos: Positions, past: { key: string; value: string }): string {
    const { g, c } = this;
    g.scope = `layers.${l}.attn`;
    const attn = this.attention(l, this.rmsNorm(x, keys.inputNorm(l)), pos, past);
    x = g.op('Add', [x, attn]);
    g.scope = `layers.${l}.ffn`;
    const h = this.rmsNorm(x, keys.postAttentionNorm(l));
    const ffn = c.isMoe[l] ? this.moe(l, h) : this.mlp(h, keys.mlp(l, 'gate_up'), keys.mlp(l, 'down'));
    return g.op('Add', [x, ffn]);
  }

  /**
   * Self-attention. RoPE layers: interleaved RoPE on q and k, then (use_qk_norm) RMS norm without weight, and the
   * chunked causal mask. NoPE layers: the query temperature (attn_temperature_tuning) and the full causal mask.
   * GQA: query head j reads KV head floor(j / group).
   */
  private attention(l: number, h: string, pos: Positions, past: { key: string; value: string }): string {
    const { g, c } = this;
    const hd = c.headDim, rope = c.usesRope[l];
    let q = g.op('Reshape', [this.linear(h, keys.attention(l, 'q')), g.i64([0, 0, c.numHeads, hd])]);
    let k = g.op('Reshape', [this.linear(h, keys.attention(l, 'k')), g.i64([0, 0, c.numKvHeads, hd])]);
    const v = g.op('Reshape', [this.linear(h, keys.attention(l, 'v')), g.i64([0, 0, c.numKvHeads, hd])]);
    if (rope) {
      q = this.rope(q, pos);
      k = this.rope(k, pos);
      if (c.useQkNorm) {
        q = this.rmsNorm(q, null);
        k = this.rmsNorm(k, null);
      }
    } else if (pos.temperature) {
      q = g.op('Mul', [q, pos.temperature]);
    }
    const heads = [0, 2, 1, 3]; // [B, S, heads, hd] ↔ [B, heads, S, hd]
    q = g.op('Transpose', [q], { perm: heads });
    const presentK = g.opNamed(`present.${l}.key`, 'Concat', [past.key, g.op('Transpose', [k], { perm: heads })], { axis: 2 });
    const presentV = g.opNamed(`present.${l}.value`, 'Concat', [past.value, g.op('Transpose', [v], { perm: heads })], { axis: 2 });
    const keysAll = this.repeatKv(presentK), valuesAll = this.repeatKv(presentV);
    const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [keysAll], { perm: [0, 1, 3, 2] })]), g.f32([1 / Math.sqrt(hd)], [])]);
    const probs = g.op('Softmax', [g.op('Add', [scores, rope ? pos.chunkMask : pos.fullMask])], { axis: -1 });
    const out = g.op('Transpose', [g.op('MatMul', [probs, valuesAll])], { perm: heads });
    return this.linear(g.op('Reshape', [out, g.i64([0, 0, c.numHeads * hd])]), keys.attention(l, 'o'));
  }

  /** [B, kvHeads, T, hd] → [B, heads, T, hd], each KV head repeated `group` times in place (HF repeat_kv). */
  private repeatKv(x: string): string {
    const { g, c } = this;
    const group = c.numHeads / c.numKvHeads;
    if (group === 1) return x;
    const expanded = g.op('Expand', [g.op('Unsqueeze', [x, g.i64([2])]), g.i64([1, 1, group, 1, 1])]);
    return g.op('Reshape', [expanded, g.i64([0, c.numHeads, -1, c.headDim])]);
  }

  /** Interleaved RoPE on [B, S, heads, hd]: pair i = elements (2i, 2i+1), rotated by position · inv_freq[i]. */
  private rope(x: string, pos: Positions): string {
    const { g, c } = this;
    const pairs = g.op('Reshape', [x, g.i64([0, 0, 0, c.headDim / 2, 2])]);
    const [a, b] = g.opN('Split', [pairs], 2, { axis: -1 });
    const outA = g.op('Sub', [g.op('Mul', [a, pos.cos]), g.op('Mul', [b, pos.sin])]);
    const outB = g.op('Add', [g.op('Mul', [a, pos.sin]), g.op('Mul', [b, pos.cos])]);
    return g.op('Reshape', [g.op('Concat', [outA, outB], { axis: -1 }), g.i64([0, 0, 0, c.headDim])]);
  }

  /**
   * RMS norm over the last axis, then the learned weight: onnxruntime's SimplifiedLayerNormalization (what its own
   * fusion makes of the decomposed form on the CPU, and the anchor its WebGPU MLP/QKV fusions look for). The QK norm
   * has no weight and stays decomposed.
   */
  private rmsNorm(x: string, weightKey: string | null): string {
    const { g, c } = this;
    if (weightKey) return g.op('SimplifiedLayerNormalization', [x, initializerNames(weightKey).vector], { axis: -1, epsilon: { float: c.rmsNormEps } });
    const meanSquare = g.op('ReduceMean', [g.op('Pow', [x, g.f32([2], [])])], { axes: [-1], keepdims: 1 });
    return g.op('Div', [x, g.op('Sqrt', [g.op('Add', [meanSquare, g.f32([c.rmsNormEps], [])])])]);
  }

  /**
   * SwiGLU: down(silu(gate(x)) ⊙ up(x)). Gate and up are two MatMulNBits on the same input, as exports of
   * nn.Linear gate_proj/up_proj are: the pattern onnxruntime's WebGPU MLP fusion looks for.
   */
  private mlp(x: string, gateUpKey: string, downKey: string): string {
    const g = this.g;
    const gate = this.linear(x, graphKeys.gate(gateUpKey));
    const up = this.linear(x, graphKeys.up(gateUpKey));
    const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
    return this.linear(g.op('Mul', [silu, up]), downKey);
  }

  /**
   * MoE: top-k experts on the raw router logits; score = sigmoid(logit) for the selected ones, 0 for the others.
   * Every expert e runs on x · score[:, e] (the score scales the expert's INPUT); their outputs and the shared
   * expert's are summed.
   */
  private moe(l: number, h: string): string {
    const { g, c } = this;
    const E = c.numExperts;
    const scores = this.routerScores(this.linear(h, keys.router(l)));
    // one Slice per expert, not a Split into E outputs: onnxruntime's WebGPU provider binds every output of a node as
    // a storage buffer of one shader, and adapters may allow as few as 8 (the WebGPU default; SwiftShader 12, an H200
    // 16), so a 16-way Split fails there. A Slice binds two.
    const perExpert = E === 1 ? [scores] : Array.from({ length: E }, (_, e) => g.op('Slice', [scores, g.i64([e]), g.i64([e + 1]), g.i64([-1])]));
    let routed: string | null = null;
    for (let e = 0; e < E; e++) {
      const y = this.mlp(g.op('Mul', [h, perExpert[e]]), graphKeys.expertPart(l, e, 'gate_up'), graphKeys.expertPart(l, e, 'down'));
      routed = routed ? g.op('Add', [routed, y]) : y;
    }
    const shared = this.mlp(h, keys.shared(l, 'gate_up'), keys.shared(l, 'down'));
    return g.op('Add', [shared, routed!]);
  }

  /**
   * [B, S, E] router scores: sigmoid(logit) for the top-k experts of each token, 0 for the others. Top-1 (Scout,
   * Maverick) is written with ReduceMax/Equal/CumSum, which onnxruntime's WebGPU provider runs (it has no TopK, so
   * TopK would send every MoE layer's logits to the CPU and back); ties go to the lowest expert id.
   */
  private routerScores(logits: string): string {
    const { g, c } = this;
    const f = (x: string) => g.op('Cast', [x], { to: DataType.FLOAT });
    if (c.topK === 1 && this.options.router !== 'topk') {
      const best = g.op('ReduceMax', [logits], { axes: [-1], keepdims: 1 });
      const isBest = f(g.op('Equal', [logits, best]));
      const first = g.op('Mul', [isBest, f(g.op('Equal', [g.op('CumSum', [isBest, g.i64([-1], [])]), g.f32([1], [])]))]);
      return g.op('Mul', [first, g.op('Sigmoid', [best])]);
    }
    const [top, topIds] = g.opN('TopK', [logits, g.i64([c.topK])], 2, { axis: -1, largest: 1, sorted: 1 });
    // [B, S, k, E]: 1 where the k-th choice is expert e; times that choice's sigmoid, summed over k
    const expertIds = g.f32(Array.from({ length: c.numExperts }, (_, e) => e));
    const chosen = f(g.op('Equal', [g.op('Unsqueeze', [f(topIds), g.i64([-1])]), expertIds]));
    const weighted = g.op('Mul', [chosen, g.op('Unsqueeze', [g.op('Sigmoid', [top]), g.i64([-1])])]);
    return g.op('ReduceSum', [weighted, g.i64([2])], { keepdims: 0 });
  }

  /** x · Wᵀ: MatMulNBits for q4 weights, MatMul on the transposed f32 weight otherwise. */
  private linear(x: string, key: string, outputName?: string): string {
    const { g } = this;
    const w = this.weights.get(key);
    if (!w) throw new Error(`the ONNX graph needs weight ${key}, which the checkpoint did not provide`);
    const n = initializerNames(key);
    if (w.format === 'q4') {
      const attrs = { K: w.cols, N: w.rows, bits: 4, block_size: 32 };
      const inputs = [x, n.qweight, n.scales];
      return outputName ? g.opNamed(outputName, 'MatMulNBits', inputs, attrs, 'com.microsoft') : g.op('MatMulNBits', inputs, attrs, 'com.microsoft');
    }
    return outputName ? g.opNamed(outputName, 'MatMul', [x, n.weightT]) : g.op('MatMul', [x, n.weightT]);
  }

  /**
   * What every layer shares: RoPE cos/sin from position_ids; masks from the cache positions (key j at j, query i
   * at past + i) and attention_mask (padding); the NoPE temperature 1 + attn_scale · ln(1 + floor((p + 1) /
   * floor_scale)) at the query's cache position, as HF 5.17 computes it.
   */
  private positions(inputIds: string, attentionMask: string, positionIds: string, pastKey0: string): Positions {
    const { g, c } = this;
    g.scope = 'positions';
    const f = (x: string) => g.op('Cast', [x], { to: DataType.FLOAT });
    const pastLen = g.op('Gather', [g.op('Shape', [pastKey0]), g.i64([2], [])], { axis: 0 });
    const seqLen = g.op('Gather', [g.op('Shape', [inputIds]), g.i64([1], [])], { axis: 0 });
    const totalLen = g.op('Add', [pastLen, seqLen]);
    const queryPos = f(g.op('Range', [pastLen, totalLen, g.i64([1], [])])); // [S]
    const keyPos = f(g.op('Range', [g.i64([0], []), totalLen, g.i64([1], [])])); // [T]
    const keyRow = g.op('Unsqueeze', [keyPos, g.i64([0])]); // [1, T]
    const queryCol = g.op('Unsqueeze', [queryPos, g.i64([1])]); // [S, 1]
    // masks as 0/1 floats (the WebGPU provider has no And), turned additive: 0 where allowed, the lowest f32 elsewhere
    const causal = f(g.op('LessOrEqual', [keyRow, queryCol])); // [S, T]
    const notPadding = f(g.op('Unsqueeze', [attentionMask, g.i64([1, 2])])); // [B, 1, 1, T]
    const additive = (allowed: string) => g.op('Mul', [g.op('Sub', [g.f32([1], []), g.op('Mul', [allowed, notPadding])]), g.f32([LOWEST_F32], [])]);
    const chunkOf = (p: string) => g.op('Floor', [g.op('Div', [p, g.f32([c.attentionChunkSize], [])])]);
    const sameChunk = f(g.op('Equal', [chunkOf(keyRow), chunkOf(queryCol)]));

    const invFreq = g.f32(ropeInvFreq(c.ropeTheta, c.headDim, c.ropeScaling));
    const angles = g.op('Mul', [g.op('Unsqueeze', [f(positionIds), g.i64([2])]), invFreq]); // [B, S, hd/2]
    const perPair = (x: string) => g.op('Unsqueeze', [x, g.i64([2, 4])]); // [B, S, 1, hd/2, 1]

    let temperature: string | null = null;
    if (c.attnTemperatureTuning && c.usesRope.some((r) => !r)) {
      const steps = g.op('Floor', [g.op('Div', [g.op('Add', [queryPos, g.f32([1], [])]), g.f32([c.floorScale], [])])]);
      const t = g.op('Add', [g.op('Mul', [g.op('Log', [g.op('Add', [steps, g.f32([1], [])])]), g.f32([c.attnScale], [])]), g.f32([1], [])]);
      temperature = g.op('Reshape', [t, g.i64([1, -1, 1, 1])]);
    }
    return {
      cos: perPair(g.op('Cos', [angles])),
      sin: perPair(g.op('Sin', [angles])),
      fullMask: additive(causal),
      chunkMask: additive(g.op('Mul', [causal, sameChunk])),
      temperature,
    };
  }
}
