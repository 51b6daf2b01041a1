// The Llama 4 text decoder as a plain forward pass over kernel calls (../shared/docs/llama4-spec.md §2).
// Three state types, created and destroyed in pairs: the config (config.ts), the weights (weights.ts) and the
// run state below (activations sized for one batch of tokens, and the KV cache).
import type { GpuContext } from '../../kernels/runtime.ts';
import { embedding } from '../../kernels/embedding/embedding.ts';
import { rmsnorm } from '../../kernels/rmsnorm/rmsnorm.ts';
import { linear, MATVEC_MAX_ITEMS, q4FloatXForced, readsIntegerX } from '../../kernels/linear/linear.ts';
import { linearNormIn, normInFusable, type NormIn } from '../../kernels/linear/linear-norm.ts';
import { integerDotPath, XQ_BLOCK_BYTES } from '../../kernels/linear/quantize-x.ts';
import { denseMlp, denseMlpFusable, expertDown, expertGateUp, expertMlpFusable, integerActivations } from '../../kernels/linear/expert-mlp.ts';
import { ropeInvFreq, ropeTable } from '../../kernels/rope/rope.ts';
import { attentionTemperatures } from '../../kernels/temperature/temperature.ts';
import { addNorm, addNormRouterFusable, type AddNormRouter } from '../../kernels/add-norm/add-norm.ts';
import { integerOutput, qkPrepAttention, type PrepAttentionCall } from '../../kernels/attention/attention.ts';
import { routeTopK, routerFusable, routerMatvec, routerMatvecTopK } from '../../kernels/router/router.ts';
import { swiglu } from '../../kernels/swiglu/swiglu.ts';
import { EngineError } from '../../protocol/errors.ts';
import type { TextConfig } from './config.ts';
import type { LayerWeights, MlpWeights, MoeWeights, TextWeights } from './weights.ts';
import { kvBytesPerElement, type KvFormat } from '../../kernels/attention/kv-format.ts';
import { ExpertPager, residentSlots, type ExpertResidency } from '../pager/pager.ts';

export interface RunState {
  maxBatch: number;
  contextLength: number;
  ids: GPUBuffer; // [B] u32
  x: GPUBuffer; // [B, hidden] residual stream between layers (after the embeddings and after each layer)
  xMid: GPUBuffer; // [B, hidden] residual stream inside a layer, between attention and MLP/MoE (add-norm writes the residual to another buffer than it reads: x → xMid → x)
  h: GPUBuffer; // [B, hidden] normed input of a block
  hq: GPUBuffer; // [MATVEC_MAX_ITEMS, hidden / 32 blocks]: h in integer form (quantize-x.ts), written by add-norm at decode for the q4 mat-vecs
  q: GPUBuffer; // [B, heads·headDim]
  qkv: GPUBuffer; // [B, (heads + 2·kvHeads)·headDim]: the fused projection's output
  attnOut: GPUBuffer; // [B, heads·headDim]
  attnOutQ: GPUBuffer; // [MATVEC_MAX_ITEMS, heads·headDim / 32 blocks]: attnOut in integer form, written by the decode attention for o_proj
  blockOut: GPUBuffer; // [B, hidden]: o_proj, dense MLP or shared expert output
  gateUp: GPUBuffer; // [B, 2·max(F, F_mlp)]
  act: GPUBuffer; // [B, max(F, F_mlp)]
  routerLogits: GPUBuffer; // [B, experts]
  expertIds: GPUBuffer; // [B·k] u32
  expertScores: GPUBuffer; // [B·k]
  expertSlots: GPUBuffer; // [B·k] u32: the slot of each item's expert when paging (0xffffffff: not this round)
  predictedIds: GPUBuffer; // [B·k] u32: next MoE layer's experts predicted from this layer's residual
  predictH: GPUBuffer; // [B, hidden]: the next MoE layer's normed input, for that prediction
  routedGateUp: GPUBuffer; // [B·k, 2F]; decode's fused expert path: the activations, [T·k routed + T shared rows, F]
  routedAct: GPUBuffer; // [B·k, F]
  routedOut: GPUBuffer; // [B·k, hidden]; decode's fused expert path: the rows of items j ≥ 1, [T·(k − 1), hidden]
  ropeTable: GPUBuffer; // [B, headDim/2] (cos, sin)
  temperatures: GPUBuffer; // [B]
  lastHidden: GPUBuffer; // [1, hidden]
  logits: GPUBuffer; // [rows, vocab], grown on demand
  logitRows: number;
  kCache: GPUBuffer[]; // per layer [cacheLen(l), kvHeads·headDim] in kvFormat's elements
  vCache: GPUBuffer[];
  kvFormat: KvFormat; // the caches' elements: f32, or f16 two to a u32 (kernels/attention/kv-format.ts)
  cacheLen: number[]; // chunk size on RoPE (chunked) layers, the context length on NoPE layers
}

/** Rows [row, row + count) of the batch take their embeddings from source rows [sourceRow, …) instead. */
export interface EmbedOverride {
  row: number;
  source: GPUBuffer;
  sourceRow: number;
  count: number;
}

export interface ForwardOptions {
  /** logits for every token, written at rows rowBase.. of a logits buffer of `total` rows */
  logitRows?: { rowBase: number; total: number };
  embeds?: EmbedOverride[];
  /**
   * leave the last piece's work recorded but not submitted, so the caller's next kernels (sampling, a read-back)
   * go in the same submission: one command buffer per decode step
   */
  defer?: boolean;
  /** the token ids are this GPU buffer's first ids.length u32 (a token sampled on the GPU, decode.ts), not `ids` */
  idsFrom?: GPUBuffer;
}

/**
 * Tokens per prefill piece (the run state's batch): 256 on GPUs, where each piece's linears are tiled GEMMs
 * (kernels/matmul) that re-read every weight once per piece and need many item tiles to fill the GPU (Scout: ~370 KB
 * of activations per token, 94 MB at 256); 64 on CPU adapters (SwiftShader), as before.
 */
export function prefillBatch(ctx: GpuContext): number {
  return ctx.cpuKernels ? 64 : 256;
}

export function createRunState(ctx: GpuContext, c: TextConfig, contextLength: number, maxBatch = prefillBatch(ctx), kvFormat: KvFormat = 'f32'): RunState {
  const f = 4;
  const B = maxBatch;
  const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
  const ffnMax = Math.max(c.intermediateSize, c.isMoe.every(Boolean) ? 0 : c.intermediateSizeMlp);
  const k = c.topK;
  const buf = (n: number, label: string) => ctx.createBuffer(n * f, label);
  const cacheLen = c.usesRope.map((r) => (r ? Math.min(c.attentionChunkSize, contextLength) : contextLength));
  return {
    maxBatch: B,
    contextLength,
    ids: buf(B, 'ids'),
    x: buf(B * c.hiddenSize, 'x'),
    xMid: buf(B * c.hiddenSize, 'xMid'),
    h: buf(B * c.hiddenSize, 'h'),
    hq: ctx.createBuffer(MATVEC_MAX_ITEMS * Math.ceil(c.hiddenSize / 32) * XQ_BLOCK_BYTES, 'hq'),
    q: buf(B * qDim, 'q'),
    qkv: buf(B * (qDim + 2 * kvDim), 'qkv'),
    attnOut: buf(B * qDim, 'attnOut'),
    attnOutQ: ctx.createBuffer(MATVEC_MAX_ITEMS * Math.ceil(qDim / 32) * XQ_BLOCK_BYTES, 'attnOutQ'),
    blockOut: buf(B * c.hiddenSize, 'blockOut'),
    gateUp: buf(B * 2 * ffnMax, 'gateUp'),
    act: buf(B * ffnMax, 'act'),
    routerLogits: buf(B * c.numExperts, 'routerLogits'),
    expertIds: buf(B * k, 'expertIds'),
    expertScores: buf(B * k, 'expertScores'),
    expertSlots: buf(B * k, 'expertSlots'),
    predictedIds: buf(B * k, 'predictedIds'),
    predictH: buf(B * c.hiddenSize, 'predictH'),
    routedGateUp: buf(Math.max(B * k, MATVEC_MAX_ITEMS * (k + 1)) * 2 * c.intermediateSize, 'routedGateUp'),
    routedAct: buf(B * k * c.intermediateSize, 'routedAct'),
    routedOut: buf(B * k * c.hiddenSize, 'routedOut'),
    ropeTable: buf(B * c.headDim, 'ropeTable'),
    temperatures: buf(B, 'temperatures'),
    lastHidden: buf(c.hiddenSize, 'lastHidden'),
    logits: buf(c.vocabSize, 'logits'),
    logitRows: 1,
    kCache: cacheLen.map((n, l) => ctx.createBuffer(n * kvDim * kvBytesPerElement(kvFormat), `kCache${l}`)),
    vCache: cacheLen.map((n, l) => ctx.createBuffer(n * kvDim * kvBytesPerElement(kvFormat), `vCache${l}`)),
    kvFormat,
    cacheLen,
  };
}

/**
 * How many positions of the KV cache a prefill may keep when the cache holds `cached` positions and the next prompt
 * agrees with them on its first `common` tokens (the conversation's KV lifecycle, worker/session.ts).
 * NoPE layers keep every position, so any prefix of them is valid. Chunked RoPE layers keep a ring of one attention
 * chunk (RunState.cacheLen): slot j % chunk holds the newest position written there, and a query sees only its own
 * chunk. A cut at a chunk boundary, or inside the chunk of the newest written position (cached − 1), leaves the
 * earlier positions of its chunk in their slots (later slots are rewritten before any query reads them). A cut in an
 * earlier chunk finds that chunk's slots overwritten by later chunks: the prefill restarts at that chunk's start
 * (re-running positions whose NoPE entries it rewrites with the same values).
 */
export function reusablePrefix(c: TextConfig, cached: number, common: number): number {
  const keep = Math.max(0, Math.min(common, cached));
  if (keep === 0 || !c.usesRope.some(Boolean)) return keep;
  const chunk = c.attentionChunkSize;
  const chunkOf = (pos: number) => Math.floor(pos / chunk);
  if (keep % chunk === 0 || chunkOf(keep) === chunkOf(cached - 1)) return keep;
  return chunkOf(keep) * chunk;
}

export function destroyRunState(s: RunState): void {
  for (const [key, value] of Object.entries(s)) {
    if (key === 'kCache' || key === 'vCache') (value as GPUBuffer[]).forEach((b) => b.destroy());
    else if (value && typeof value === 'object' && 'destroy' in value) (value as GPUBuffer).destroy();
  }
}

/**
 * Tests and benchmarks: routeInExperts false (bench --router-topk) keeps the top-k dispatch where the expert kernels
 * would route (moe()); routerInNorm false (bench --router-separate) keeps the router's mat-vec in a dispatch of its own
 * where the post-attention add-norm would compute the logits.
 */
export const moeTuning = {
  routeInExperts: true,
  routerInNorm: true,
  /** under a pager, add-norm's integer h too (restored on re-runs); false: each q4 mat-vec quantizes h itself (the
   * form before 61cf62d; `bench -- model --paged-float-h`, to compare) */
  pagedIntegerH: true,
};
/**
 * intoQkv: at decode on the integer path, the add-norm that ends a layer runs inside the next layer's Q/K/V mat-vec
 * (kernels/linear/linear-norm.ts: one dispatch fewer per layer). Off by default until a GPU has measured it
 * (`bench -- model --norm-in-qkv`, docs/PERFORMANCE.md).
 */
export const normTuning = { intoQkv: false };

export class Llama4Text {
  /** s.hq while it holds the integer form of s.h (the last norm wrote it), else null */
  private hq: GPUBuffer | null = null;
  /** the add-norm that the next Q/K/V mat-vec does itself (normTuning.intoQkv), while one is left to it */
  private pendingNorm: NormIn | null = null;
  private invFreq: Float32Array;
  private experts: ExpertResidency;
  /**
   * Benchmarks only: expert ids that replace the router's choice, [MoE layer l][maxBatch·k] u32 (a controlled
   * routing locality); the router still runs, so the work per step is the same.
   */
  forcedRouting: GPUBuffer | null = null;
  /**
   * Submit the recorded work every this many layers (0: once per step). Submitting early lets the GPU start while
   * the CPU records the rest of the step: Scout decode on an H200 went from 29.8 to 19.7 ms per token with 8
   * (docs/PERFORMANCE.md); each submission costs a little.
   */
  submitEveryLayers = 8;

  constructor(
    readonly ctx: GpuContext,
    readonly config: TextConfig,
    private weights: TextWeights,
    readonly state: RunState,
    /** set when experts are paged; absent when every expert is resident */
    readonly pager: ExpertPager | null = null,
  ) {
    this.invFreq = ropeInvFreq(config.ropeTheta, config.headDim, config.ropeScaling);
    this.experts = pager ?? residentSlots;
  }

  /**
   * Runs `ids` at positions startPos.. through the model, filling the KV cache, and records logits into
   * state.logits: for the last token only (row 0), or, with `logitRows`, for every token at row rowBase + i.
   * `embeds` replace the token embeddings of some rows (early fusion of image features; indices relative to ids).
   * Splits the batch so that no piece crosses an attention chunk (the RoPE layers' cache ring holds one chunk)
   * or exceeds the run state's batch size; each piece is submitted before the next one is recorded.
   */
  async forward(ids: Uint32Array, startPos: number, options: ForwardOptions = {}): Promise<void> {
    const { ctx, config: c } = this;
    if (startPos + ids.length > this.state.contextLength) {
      throw new EngineError('context-too-long', `The conversation needs ${startPos + ids.length} tokens but the context is ${this.state.contextLength}. Start a new chat or shorten the message.`);
    }
    if (options.logitRows) this.ensureLogitRows(options.logitRows.total);
    let done = 0;
    while (done < ids.length) {
      const pos = startPos + done;
      const toChunkEnd = c.usesRope.some(Boolean) ? c.attentionChunkSize - (pos % c.attentionChunkSize) : Infinity;
      const n = Math.min(ids.length - done, this.state.maxBatch, toChunkEnd);
      const embeds = (options.embeds ?? [])
        .map((e) => ({ ...e, row: e.row - done }))
        .filter((e) => e.row < n && e.row + e.count > 0)
        .map((e) => {
          const skip = Math.max(0, -e.row);
          return { source: e.source, sourceRow: e.sourceRow + skip, row: e.row + skip, count: Math.min(e.count - skip, n - (e.row + skip)) };
        });
      if (options.idsFrom && n !== ids.length) throw new Error('ids taken from the GPU must fit in one piece');
      await this.forwardPiece(ids.subarray(done, done + n), pos, options.logitRows ? options.logitRows.rowBase + done : -1, embeds, options.idsFrom);
      done += n;
    }
    if (!options.defer) ctx.flush();
  }

  private ensureLogitRows(rows: number): void {
    if (this.state.logitRows >= rows) return;
    this.state.logits.destroy();
    this.state.logits = this.ctx.createBuffer(rows * this.config.vocabSize * 4, 'logits');
    this.state.logitRows = rows;
  }

  /** One batch of tokens that stays inside one attention chunk. logitRow < 0: only the last token's logits. */
  private async forwardPiece(ids: Uint32Array, startPos: number, logitRow: number, embeds: EmbedOverride[], idsFrom?: GPUBuffer): Promise<void> {
    const { ctx, config: c, weights: w, state: s } = this;
    const T = ids.length;
    ctx.flush(); // work recorded earlier reads the ids and rope table that these queue writes replace
    if (idsFrom) ctx.commandEncoder().copyBufferToBuffer(idsFrom, 0, s.ids, 0, T * 4);
    else ctx.write(s.ids, ids);
    const positions = Array.from({ length: T }, (_, t) => startPos + t);
    ctx.write(s.ropeTable, ropeTable(this.invFreq, positions));
    if (c.attnTemperatureTuning) ctx.write(s.temperatures, attentionTemperatures(positions, c.floorScale, c.attnScale));

    const rowBytes = c.hiddenSize * 4;
    const hqRowBytes = Math.ceil(c.hiddenSize / 32) * XQ_BLOCK_BYTES;
    const H = c.hiddenSize, eps = c.rmsNormEps;
    // paged decode runs speculatively (ExpertPager.beginStep): each MoE layer's experts come from the GPU-side slot
    // table, the chosen ids are read back once at the end, and the step runs again from the first MoE layer whose
    // experts were not all resident (from its saved input), until a pass had every expert it chose
    const pager = this.pager?.beginPiece(T * c.topK, c.numLayers, c.numExperts, c.isMoe.flatMap((moe, l) => (moe ? [l] : []))) ? this.pager : null;
    // decode with q4 weights and the integer dot product: add-norm also writes h in integer form for the mat-vecs that
    // read it (a pager's re-runs restore it from the checkpoint with h)
    const hqOut = (!pager || moeTuning.pagedIntegerH) && T <= MATVEC_MAX_ITEMS && w.lmHead.format === 'q4' && !q4FloatXForced() && integerDotPath(ctx, H) ? s.hq : null;
    for (let from = 0; from >= 0; from = pager ? await pager.endStep() : -1) {
      if (from === 0) {
        embedding(ctx, w.embedTokens, s.ids, s.x, T);
        for (const e of embeds) ctx.commandEncoder().copyBufferToBuffer(e.source, e.sourceRow * rowBytes, s.x, e.row * rowBytes, e.count * rowBytes);
        rmsnorm(ctx, s.x, w.layers[0].inputNorm, s.h, T, H, eps);
        this.hq = null;
        this.pendingNorm = null;
      }
      // each block ends with its residual update fused with the next norm, h = norm(x' = x + block output), x' in the
      // other residual buffer: attention takes x to xMid, the MLP or MoE xMid back to x
      for (let l = from; l < w.layers.length; l++) {
        const layer = w.layers[l];
        const nextNorm = l + 1 < w.layers.length ? w.layers[l + 1].inputNorm : w.norm;
        const resume = from > 0 && l === from; // a re-run starts at this layer's MoE block
        // routing in the expert kernels at decode (decided once per layer): the post-attention add-norm also
        // computes the router logits
        const moe = layer.ffn.kind === 'moe' ? layer.ffn.moe : null;
        const inExperts = moe !== null && this.routesInExperts(moe, T);
        const router = moe && inExperts && !resume ? this.routerInNorm(moe, T) : null;
        if (!resume) {
          this.attention(l, layer, T, startPos);
          addNorm(ctx, s.x, s.xMid, s.blockOut, null, layer.postAttentionNorm, s.h, T, H, eps, hqOut, router);
          this.hq = hqOut;
        }
        if (layer.ffn.kind === 'moe') {
          const saved = [{ buffer: s.xMid, bytes: T * rowBytes }, { buffer: s.h, bytes: T * rowBytes }, ...(hqOut ? [{ buffer: hqOut, bytes: T * hqRowBytes }] : [])];
          if (pager && resume) {
            pager.restore(l, saved);
            this.hq = hqOut;
          } else if (pager) pager.checkpoint(l, saved);
          const routedRows = await this.moe(layer.ffn.moe, l, T, inExperts, router !== null);
          this.endLayer(l, routedRows > 0 ? { b: s.routedOut, k: routedRows } : null, nextNorm, T, hqOut);
          await this.experts.afterMoe(l, () => this.predictNextExperts(l, T));
        } else {
          this.mlp(layer.ffn.mlp, s.h, T);
          this.endLayer(l, null, nextNorm, T, hqOut);
        }
        if (this.submitEveryLayers > 0 && (l + 1) % this.submitEveryLayers === 0) ctx.flush();
      }
      if (logitRow >= 0) {
        linear(ctx, w.lmHead, s.h, s.logits, { items: T, yOffset: logitRow * c.vocabSize, yStride: c.vocabSize, xq: this.hq ?? undefined });
      } else {
        ctx.commandEncoder().copyBufferToBuffer(s.h, (T - 1) * rowBytes, s.lastHidden, 0, rowBytes);
        // one token (decode): its h's integer form is hq's first row
        linear(ctx, w.lmHead, s.lastHidden, s.logits, { items: 1, xq: T === 1 ? (this.hq ?? undefined) : undefined });
      }
    }
  }

  /**
   * The end of layer l: x = xMid + its MLP or MoE output, h = the next norm of x (addNorm), or, with
   * normTuning.intoQkv at decode on the integer path, that left to the next layer's Q/K/V mat-vec.
   */
  private endLayer(l: number, routed: { b: GPUBuffer; k: number } | null, nextNorm: GPUBuffer, T: number, hqOut: GPUBuffer | null): void {
    const { ctx, config: c, state: s } = this;
    const next = this.weights.layers[l + 1];
    if (normTuning.intoQkv && hqOut && next && normInFusable(ctx, next.attention.qkv, T)) {
      this.pendingNorm = { x: s.xMid, xOut: s.x, a: s.blockOut, routed, weight: nextNorm, eps: c.rmsNormEps };
      this.hq = null;
      return;
    }
    addNorm(ctx, s.xMid, s.x, s.blockOut, routed, nextNorm, s.h, T, c.hiddenSize, c.rmsNormEps, hqOut);
    this.hq = hqOut;
  }

  /** Self-attention of layer l on s.h (or on the add-norm left to its Q/K/V mat-vec), output (after o_proj) in s.blockOut. */
  private attention(l: number, layer: LayerWeights, T: number, startPos: number): void {
    const { ctx, config: c, state: s } = this;
    const a = layer.attention;
    if (this.pendingNorm) linearNormIn(ctx, a.qkv, this.pendingNorm, s.qkv, T);
    else linear(ctx, a.qkv, s.h, s.qkv, { items: T, xq: this.hq ?? undefined });
    this.pendingNorm = null;
    // RoPE layers: rotate q and k, then QK norm; NoPE layers: attention temperature on q; k, v into the cache; then
    // attention (at decode on GPUs all in one dispatch)
    const call: PrepAttentionCall = {
      tokens: T,
      heads: c.numHeads,
      kvHeads: c.numKvHeads,
      headDim: c.headDim,
      startPos,
      cacheLen: s.cacheLen[l],
      chunk: c.usesRope[l] ? c.attentionChunkSize : 0,
      eps: c.rmsNormEps,
      rope: c.usesRope[l],
      qkNorm: c.useQkNorm,
      temperature: c.attnTemperatureTuning,
      kvFormat: s.kvFormat,
    };
    // at decode the attention also writes its output in o_proj's integer input form: no quantize_x dispatch
    const outXq = readsIntegerX(ctx, a.o, T) && integerOutput(ctx, call) ? s.attnOutQ : null;
    qkPrepAttention(ctx, s.qkv, s.q, s.ropeTable, s.temperatures, s.kCache[l], s.vCache[l], s.attnOut, call, outXq);
    linear(ctx, a.o, s.attnOut, s.blockOut, { items: T, xq: outXq ?? undefined });
  }

  /** SwiGLU MLP: blockOut = down(silu(gate(x)) ⊙ up(x)); for a few tokens on GPUs SwiGLU runs in the gate+up mat-vec. */
  private mlp(m: MlpWeights, x: GPUBuffer, T: number): void {
    const { ctx, state: s } = this;
    if (denseMlpFusable(ctx, m, T)) {
      denseMlp(ctx, m, x, s.act, s.blockOut, T, x === s.h ? (this.hq ?? undefined) : undefined);
      return;
    }
    const F = m.down.cols;
    linear(ctx, m.gateUp, x, s.gateUp, { items: T });
    swiglu(ctx, s.gateUp, s.act, T, F);
    linear(ctx, m.down, s.act, s.blockOut, { items: T });
  }

  /**
   * MoE: the router picks top-k experts on raw logits (decode on GPUs: logits over many workgroups, then top-k); each selected expert runs on its input scaled by
   * sigmoid(logit); the shared expert runs on the input as is. The experts' residency (resident, or paged in groups
   * that fit the slots) decides which slot each item's kernels read. Returns how many routed rows per token
   * add-norm must still add to blockOut (in routedOut):
   * - decode on GPUs (expertMlpFusable): two dispatches per round, routed + shared gate+up with SwiGLU, then down of
   *   both into blockOut (the shared expert and each token's first routed expert in one reduction); the shared rows
   *   go with the first round, every item with its own round, so the result does not depend on the rounds; k − 1.
   *   With top-1 routing (Scout, Maverick), every expert resident and no forced routing (routesInExperts), the two
   *   kernels pick the expert and score from the router logits themselves: no top-k dispatch, and s.expertIds /
   *   s.expertScores are not written; the logits come from the post-attention add-norm (`logitsReady`,
   *   routerInNorm) or from the router's mat-vec here.
   * - otherwise: routed gate+up, SwiGLU, down into routedOut, and the shared expert's MLP into blockOut; k.
   */
  private async moe(m: MoeWeights, l: number, T: number, inExperts: boolean, logitsReady: boolean): Promise<number> {
    const { ctx, config: c, state: s } = this;
    const k = c.topK, F = c.intermediateSize, items = T * k;
    const fused = expertMlpFusable(ctx, m.experts, m.shared, T);
    if (inExperts) {
      if (!logitsReady) routerMatvec(ctx, m.router, s.h, s.routerLogits, T);
      const integer = integerActivations(ctx, m.experts);
      const route = { tokens: T, k, slots: s.routerLogits, routeExperts: c.numExperts, integerActivations: integer };
      expertGateUp(ctx, m.experts.gateUp, m.shared.gateUp, s.h, s.routedGateUp, { ...route, scores: s.expertScores, withShared: true, xq: this.hq ?? undefined });
      expertDown(ctx, m.experts.down, m.shared.down, s.routedGateUp, s.blockOut, null, route);
      return 0;
    }
    if (routerFusable(ctx, m.router, T, k)) {
      routerMatvecTopK(ctx, m.router, s.h, s.routerLogits, s.expertIds, s.expertScores, T, k); // decode: logits over the GPU, then top-k
    } else {
      linear(ctx, m.router, s.h, s.routerLogits, { items: T });
      routeTopK(ctx, s.routerLogits, s.expertIds, s.expertScores, T, c.numExperts, k);
    }
    if (this.forcedRouting) ctx.commandEncoder().copyBufferToBuffer(this.forcedRouting, l * s.maxBatch * k * 4, s.expertIds, 0, items * 4);
    if (fused) {
      let first = true;
      const integer = integerActivations(ctx, m.experts);
      await this.experts.run(l, s.expertIds, items, s.expertSlots, (slots) => {
        expertGateUp(ctx, m.experts.gateUp, m.shared.gateUp, s.h, s.routedGateUp, { tokens: T, k, slots, scores: s.expertScores, withShared: first, integerActivations: integer, xq: this.hq ?? undefined });
        expertDown(ctx, m.experts.down, m.shared.down, s.routedGateUp, s.blockOut, k > 1 ? s.routedOut : null, { tokens: T, k, slots, integerActivations: integer });
        first = false;
      });
      return k - 1;
    }
    await this.experts.run(l, s.expertIds, items, s.expertSlots, (slots) => {
      linear(ctx, m.experts.gateUp, s.h, s.routedGateUp, { items, xRowDiv: k, expertIds: slots, scores: s.expertScores });
      swiglu(ctx, s.routedGateUp, s.routedAct, items, F);
      linear(ctx, m.experts.down, s.routedAct, s.routedOut, { items, expertIds: slots });
    });
    this.mlp(m.shared, s.h, T);
    return k;
  }

  /** Whether moe() lets the expert kernels pick the experts from the router logits (no top-k dispatch). */
  private routesInExperts(m: MoeWeights, T: number): boolean {
    const { ctx, config: c } = this;
    return expertMlpFusable(ctx, m.experts, m.shared, T) && c.topK === 1 && !this.pager && !this.forcedRouting && moeTuning.routeInExperts && routerFusable(ctx, m.router, T, c.topK);
  }

  /** For a layer that routesInExperts: the router for the post-attention add-norm to compute its logits into s.routerLogits, or null. */
  private routerInNorm(m: MoeWeights, T: number): AddNormRouter | null {
    const fold = moeTuning.routerInNorm && addNormRouterFusable(this.ctx, m.router, T);
    return fold ? { weight: m.router, logits: this.state.routerLogits } : null;
  }

  /** Applies the next MoE layer's norm and router to this layer's residual, so its experts can be read early. */
  private async predictNextExperts(l: number, T: number): Promise<{ layer: number; experts: number[] } | null> {
    const { ctx, config: c, state: s } = this;
    const next = c.isMoe.findIndex((moe, i) => moe && i > l);
    if (next < 0) return null;
    const layer = this.weights.layers[next];
    if (layer.ffn.kind !== 'moe') return null;
    rmsnorm(ctx, s.x, layer.postAttentionNorm, s.predictH, T, c.hiddenSize, c.rmsNormEps); // s.h holds the next layer's input
    linear(ctx, layer.ffn.moe.router, s.predictH, s.routerLogits, { items: T });
    routeTopK(ctx, s.routerLogits, s.predictedIds, s.expertScores, T, c.numExperts, c.topK);
    return { layer: next, experts: [...new Set(await ctx.readU32(s.predictedIds, 0, T * c.topK))] };
  }
}

