// The Llama 4 vision tower, adapter and multi-modal projector (../shared/docs/llama4-spec.md §3.2–3.4), one tile
// at a time: pixels [3, S, S] → projected features [N, text hidden] with N = (S/p)² · ratio² tokens.
import type { GpuContext } from '../../kernels/runtime.ts';
import { uploadLinear, linear, linearBytes, destroyLinear, type LinearWeight } from '../../kernels/linear/linear.ts';
import { patchify } from '../../kernels/patchify/patchify.ts';
import { residualAdd } from '../../kernels/residual/residual.ts';
import { layernorm } from '../../kernels/layernorm/layernorm.ts';
import { addBias } from '../../kernels/bias/bias.ts';
import { rope } from '../../kernels/rope/rope.ts';
import { attention } from '../../kernels/attention/attention.ts';
import { gelu } from '../../kernels/gelu/gelu.ts';
import { pixelShuffle } from '../../kernels/pixel-shuffle/pixel-shuffle.ts';
import { EngineError } from '../../protocol/errors.ts';
import type { WeightFormat } from '../../kernels/linear/weight-format.ts';
import type { ModelConfig, VisionConfig } from './config.ts';
import { readCheckpointIndex, toF32, type ModelFiles, type TensorInfo } from './safetensors.ts';

interface LinearWithBias {
  w: LinearWeight;
  b: GPUBuffer;
}

interface NormWeights {
  w: GPUBuffer;
  b: GPUBuffer;
}

interface EncoderLayer {
  ln1: NormWeights;
  q: LinearWithBias;
  k: LinearWithBias;
  v: LinearWithBias;
  o: LinearWithBias;
  ln2: NormWeights;
  fc1: LinearWithBias;
  fc2: LinearWithBias;
}

export interface VisionWeights {
  patchEmbedding: LinearWeight; // [hidden, 3·p²] f32
  classEmbedding: GPUBuffer; // [hidden]
  positionalEmbedding: GPUBuffer; // [patches + 1, hidden]
  layernormPre: NormWeights;
  layernormPost: NormWeights;
  layers: EncoderLayer[];
  adapterFc1: LinearWeight; // [visionOutputDim, 4·hidden]
  adapterFc2: LinearWeight; // [projectorOutputDim, visionOutputDim]
  projector: LinearWeight; // [text hidden, visionOutputDim]
  gpuBytes: number;
}

/** Image tokens per tile after pixel shuffle. */
export function tokensPerTile(v: VisionConfig): number {
  return Math.round((v.imageSize / v.patchSize) ** 2 * v.pixelShuffleRatio ** 2);
}

export async function loadVisionWeights(ctx: GpuContext, files: ModelFiles, config: ModelConfig, mode: WeightFormat): Promise<VisionWeights> {
  const v = config.vision;
  if (!v) throw new EngineError('bad-model', 'This model has no vision tower (config.json has no vision_config): it cannot read images.');
  if (v.pixelShuffleRatio !== 0.5) throw new EngineError('bad-model', `vision_config.pixel_shuffle_ratio ${v.pixelShuffleRatio} is not supported (Llama 4 uses 0.5)`);
  const tensors = await readCheckpointIndex(files);
  const H = v.hiddenSize, I = v.intermediateSize, grid = v.imageSize / v.patchSize;
  const buffers: GPUBuffer[] = [];
  const linears: LinearWeight[] = [];
  const read = async (name: string, shape: number[]): Promise<Float32Array> => {
    const t: TensorInfo | undefined = tensors.get(name);
    if (!t) throw new EngineError('bad-model', `tensor ${name} is missing from the checkpoint (${files.label})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new EngineError('bad-model', `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return toF32(await files.range(t.file, t.begin, t.end), t.dtype);
  };
  const vector = async (name: string, shape: number[]) => {
    const b = ctx.upload(await read(name, shape), name);
    buffers.push(b);
    return b;
  };
  const lin = async (name: string, rows: number, cols: number, forceF32 = false) => {
    const data = await read(name, [rows, cols]);
    const format = mode === 'q4' && cols % 32 === 0 && !forceF32 ? 'q4' : 'f32';
    const w = uploadLinear(ctx, name, format, rows, cols, (s, n) => data.subarray(s * cols, (s + n) * cols));
    linears.push(w);
    return w;
  };
  const linBias = async (prefix: string, rows: number, cols: number): Promise<LinearWithBias> => ({ w: await lin(`${prefix}.weight`, rows, cols), b: await vector(`${prefix}.bias`, [rows]) });
  const norm = async (prefix: string): Promise<NormWeights> => ({ w: await vector(`${prefix}.weight`, [H]), b: await vector(`${prefix}.bias`, [H]) });
  try {
    const m = 'vision_model.';
    const layers: EncoderLayer[] = [];
    for (let l = 0; l < v.numLayers; l++) {
      const L = `${m}model.layers.${l}.`;
      layers.push({
        ln1: await norm(`${L}input_layernorm`),
        q: await linBias(`${L}self_attn.q_proj`, H, H),
        k: await linBias(`${L}self_attn.k_proj`, H, H),
        v: await linBias(`${L}self_attn.v_proj`, H, H),
        o: await linBias(`${L}self_attn.o_proj`, H, H),
        ln2: await norm(`${L}post_attention_layernorm`),
        fc1: await linBias(`${L}mlp.fc1`, I, H),
        fc2: await linBias(`${L}mlp.fc2`, H, I),
      });
    }
    const weights: VisionWeights = {
      patchEmbedding: await lin(`${m}patch_embedding.linear.weight`, H, 3 * v.patchSize ** 2, true),
      classEmbedding: await vector(`${m}class_embedding`, [H]),
      positionalEmbedding: await vector(`${m}positional_embedding_vlm`, [grid * grid + 1, H]),
      layernormPre: await norm(`${m}layernorm_pre`),
      layernormPost: await norm(`${m}layernorm_post`),
      layers,
      adapterFc1: await lin(`${m}vision_adapter.mlp.fc1.weight`, v.projectorInputDim, 4 * H),
      adapterFc2: await lin(`${m}vision_adapter.mlp.fc2.weight`, v.projectorOutputDim, v.projectorInputDim),
      projector: await lin('multi_modal_projector.linear_1.weight', config.text.hiddenSize, v.visionOutputDim),
      gpuBytes: 0,
    };
    weights.gpuBytes = linears.reduce((s, w) => s + linearBytes(w), 0) + buffers.reduce((s, b) => s + b.size, 0);
    return weights;
  } catch (e) {
    linears.forEach(destroyLinear);
    buffers.forEach((b) => b.destroy());
    throw e;
  }
}

export function destroyVisionWeights(w: VisionWeights): void {
  [w.patchEmbedding, w.adapterFc1, w.adapterFc2, w.projector].forEach(destroyLinear);
  [w.classEmbedding, w.positionalEmbedding, w.layernormPre.w, w.layernormPre.b, w.layernormPost.w, w.layernormPost.b].forEach((b) => b.destroy());
  for (const l of w.layers) {
    [l.q, l.k, l.v, l.o, l.fc1, l.fc2].forEach((x) => {
      destroyLinear(x.w);
      x.b.destroy();
    });
    [l.ln1, l.ln2].forEach((n) => {
      n.w.destroy();
      n.b.destroy();
    });
  }
}

/** cos/sin [patches + 1, headDim/2] of the vision 2-D RoPE: pair p < D/4 turns by (col+1)·f_p, the others by
 * (row+1)·f_(p−D/4), f_j = θ^(−2j/(D/2)) in f32; the class token (last) is not rotated. */
export function visionRopeTable(v: VisionConfig): Float32Array {
  const grid = v.imageSize / v.patchSize;
  const headDim = v.hiddenSize / v.numHeads;
  const half = headDim / 2; // complex pairs per head
  const quarter = half / 2; // frequencies per axis
  const freq = Array.from({ length: quarter }, (_, j) => Math.fround(1 / Math.fround(v.ropeTheta ** Math.fround((2 * j) / half))));
  const out = new Float32Array((grid * grid + 1) * half * 2);
  for (let t = 0; t <= grid * grid; t++) {
    for (let p = 0; p < half; p++) {
      let angle = 0;
      if (t < grid * grid) angle = p < quarter ? Math.fround(((t % grid) + 1) * freq[p]) : Math.fround((Math.floor(t / grid) + 1) * freq[p - quarter]);
      out[(t * half + p) * 2] = Math.cos(angle);
      out[(t * half + p) * 2 + 1] = Math.sin(angle);
    }
  }
  return out;
}

/** Activations for one tile, reused tile after tile. */
export class VisionEncoder {
  private pixels: GPUBuffer; // [3, S, S]
  private patches: GPUBuffer; // [g², 3p²]
  private x: GPUBuffer; // [g²+1, H] residual stream
  private h: GPUBuffer; // [g²+1, H]
  private q: GPUBuffer;
  private k: GPUBuffer;
  private v: GPUBuffer;
  private attnOut: GPUBuffer;
  private blockOut: GPUBuffer;
  private mlp: GPUBuffer; // [g²+1, I]
  private shuffled: GPUBuffer; // [N, 4H]
  private adapter1: GPUBuffer; // [N, visionOutputDim]
  private adapter2: GPUBuffer; // [N, projectorOutputDim]
  private ropeTable: GPUBuffer;
  readonly features: GPUBuffer; // [N, text hidden]: the projected features of the last encoded tile
  readonly adapterOutput: GPUBuffer; // = adapter2, the vision features before the projector
  readonly tokens: number;

  constructor(private ctx: GpuContext, private config: ModelConfig, private w: VisionWeights) {
    const v = config.vision!;
    const g = v.imageSize / v.patchSize, T = g * g + 1, H = v.hiddenSize;
    this.tokens = tokensPerTile(v);
    const buf = (n: number, label: string) => ctx.createBuffer(n * 4, label);
    this.pixels = buf(3 * v.imageSize ** 2, 'vision.pixels');
    this.patches = buf(g * g * 3 * v.patchSize ** 2, 'vision.patches');
    this.x = buf(T * H, 'vision.x');
    this.h = buf(T * H, 'vision.h');
    this.q = buf(T * H, 'vision.q');
    this.k = buf(T * H, 'vision.k');
    this.v = buf(T * H, 'vision.v');
    this.attnOut = buf(T * H, 'vision.attnOut');
    this.blockOut = buf(T * H, 'vision.blockOut');
    this.mlp = buf(T * v.intermediateSize, 'vision.mlp');
    this.shuffled = buf(this.tokens * 4 * H, 'vision.shuffled');
    this.adapter1 = buf(this.tokens * v.projectorInputDim, 'vision.adapter1');
    this.adapter2 = buf(this.tokens * v.projectorOutputDim, 'vision.adapter2');
    this.adapterOutput = this.adapter2;
    this.features = buf(this.tokens * config.text.hiddenSize, 'vision.features');
    this.ropeTable = ctx.upload(visionRopeTable(v), 'vision.rope');
  }

  /** Records the encoding of one tile [3, S, S]; the result lands in `features` once the work is submitted. */
  encodeTile(tile: Float32Array): void {
    const { ctx, w } = this;
    const v = this.config.vision!;
    const g = v.imageSize / v.patchSize, P = g * g, T = P + 1, H = v.hiddenSize, heads = v.numHeads, hd = H / heads;
    ctx.write(this.pixels, tile);
    patchify(ctx, this.pixels, this.patches, v.imageSize, v.patchSize);
    linear(ctx, w.patchEmbedding, this.patches, this.h, { items: P });
    ctx.commandEncoder().copyBufferToBuffer(w.classEmbedding, 0, this.h, P * H * 4, H * 4); // class token last
    residualAdd(ctx, this.h, w.positionalEmbedding, T, H);
    layernorm(ctx, this.h, w.layernormPre.w, w.layernormPre.b, this.x, T, H, 1e-5);
    for (const l of w.layers) {
      layernorm(ctx, this.x, l.ln1.w, l.ln1.b, this.h, T, H, 1e-5);
      this.linearBias(l.q, this.h, this.q, T);
      this.linearBias(l.k, this.h, this.k, T);
      this.linearBias(l.v, this.h, this.v, T);
      rope(ctx, this.q, this.ropeTable, T, heads, hd);
      rope(ctx, this.k, this.ropeTable, T, heads, hd);
      attention(ctx, this.q, this.k, this.v, this.attnOut, { tokens: T, heads, kvHeads: heads, headDim: hd, startPos: 0, cacheLen: T, chunk: 0, bidirectional: true });
      this.linearBias(l.o, this.attnOut, this.blockOut, T);
      residualAdd(ctx, this.x, this.blockOut, T, H);
      layernorm(ctx, this.x, l.ln2.w, l.ln2.b, this.h, T, H, 1e-5);
      this.linearBias(l.fc1, this.h, this.mlp, T);
      gelu(ctx, this.mlp, T * v.intermediateSize);
      this.linearBias(l.fc2, this.mlp, this.blockOut, T);
      residualAdd(ctx, this.x, this.blockOut, T, H);
    }
    layernorm(ctx, this.x, w.layernormPost.w, w.layernormPost.b, this.h, T, H, 1e-5);
    pixelShuffle(ctx, this.h, this.shuffled, g, H); // rows 0..P−1: the class token is dropped
    linear(ctx, w.adapterFc1, this.shuffled, this.adapter1, { items: this.tokens });
    gelu(ctx, this.adapter1, this.tokens * v.projectorInputDim);
    linear(ctx, w.adapterFc2, this.adapter1, this.adapter2, { items: this.tokens });
    gelu(ctx, this.adapter2, this.tokens * v.projectorOutputDim);
    linear(ctx, w.projector, this.adapter2, this.features, { items: this.tokens });
  }

  private linearBias(l: LinearWithBias, x: GPUBuffer, y: GPUBuffer, rows: number): void {
    linear(this.ctx, l.w, x, y, { items: rows });
    addBias(this.ctx, y, l.b, rows, l.w.rows);
  }

  destroy(): void {
    [this.pixels, this.patches, this.x, this.h, this.q, this.k, this.v, this.attnOut, this.blockOut, this.mlp, this.shuffled, this.adapter1, this.adapter2, this.features, this.ropeTable].forEach((b) => b.destroy());
  }
}
