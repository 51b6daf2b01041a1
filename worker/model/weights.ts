// Llama 4 text weights on the GPU, loaded tensor by tensor from a Hub-layout checkpoint. Every linear is stored
// [out, in] (HF experts are [E, in, out] and get transposed); gate and up projections are stacked into one
// [2F, in] matrix (gate rows first). In q4 mode every weight whose input dimension is a multiple of 32 is stored
// Q4_0; the router, norms and anything else stay f32.
import { EngineError, type WeightMode } from '../api.ts';
import { uploadLinear, linearBytes, destroyLinear, type LinearWeight, type WeightFormat } from '../../kernels/linear/linear.ts';
import type { GpuContext } from '../../kernels/runtime.ts';
import type { ModelConfig } from './config.ts';
import { readCheckpointIndex, toF32, type ModelFiles, type TensorInfo } from './safetensors.ts';

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
  experts: MlpWeights; // gateUp [experts·2F, hidden], down [experts·hidden, F], rowsPerExpert set
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

export type LoadProgressFn = (loadedBytes: number, totalBytes: number, tensor: string) => void;

class TensorReader {
  loaded = 0;
  constructor(
    private files: ModelFiles,
    readonly tensors: Map<string, TensorInfo>,
    readonly total: number,
    private onProgress?: LoadProgressFn,
  ) {}

  info(name: string, shape: number[]): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new EngineError('bad-model', `tensor ${name} is missing from the checkpoint (${this.files.label})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new EngineError('bad-model', `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (!['BF16', 'F16', 'F32'].includes(t.dtype)) throw new EngineError('bad-model', `${t.file}: tensor ${name} has dtype ${t.dtype}, expected BF16, F16 or F32`);
    return t;
  }

  async read(name: string, shape: number[]): Promise<Float32Array> {
    const t = this.info(name, shape);
    const bytes = await this.files.range(t.file, t.begin, t.end);
    if (bytes.byteLength !== t.end - t.begin) {
      throw new EngineError('bad-model', `${t.file}: tensor ${name} is truncated (${bytes.byteLength} of ${t.end - t.begin} bytes)`);
    }
    this.loaded += bytes.byteLength;
    this.onProgress?.(this.loaded, this.total, name);
    return toF32(bytes, t.dtype);
  }
}

function formatFor(mode: WeightMode, cols: number): WeightFormat {
  return mode === 'q4' && cols % 32 === 0 ? 'q4' : 'f32';
}

const rowsFrom = (data: Float32Array, cols: number) => (start: number, count: number) => data.subarray(start * cols, (start + count) * cols);

/** [E, inDim, outDim] (x @ W per expert) → [E·outDim, inDim] rows. */
function transposeExperts(w: Float32Array, experts: number, inDim: number, outDim: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let e = 0; e < experts; e++) {
    const base = e * inDim * outDim;
    for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) out[base + o * inDim + i] = w[base + i * outDim + o];
  }
  return out;
}

export async function loadTextWeights(ctx: GpuContext, files: ModelFiles, config: ModelConfig, mode: WeightMode, onProgress?: LoadProgressFn): Promise<TextWeights> {
  const tensors = await readCheckpointIndex(files);
  const c = config.text;
  const p = config.textPrefix;
  const textTensors = [...tensors.values()].filter((t) => t.name.startsWith(p + 'model.') || t.name.startsWith(p + 'lm_head'));
  const reader = new TensorReader(files, tensors, textTensors.reduce((s, t) => s + t.end - t.begin, 0), onProgress);
  const H = c.hiddenSize;
  const created: LinearWeight[] = [];
  const norms: GPUBuffer[] = [];

  const linearOf = async (name: string, rows: number, cols: number, asF32 = false): Promise<LinearWeight> => {
    const data = await reader.read(name, [rows, cols]);
    const w = uploadLinear(ctx, name, asF32 ? 'f32' : formatFor(mode, cols), rows, cols, rowsFrom(data, cols));
    created.push(w);
    return w;
  };
  const stacked = async (gateName: string, upName: string, F: number): Promise<LinearWeight> => {
    const gate = await reader.read(gateName, [F, H]);
    const up = await reader.read(upName, [F, H]);
    const both = new Float32Array(2 * F * H);
    both.set(gate);
    both.set(up, F * H);
    const w = uploadLinear(ctx, gateName.replace('gate_proj', 'gate_up_proj'), formatFor(mode, H), 2 * F, H, rowsFrom(both, H));
    created.push(w);
    return w;
  };
  const norm = async (name: string): Promise<GPUBuffer> => {
    const b = ctx.upload(await reader.read(name, [H]), name);
    norms.push(b);
    return b;
  };

  try {
    const m = `${p}model.`;
    const embedTokens = await linearOf(`${m}embed_tokens.weight`, c.vocabSize, H);
    const layers: LayerWeights[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const L = `${m}layers.${l}.`;
      const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
      const attention: AttentionWeights = {
        q: await linearOf(`${L}self_attn.q_proj.weight`, qDim, H),
        k: await linearOf(`${L}self_attn.k_proj.weight`, kvDim, H),
        v: await linearOf(`${L}self_attn.v_proj.weight`, kvDim, H),
        o: await linearOf(`${L}self_attn.o_proj.weight`, H, qDim),
      };
      let ffn: LayerWeights['ffn'];
      if (c.isMoe[l]) {
        const F = c.intermediateSize, E = c.numExperts;
        const f = `${L}feed_forward.`;
        const router = await linearOf(`${f}router.weight`, E, H, true);
        const gateUpRaw = await reader.read(`${f}experts.gate_up_proj`, [E, H, 2 * F]);
        const gateUp = uploadLinear(ctx, `${f}experts.gate_up_proj`, formatFor(mode, H), E * 2 * F, H, rowsFrom(transposeExperts(gateUpRaw, E, H, 2 * F), H), 2 * F);
        created.push(gateUp);
        const downRaw = await reader.read(`${f}experts.down_proj`, [E, F, H]);
        const down = uploadLinear(ctx, `${f}experts.down_proj`, formatFor(mode, F), E * H, F, rowsFrom(transposeExperts(downRaw, E, F, H), F), H);
        created.push(down);
        const shared: MlpWeights = {
          gateUp: await stacked(`${f}shared_expert.gate_proj.weight`, `${f}shared_expert.up_proj.weight`, F),
          down: await linearOf(`${f}shared_expert.down_proj.weight`, H, F),
        };
        ffn = { kind: 'moe', moe: { router, experts: { gateUp, down }, shared } };
      } else {
        const F = c.intermediateSizeMlp;
        const f = `${L}feed_forward.`;
        ffn = { kind: 'dense', mlp: { gateUp: await stacked(`${f}gate_proj.weight`, `${f}up_proj.weight`, F), down: await linearOf(`${f}down_proj.weight`, H, F) } };
      }
      layers.push({ inputNorm: await norm(`${L}input_layernorm.weight`), postAttentionNorm: await norm(`${L}post_attention_layernorm.weight`), attention, ffn });
    }
    const finalNorm = await norm(`${m}norm.weight`);
    // tied checkpoints have no lm_head: the output projection is the embedding matrix
    const lmHead = c.tieWordEmbeddings && !tensors.has(`${p}lm_head.weight`) ? embedTokens : await linearOf(`${p}lm_head.weight`, c.vocabSize, H);
    const gpuBytes = created.reduce((s, w) => s + linearBytes(w), 0) + norms.length * H * 4;
    return { embedTokens, layers, norm: finalNorm, lmHead, gpuBytes };
  } catch (e) {
    created.forEach(destroyLinear);
    norms.forEach((b) => b.destroy());
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
