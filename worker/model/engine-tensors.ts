// The engine's view of a Llama 4 text checkpoint: every tensor the forward pass uses, in the layout the kernels
// read, under a stable key. Linears are [out, in] (HF experts are [E, in, out] and get transposed); gate and up
// projections are stacked into one [2F, in] matrix (gate rows first); each routed expert is one item with its
// gate_up [2F, hidden] and down [hidden, F] parts, so it can be stored and paged as one record.
// In q4 mode every linear whose input dimension is a multiple of 32 is marked q4; routers and norms stay f32.
// The GPU loader (weights.ts) and the package converter both walk this list, so the layout lives in one place.
import { EngineError } from '../../protocol/errors.ts';
import type { WeightFormat } from '../../kernels/linear/weight-format.ts';
import type { ModelConfig } from './config.ts';
import { readCheckpointIndex, toF32, type ModelFiles, type TensorInfo } from './safetensors.ts';
import type { Q4Data } from '../../kernels/linear/q4-format.ts';

export type TensorFormat = 'q4' | 'f32';

export interface MatrixPart {
  /** part name: the linear itself, or 'gate_up' / 'down' of an expert */
  part: string;
  format: TensorFormat;
  rows: number;
  cols: number;
  /** row-major [rows, cols] f32 values (from a checkpoint), or Q4_0 data already quantized (from a package) */
  data: Float32Array | Q4Data;
  /**
   * set when `data` is only rows [rowStart, rowStart + rowCount) of the [rows, cols] matrix: a large tensor stored
   * in several records arrives piece by piece under one key (a q4 piece starts on an even block)
   */
  rowStart?: number;
  rowCount?: number;
}

export interface EngineTensor {
  /** e.g. 'embed_tokens', 'layers.3.attention.q', 'layers.3.input_norm', 'layers.3.experts.7' */
  key: string;
  kind: 'linear' | 'vector' | 'expert';
  layer?: number;
  expert?: number;
  parts: MatrixPart[];
}

export type ReadProgress = (loadedBytes: number, totalBytes: number, tensor: string) => void;

/** The key of each engine tensor, in the order engineTensors() yields them. */
export const keys = {
  embed: 'embed_tokens',
  lmHead: 'lm_head',
  norm: 'norm',
  inputNorm: (l: number) => `layers.${l}.input_norm`,
  postAttentionNorm: (l: number) => `layers.${l}.post_attention_norm`,
  attention: (l: number, p: 'q' | 'k' | 'v' | 'o') => `layers.${l}.attention.${p}`,
  router: (l: number) => `layers.${l}.router`,
  shared: (l: number, p: 'gate_up' | 'down') => `layers.${l}.shared.${p}`,
  mlp: (l: number, p: 'gate_up' | 'down') => `layers.${l}.mlp.${p}`,
  expert: (l: number, e: number) => `layers.${l}.experts.${e}`,
};

export function formatFor(mode: WeightFormat, cols: number): TensorFormat {
  return mode === 'q4' && cols % 32 === 0 ? 'q4' : 'f32';
}

export class CheckpointReader {
  loaded = 0;
  constructor(private files: ModelFiles, readonly tensors: Map<string, TensorInfo>, readonly total: number, private onProgress?: ReadProgress) {}

  info(name: string, shape: number[]): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new EngineError('bad-model', `tensor ${name} is missing from the checkpoint (${this.files.label})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new EngineError('bad-model', `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (t.dtype !== 'BF16' && t.dtype !== 'F16' && t.dtype !== 'F32') {
      throw new EngineError('bad-model', `${t.file}: tensor ${name} has dtype ${t.dtype}, expected BF16, F16 or F32`);
    }
    return t;
  }

  /** Elements [begin, end) of a tensor (flat index), read by range. */
  async read(name: string, shape: number[], begin = 0, end = shape.reduce((a, b) => a * b, 1)): Promise<Float32Array> {
    const t = this.info(name, shape);
    const size = t.dtype === 'F32' ? 4 : 2;
    const want = (end - begin) * size;
    const bytes = await this.files.range(t.file, t.begin + begin * size, t.begin + end * size);
    if (bytes.byteLength !== want) throw new EngineError('bad-model', `${t.file}: tensor ${name} is truncated (${bytes.byteLength} of ${want} bytes)`);
    this.loaded += bytes.byteLength;
    this.onProgress?.(this.loaded, this.total, name);
    return toF32(bytes, t.dtype);
  }
}

/**
 * [inDim, outDim] (x @ W) → [outDim, inDim] rows, in tiles of 64 × 64 so that reads and writes both stay within a
 * few cache lines and pages (a row-by-row transpose writes with a stride of inDim floats: ~10x slower on a
 * Scout-width expert, [5120, 16384], of which a Scout-width checkpoint has 128 per 4 layers).
 */
export function transpose(w: Float32Array, inDim: number, outDim: number): Float32Array {
  const out = new Float32Array(w.length);
  const T = 64;
  for (let i0 = 0; i0 < inDim; i0 += T) {
    const i1 = Math.min(i0 + T, inDim);
    for (let o0 = 0; o0 < outDim; o0 += T) {
      const o1 = Math.min(o0 + T, outDim);
      for (let i = i0; i < i1; i++) {
        const src = i * outDim;
        for (let o = o0; o < o1; o++) out[o * inDim + i] = w[src + o];
      }
    }
  }
  return out;
}

/**
 * Walks the text model's tensors from a checkpoint, one at a time (each routed expert read by range on its own,
 * so memory stays bounded by one expert or one dense tensor).
 */
export async function* engineTensors(
  files: ModelFiles,
  config: ModelConfig,
  mode: WeightFormat,
  onProgress?: ReadProgress,
  /** also the vision tower and projector, after the text tensors (keys `vision.<checkpoint name>`) */
  options: { vision?: boolean } = {},
): AsyncGenerator<EngineTensor> {
  const tensors = await readCheckpointIndex(files);
  const c = config.text;
  const p = config.textPrefix;
  const m = `${p}model.`;
  const vision = options.vision === true && config.vision !== null;
  const visionNames = new Set(vision ? visionTensorSpecs(config).map((v) => v.name) : []);
  const read = [...tensors.values()].filter((t) => t.name.startsWith(m) || t.name.startsWith(p + 'lm_head') || visionNames.has(t.name));
  const reader = new CheckpointReader(files, tensors, read.reduce((s, t) => s + t.end - t.begin, 0), onProgress);
  const H = c.hiddenSize;
  const linear = async (key: string, name: string, rows: number, cols: number, f32 = false): Promise<EngineTensor> => ({
    key,
    kind: 'linear',
    parts: [{ part: 'weight', format: f32 ? 'f32' : formatFor(mode, cols), rows, cols, data: await reader.read(name, [rows, cols]) }],
  });
  const stacked = async (key: string, gateName: string, upName: string, F: number): Promise<EngineTensor> => {
    const data = new Float32Array(2 * F * H);
    data.set(await reader.read(gateName, [F, H]));
    data.set(await reader.read(upName, [F, H]), F * H);
    return { key, kind: 'linear', parts: [{ part: 'weight', format: formatFor(mode, H), rows: 2 * F, cols: H, data }] };
  };
  const vector = async (key: string, name: string): Promise<EngineTensor> => ({
    key,
    kind: 'vector',
    parts: [{ part: 'weight', format: 'f32', rows: 1, cols: H, data: await reader.read(name, [H]) }],
  });

  yield await linear(keys.embed, `${m}embed_tokens.weight`, c.vocabSize, H);
  for (let l = 0; l < c.numLayers; l++) {
    const L = `${m}layers.${l}.`;
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    yield await vector(keys.inputNorm(l), `${L}input_layernorm.weight`);
    yield await linear(keys.attention(l, 'q'), `${L}self_attn.q_proj.weight`, qDim, H);
    yield await linear(keys.attention(l, 'k'), `${L}self_attn.k_proj.weight`, kvDim, H);
    yield await linear(keys.attention(l, 'v'), `${L}self_attn.v_proj.weight`, kvDim, H);
    yield await linear(keys.attention(l, 'o'), `${L}self_attn.o_proj.weight`, H, qDim);
    yield await vector(keys.postAttentionNorm(l), `${L}post_attention_layernorm.weight`);
    const f = `${L}feed_forward.`;
    if (c.isMoe[l]) {
      const F = c.intermediateSize, E = c.numExperts;
      yield await linear(keys.router(l), `${f}router.weight`, E, H, true);
      yield await stacked(keys.shared(l, 'gate_up'), `${f}shared_expert.gate_proj.weight`, `${f}shared_expert.up_proj.weight`, F);
      yield await linear(keys.shared(l, 'down'), `${f}shared_expert.down_proj.weight`, H, F);
      for (let e = 0; e < E; e++) {
        const gateUp = await reader.read(`${f}experts.gate_up_proj`, [E, H, 2 * F], e * H * 2 * F, (e + 1) * H * 2 * F);
        const down = await reader.read(`${f}experts.down_proj`, [E, F, H], e * F * H, (e + 1) * F * H);
        yield {
          key: keys.expert(l, e),
          kind: 'expert',
          layer: l,
          expert: e,
          parts: [
            { part: 'gate_up', format: formatFor(mode, H), rows: 2 * F, cols: H, data: transpose(gateUp, H, 2 * F) },
            { part: 'down', format: formatFor(mode, F), rows: H, cols: F, data: transpose(down, F, H) },
          ],
        };
      }
    } else {
      const F = c.intermediateSizeMlp;
      yield await stacked(keys.mlp(l, 'gate_up'), `${f}gate_proj.weight`, `${f}up_proj.weight`, F);
      yield await linear(keys.mlp(l, 'down'), `${f}down_proj.weight`, H, F);
    }
  }
  yield await vector(keys.norm, `${m}norm.weight`);
  // tied checkpoints have no lm_head: the output projection is the embedding matrix
  if (!(c.tieWordEmbeddings && !tensors.has(`${p}lm_head.weight`))) yield await linear(keys.lmHead, `${p}lm_head.weight`, c.vocabSize, H);
  if (vision) yield* visionEngineTensors(reader, config, mode);
}

/** One tensor of the vision tower or projector: its checkpoint name and shape, and whether it may be q4. */
export interface VisionTensorSpec {
  name: string;
  shape: number[];
  kind: 'linear' | 'vector';
  /** a linear kept f32 whatever the mode (the patch embedding, as the reference numerics have it) */
  f32?: boolean;
}

/** The engine key of a vision tensor. */
export const visionKey = (name: string) => `vision.${name}`;

/** Every tensor the vision tower and the projector use (spec §3.2–3.4), in checkpoint names. */
export function visionTensorSpecs(config: ModelConfig): VisionTensorSpec[] {
  const v = config.vision;
  if (!v) return [];
  const H = v.hiddenSize, I = v.intermediateSize, grid = v.imageSize / v.patchSize;
  const m = 'vision_model.';
  const out: VisionTensorSpec[] = [];
  const vector = (name: string, shape: number[]) => out.push({ name, shape, kind: 'vector' });
  const linear = (name: string, rows: number, cols: number, f32 = false) => out.push({ name, shape: [rows, cols], kind: 'linear', f32 });
  const linBias = (prefix: string, rows: number, cols: number) => {
    linear(`${prefix}.weight`, rows, cols);
    vector(`${prefix}.bias`, [rows]);
  };
  const norm = (prefix: string) => {
    vector(`${prefix}.weight`, [H]);
    vector(`${prefix}.bias`, [H]);
  };
  for (let l = 0; l < v.numLayers; l++) {
    const L = `${m}model.layers.${l}.`;
    norm(`${L}input_layernorm`);
    for (const p of ['q', 'k', 'v', 'o']) linBias(`${L}self_attn.${p}_proj`, H, H);
    norm(`${L}post_attention_layernorm`);
    linBias(`${L}mlp.fc1`, I, H);
    linBias(`${L}mlp.fc2`, H, I);
  }
  linear(`${m}patch_embedding.linear.weight`, H, 3 * v.patchSize ** 2, true);
  vector(`${m}class_embedding`, [H]);
  vector(`${m}positional_embedding_vlm`, [grid * grid + 1, H]);
  norm(`${m}layernorm_pre`);
  norm(`${m}layernorm_post`);
  linear(`${m}vision_adapter.mlp.fc1.weight`, v.projectorInputDim, 4 * H);
  linear(`${m}vision_adapter.mlp.fc2.weight`, v.projectorOutputDim, v.projectorInputDim);
  linear('multi_modal_projector.linear_1.weight', config.text.hiddenSize, v.visionOutputDim);
  return out;
}

/** The vision tower's tensors from a checkpoint reader, as engine tensors (q4 where the mode and shape allow). */
export async function* visionEngineTensors(reader: CheckpointReader, config: ModelConfig, mode: WeightFormat): AsyncGenerator<EngineTensor> {
  for (const t of visionTensorSpecs(config)) {
    const data = await reader.read(t.name, t.shape);
    const [rows, cols] = t.shape.length === 2 ? t.shape : [1, t.shape[0]];
    const format: TensorFormat = t.kind === 'linear' && !t.f32 ? formatFor(mode, cols) : 'f32';
    yield { key: visionKey(t.name), kind: t.kind === 'linear' ? 'linear' : 'vector', parts: [{ part: 'weight', format, rows, cols, data }] };
  }
}
