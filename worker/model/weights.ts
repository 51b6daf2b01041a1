// Llama 4 text weights on the GPU, built from a stream of engine tensors (engine-tensors.ts): from a checkpoint
// (quantized on the way when q4) or from a weight package (already quantized). Routed experts go to an
// ExpertSink: straight into a GPU pool with one slot per expert (resident), or to a pager's RAM tier.
import { EngineError } from '../../protocol/errors.ts';
import { concatLinears, createLinear, linearBytes, destroyLinear, writeRows, type LinearWeight } from '../../kernels/linear/linear.ts';
import { createLinearPool, writeSlot } from '../../kernels/linear/pool.ts';
import { uploadMatrix } from '../../kernels/linear/upload.ts';
import type { GpuContext } from '../../kernels/runtime.ts';
import type { LoadTimings } from '../load-timings.ts';
import type { ModelConfig } from './config.ts';
import { keys, type EngineTensor, type MatrixPart } from './engine-tensors.ts';

export interface AttentionWeights {
  /** q_proj, k_proj and v_proj stacked: [(heads + 2·kvHeads)·headDim, hidden], one mat-vec for the three */
  qkv: LinearWeight;
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

/** Where the assembly below takes each weight from; shapes are checked (or, for synthetic weights, used). */
export interface WeightSource {
  linear(key: string, rows: number, cols: number, f32?: boolean): LinearWeight;
  /** the weights of `parts` (key, rows) stacked into one (their rows one after another) */
  stacked(name: string, parts: [string, number][], cols: number): LinearWeight;
  vector(key: string, n: number): GPUBuffer;
  /** layer l's routed-expert pools */
  pool(l: number): MlpWeights;
  /** the lm_head when the checkpoint has none (tied to the embedding): null */
  lmHead(rows: number, cols: number): LinearWeight | null;
}

/** The text weights of a config, tensor by tensor, in the forward pass's structure (llama4-spec.md §5.1). */
export function assembleTextWeights(config: ModelConfig, src: WeightSource): Omit<TextWeights, 'gpuBytes'> {
  const c = config.text;
  const H = c.hiddenSize, qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const attention = {
      qkv: src.stacked(`layers.${l}.attention.qkv`, [[keys.attention(l, 'q'), qDim], [keys.attention(l, 'k'), kvDim], [keys.attention(l, 'v'), kvDim]], H),
      o: src.linear(keys.attention(l, 'o'), H, qDim),
    };
    let ffn: LayerWeights['ffn'];
    if (c.isMoe[l]) {
      const F = c.intermediateSize;
      ffn = {
        kind: 'moe',
        moe: {
          router: src.linear(keys.router(l), c.numExperts, H, true),
          experts: src.pool(l),
          shared: { gateUp: src.linear(keys.shared(l, 'gate_up'), 2 * F, H), down: src.linear(keys.shared(l, 'down'), H, F) },
        },
      };
    } else {
      const F = c.intermediateSizeMlp;
      ffn = { kind: 'dense', mlp: { gateUp: src.linear(keys.mlp(l, 'gate_up'), 2 * F, H), down: src.linear(keys.mlp(l, 'down'), H, F) } };
    }
    layers.push({ inputNorm: src.vector(keys.inputNorm(l), H), postAttentionNorm: src.vector(keys.postAttentionNorm(l), H), attention, ffn });
  }
  const embedTokens = src.linear(keys.embed, c.vocabSize, H);
  const lmHead = src.lmHead(c.vocabSize, H) ?? (c.tieWordEmbeddings ? embedTokens : src.linear(keys.lmHead, c.vocabSize, H));
  return { embedTokens, layers, norm: src.vector(keys.norm, H), lmHead };
}

/** GPU bytes of a set of text weights (a tied lm_head counted once). */
export function textWeightBytes(w: Omit<TextWeights, 'gpuBytes'>): number {
  const seen = new Set<LinearWeight>();
  let bytes = 0;
  const lin = (x: LinearWeight) => {
    if (!seen.has(x)) bytes += linearBytes(x);
    seen.add(x);
  };
  lin(w.embedTokens);
  lin(w.lmHead);
  bytes += w.norm.size;
  for (const l of w.layers) {
    bytes += l.inputNorm.size + l.postAttentionNorm.size;
    Object.values(l.attention).forEach(lin);
    if (l.ffn.kind === 'moe') [l.ffn.moe.router, l.ffn.moe.experts.gateUp, l.ffn.moe.experts.down, l.ffn.moe.shared.gateUp, l.ffn.moe.shared.down].forEach(lin);
    else [l.ffn.mlp.gateUp, l.ffn.mlp.down].forEach(lin);
  }
  return bytes;
}

/** Queue writes allowed in flight while loading before waiting for the GPU (bounds Dawn's staging memory). */
const SETTLE_BYTES = 256 * 1024 * 1024;

export async function loadTextWeights(
  ctx: GpuContext,
  config: ModelConfig,
  tensors: AsyncIterable<EngineTensor>,
  experts: ExpertSink,
  /** time spent writing to the GPU ('upload'), waiting for it ('gpuWait') and stacking weights ('assemble') */
  timings?: LoadTimings,
): Promise<TextWeights> {
  const clock = () => (timings ? performance.now() : 0);
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
      const t0 = clock();
      const part = t.parts[0];
      if (t.kind === 'vector') {
        if (part.data instanceof Float32Array) vectors.set(t.key, ctx.upload(part.data, t.key));
        else throw new EngineError('bad-model', `${t.key}: a norm weight must be f32`);
      } else if (t.kind === 'linear' && part.rowStart !== undefined) {
        // one piece of a large tensor (a stored record): written where it belongs, never reassembled in memory
        let w = linears.get(t.key);
        if (!w) linears.set(t.key, (w = createLinear(ctx, t.key, part.format, part.rows, part.cols)));
        if (w.format !== part.format || w.cols !== part.cols || w.rows !== part.rows) throw new EngineError('bad-model', `${t.key}: its pieces disagree on shape or format`);
        writeRows(ctx, w, part.rowStart, part.rowCount ?? part.rows - part.rowStart, part.data);
      } else if (t.kind === 'linear') {
        linears.set(t.key, uploadMatrix(ctx, t.key, part.format, part.rows, part.cols, part.data));
      } else {
        experts.accept(t.layer!, t.expert!, t.parts, poolFor(t.layer!, t));
      }
      timings?.add('upload', clock() - t0);
      if (ctx.pendingWriteBytes > SETTLE_BYTES) {
        const t1 = clock();
        await ctx.settleWrites();
        timings?.add('gpuWait', clock() - t1);
      }
    }
    const t1 = clock();
    await ctx.settleWrites();
    timings?.add('gpuWait', clock() - t1);
    const t2 = clock();
    const missing = (key: string) => new EngineError('bad-model', `the model has no ${key}`);
    const linear = (key: string, rows: number, cols: number) => {
      const w = linears.get(key);
      if (!w) throw missing(key);
      if (w.rows !== rows || w.cols !== cols) throw new EngineError('bad-model', `${key} is [${w.rows}, ${w.cols}], expected [${rows}, ${cols}]`);
      return w;
    };
    const assembled = assembleTextWeights(config, {
      linear,
      stacked(name, parts, cols) {
        const ws = parts.map(([key, rows]) => linear(key, rows, cols));
        const w = concatLinears(ctx, name, ws);
        ctx.flush();
        for (const [key] of parts) linears.delete(key);
        ws.forEach(destroyLinear); // destroyed after the submitted copies have run
        linears.set(name, w);
        return w;
      },
      vector(key) {
        const v = vectors.get(key);
        if (!v) throw missing(key);
        return v;
      },
      pool(l) {
        const p = pools.get(l);
        if (!p) throw new EngineError('bad-model', `the model has no routed experts for layer ${l}`);
        return p;
      },
      lmHead: () => linears.get(keys.lmHead) ?? null,
    });
    timings?.add('assemble', clock() - t2);
    return { ...assembled, gpuBytes: textWeightBytes(assembled) };
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
