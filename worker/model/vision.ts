// The Llama 4 vision tower, adapter and multi-modal projector (../shared/docs/llama4-spec.md §3.2–3.4), one tile
// at a time: pixels [3, S, S] → projected features [N, text hidden] with N = (S/p)² · ratio² tokens.
import type { GpuContext } from '../../kernels/runtime.ts';
import { linear, linearBytes, destroyLinear, type LinearWeight } from '../../kernels/linear/linear.ts';
import { uploadMatrix } from '../../kernels/linear/upload.ts';
import { patchify } from '../../kernels/patchify/patchify.ts';
import { residualAdd } from '../../kernels/residual/residual.ts';
import { layernorm } from '../../kernels/layernorm/layernorm.ts';
import { addBias } from '../../kernels/bias/bias.ts';
import { rope } from '../../kernels/rope/rope.ts';
import { attention } from '../../kernels/attention/attention.ts';
import { gelu } from '../../kernels/gelu/gelu.ts';
import { pixelShuffle } from '../../kernels/pixel-shuffle/pixel-shuffle.ts';
import { EngineError } from '../../protocol/errors.ts';
import type { ModelConfig, VisionConfig } from './config.ts';
import { visionKey, visionTensorSpecs, type EngineTensor, type VisionTensorSpec } from './engine-tensors.ts';

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

/**
 * Builds the vision weights from the engine tensor stream (engine-tensors.ts yields the vision tensors after the text
 * ones, from a checkpoint or from the weight store): each tensor is uploaded as it arrives, so memory holds one
 * tensor at a time; finish() checks that every one came.
 */
export class VisionWeightsBuilder {
  private buffers = new Map<string, GPUBuffer>();
  private linears = new Map<string, LinearWeight>();
  private specs: Map<string, VisionTensorSpec>;

  constructor(private ctx: GpuContext, private config: ModelConfig) {
    if (!config.vision) throw new EngineError('bad-model', 'This model has no vision tower (config.json has no vision_config): it cannot read images.');
    if (config.vision.pixelShuffleRatio !== 0.5) throw new EngineError('bad-model', `vision_config.pixel_shuffle_ratio ${config.vision.pixelShuffleRatio} is not supported (Llama 4 uses 0.5)`);
    this.specs = new Map(visionTensorSpecs(config).map((t) => [visionKey(t.name), t]));
  }

  /** Whether a tensor of the stream belongs to the vision tower. */
  static owns(t: EngineTensor): boolean {
    return t.key.startsWith(visionKey(''));
  }

  accept(t: EngineTensor): void {
    const spec = this.specs.get(t.key);
    if (!spec) throw new EngineError('bad-model', `unexpected vision tensor ${t.key}`);
    const part = t.parts[0];
    if (spec.kind === 'linear') {
      const old = this.linears.get(t.key);
      if (old) destroyLinear(old);
      this.linears.set(t.key, uploadMatrix(this.ctx, spec.name, part.format, part.rows, part.cols, part.data));
    } else {
      if (!(part.data instanceof Float32Array)) throw new EngineError('bad-model', `${spec.name}: a vision bias, norm or embedding must be f32`);
      this.buffers.get(t.key)?.destroy();
      this.buffers.set(t.key, this.ctx.upload(part.data, spec.name));
    }
  }

  finish(): VisionWeights {
    const v = this.config.vision!;
    const missing = [...this.specs.keys()].filter((k) => !this.linears.has(k) && !this.buffers.has(k));
    if (missing.length) throw new EngineError('bad-model', `the vision tower lacks ${missing.length} tensor${missing.length === 1 ? '' : 's'}: ${missing.slice(0, 3).map((k) => k.slice(visionKey('').length)).join(', ')}${missing.length > 3 ? ', …' : ''}`);
    const lin = (name: string) => this.linears.get(visionKey(name))!;
    const vec = (name: string) => this.buffers.get(visionKey(name))!;
    const linBias = (prefix: string): LinearWithBias => ({ w: lin(`${prefix}.weight`), b: vec(`${prefix}.bias`) });
    const norm = (prefix: string): NormWeights => ({ w: vec(`${prefix}.weight`), b: vec(`${prefix}.bias`) });
    const m = 'vision_model.';
    const layers: EncoderLayer[] = Array.from({ length: v.numLayers }, (_, l) => {
      const L = `${m}model.layers.${l}.`;
      return {
        ln1: norm(`${L}input_layernorm`),
        q: linBias(`${L}self_attn.q_proj`),
        k: linBias(`${L}self_attn.k_proj`),
        v: linBias(`${L}self_attn.v_proj`),
        o: linBias(`${L}self_attn.o_proj`),
        ln2: norm(`${L}post_attention_layernorm`),
        fc1: linBias(`${L}mlp.fc1`),
        fc2: linBias(`${L}mlp.fc2`),
      };
    });
    return {
      patchEmbedding: lin(`${m}patch_embedding.linear.weight`),
      classEmbedding: vec(`${m}class_embedding`),
      positionalEmbedding: vec(`${m}positional_embedding_vlm`),
      layernormPre: norm(`${m}layernorm_pre`),
      layernormPost: norm(`${m}layernorm_post`),
      layers,
      adapterFc1: lin(`${m}vision_adapter.mlp.fc1.weight`),
      adapterFc2: lin(`${m}vision_adapter.mlp.fc2.weight`),
      projector: lin('multi_modal_projector.linear_1.weight'),
      gpuBytes: [...this.linears.values()].reduce((s, w) => s + linearBytes(w), 0) + [...this.buffers.values()].reduce((s, b) => s + b.size, 0),
    };
  }

  /** Frees what was uploaded (a load that failed). */
  release(): void {
    this.linears.forEach(destroyLinear);
    this.buffers.forEach((b) => b.destroy());
    this.linears.clear();
    this.buffers.clear();
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
