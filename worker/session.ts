// A loaded model on one GPU: config + tokenizer + weights + run state, and the generation loop.
// No DOM here: the Web Worker and Node (verify, tests) both use it.
import { GpuContext } from '../kernels/runtime.ts';
import { sampleToken, seededRandom } from '../kernels/sample/sample.ts';
import { EngineError } from '../protocol/errors.ts';
import type { GenerationResult, LoadOptions, SamplingOptions, TokenEvent } from '../protocol/api.ts';
import type { WeightFormat } from '../kernels/linear/weight-format.ts';
import { parseConfig, type ModelConfig } from './model/config.ts';
import { createRunState, destroyRunState, Llama4Text, type EmbedOverride } from './model/llama4.ts';
import type { ModelFiles } from './model/safetensors.ts';
import { destroyTextWeights, loadTextWeights, residentExperts, type TextWeights } from './model/weights.ts';
import { engineTensors, type EngineTensor, type ReadProgress } from './model/engine-tensors.ts';
import { CachedExperts, ExpertPager, RamExperts, type ExpertSource } from './pager/pager.ts';
import { ChatTokenizer, StreamingDecoder } from './text/tokenizer.ts';
import { destroyVisionWeights, loadVisionWeights, VisionEncoder, type VisionWeights } from './model/vision.ts';

/** One image's preprocessed tiles: [tiles, 3, S, S] (raster tiles, then the global tile). */
export interface ImageTiles {
  pixelValues: Float32Array;
  tiles: number;
}

export interface PrefillOptions {
  images?: ImageTiles[];
  /** logits for every prompt position (parity checks), else only for the last */
  allLogits?: boolean;
  /** encode every tile before the prompt runs, instead of streaming tile by tile (for tests) */
  encodeAllFirst?: boolean;
  onTile?: (done: number, total: number) => void;
}

const DEFAULT_CONTEXT = 4096;
/** experts kept in memory between the weight store and the GPU slots */
const DEFAULT_RAM_TIER = 2 * 1024 ** 3;

export class ModelSession {
  private sampled: GPUBuffer;
  private banned: GPUBuffer;
  private constructor(
    readonly ctx: GpuContext,
    readonly config: ModelConfig,
    readonly tokenizer: ChatTokenizer,
    readonly weights: TextWeights,
    readonly model: Llama4Text,
    readonly weightMode: WeightFormat,
    readonly vision: { weights: VisionWeights; encoder: VisionEncoder } | null,
  ) {
    this.sampled = ctx.createBuffer(4, 'sampled');
    this.banned = ctx.createBuffer(Math.max(1, config.text.eosTokenIds.length) * 4, 'banned');
    ctx.write(this.banned, new Uint32Array(config.text.eosTokenIds.length ? config.text.eosTokenIds : [0]));
  }

  /**
   * `textTensors` replaces the checkpoint as the source of the text weights (a weight store gives them already
   * quantized: worker/store/session.ts); config, tokenizer and vision still come from `files`.
   */
  static async load(
    ctx: GpuContext,
    files: ModelFiles,
    options: LoadOptions,
    onProgress?: ReadProgress,
    textTensors?: (config: ModelConfig) => AsyncIterable<EngineTensor>,
    /** where paged experts come from (the weight store); default: a RAM tier filled while loading */
    expertSource?: ExpertSource,
  ): Promise<ModelSession> {
    const config = parseConfig(JSON.parse(await files.text('config.json')));
    const tokenizer = await ChatTokenizer.load(files);
    const slots = options.expertSlots ?? (options.expertBudgetBytes !== undefined ? slotsForBudget(config, options.weights, options.expertBudgetBytes) : undefined);
    const paged = slots !== undefined && slots < config.text.numExperts;
    const pager = paged ? new ExpertPager(ctx, slots, expertSource ? new CachedExperts(expertSource, options.ramTierBytes ?? DEFAULT_RAM_TIER) : new RamExperts()) : null;
    const sink = pager ?? residentExperts(config.text.numExperts, ctx);
    const weights = await loadTextWeights(ctx, config, textTensors?.(config) ?? engineTensors(files, config, options.weights, onProgress), sink);
    const contextLength = Math.min(options.contextLength ?? DEFAULT_CONTEXT, config.text.maxPositionEmbeddings);
    const state = createRunState(ctx, config.text, contextLength);
    let vision: ModelSession['vision'] = null;
    if (config.vision && options.vision !== false) {
      const vw = await loadVisionWeights(ctx, files, config, options.weights);
      vision = { weights: vw, encoder: new VisionEncoder(ctx, config, vw) };
    }
    return new ModelSession(ctx, config, tokenizer, weights, new Llama4Text(ctx, config.text, weights, state, pager), options.weights, vision);
  }

  /** Logits [ids.length, vocab] of a full forward pass from position 0 (parity checks). */
  async logitsFor(ids: number[], options: Omit<PrefillOptions, 'allLogits'> = {}): Promise<Float32Array> {
    await this.prefill(ids, { ...options, allLogits: true });
    return this.ctx.readF32(this.model.state.logits, 0, ids.length * this.config.text.vocabSize);
  }

  /**
   * Runs the prompt from position 0. With images, each tile is encoded by the vision tower and its features take
   * the place of its <|patch|> embeddings; tile by tile, the prompt up to the end of that tile's patches is
   * prefilled as soon as the tile is encoded (streaming fusion), so the model reads the image while later tiles
   * are still to be encoded.
   */
  async prefill(ids: number[], options: PrefillOptions = {}): Promise<void> {
    const all = Uint32Array.from(ids);
    const logitRows = options.allLogits ? { total: ids.length } : null;
    const run = (from: number, to: number, embeds: EmbedOverride[] = []) =>
      this.model.forward(all.subarray(from, to), from, { logitRows: logitRows ? { rowBase: from, total: logitRows.total } : undefined, embeds });
    const images = options.images ?? [];
    const totalTiles = images.reduce((n, im) => n + im.tiles, 0);
    if (totalTiles === 0) {
      await run(0, ids.length);
      return;
    }
    if (!this.vision) throw new EngineError('bad-model', 'This model has no vision tower: it cannot read images. Remove the image or load a multimodal Llama 4 model.');
    const imageToken = this.config.imageTokenIndex;
    const encoder = this.vision.encoder;
    const N = encoder.tokens;
    const patchRows = ids.flatMap((id, i) => (id === imageToken ? [i] : []));
    if (patchRows.length !== totalTiles * N) {
      throw new EngineError('bad-model', `The prompt has ${patchRows.length} image patch tokens but the images have ${totalTiles} tiles of ${N} tokens.`);
    }
    const tiles = images.flatMap((im) => Array.from({ length: im.tiles }, (_, t) => im.pixelValues.subarray((t * im.pixelValues.length) / im.tiles, ((t + 1) * im.pixelValues.length) / im.tiles)));
    const rowBytes = this.config.text.hiddenSize * 4;
    if (options.encodeAllFirst) {
      const features = this.ctx.createBuffer(totalTiles * N * rowBytes, 'image features');
      tiles.forEach((tile, i) => {
        encoder.encodeTile(tile);
        this.ctx.commandEncoder().copyBufferToBuffer(encoder.features, 0, features, i * N * rowBytes, N * rowBytes);
        this.ctx.flush();
        options.onTile?.(i + 1, totalTiles);
      });
      await run(0, ids.length, contiguousRuns(patchRows, features));
      await this.ctx.device.queue.onSubmittedWorkDone();
      features.destroy();
      return;
    }
    let pos = 0;
    for (let i = 0; i < tiles.length; i++) {
      encoder.encodeTile(tiles[i]);
      const rows = patchRows.slice(i * N, (i + 1) * N);
      const end = rows[N - 1] + 1;
      await run(pos, end, contiguousRuns(rows, encoder.features).map((e) => ({ ...e, row: e.row - pos })));
      pos = end;
      await this.ctx.device.queue.onSubmittedWorkDone(); // lets the UI show per-tile progress as it happens
      options.onTile?.(i + 1, totalTiles);
    }
    if (pos < ids.length) await run(pos, ids.length);
  }

  /** Prefill the prompt, then sample token by token through the KV cache. */
  async generate(
    promptIds: number[],
    options: SamplingOptions,
    onToken: (t: TokenEvent) => void,
    isCancelled: () => boolean = () => false,
    prefill: Omit<PrefillOptions, 'allLogits'> = {},
  ): Promise<GenerationResult> {
    const c = this.config.text;
    if (promptIds.length >= this.model.state.contextLength) {
      throw new EngineError('context-too-long', `The prompt has ${promptIds.length} tokens but the context is ${this.model.state.contextLength}. Start a new chat or shorten the message.`);
    }
    const maxNew = Math.min(options.maxNewTokens, this.model.state.contextLength - promptIds.length);
    const random = seededRandom(options.seed);
    const decoder = new StreamingDecoder(this.tokenizer);
    const ids: number[] = [];
    const t0 = performance.now();
    await this.prefill(promptIds, prefill);
    let firstTokenAt = 0;
    let stopReason: GenerationResult['stopReason'] = 'length';
    let pos = promptIds.length;
    for (let i = 0; i < maxNew; i++) {
      if (isCancelled()) {
        stopReason = 'cancelled';
        break;
      }
      sampleToken(this.ctx, this.model.state.logits, 0, c.vocabSize, options.ignoreEos ? this.banned : null, c.eosTokenIds.length, this.sampled, {
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        u: random(),
      });
      const id = (await this.ctx.readU32(this.sampled, 0, 1))[0];
      if (i === 0) firstTokenAt = performance.now();
      if (!options.ignoreEos && c.eosTokenIds.includes(id)) {
        stopReason = 'eos';
        break;
      }
      ids.push(id);
      onToken({ tokenId: id, text: decoder.push(id) });
      if (i + 1 < maxNew) await this.model.forward(Uint32Array.of(id), pos++);
    }
    const rest = decoder.flush();
    if (rest) onToken({ tokenId: -1, text: rest });
    const end = performance.now();
    const prefillMs = (firstTokenAt || end) - t0;
    const decodeMs = end - (firstTokenAt || end);
    const pager = this.model.pager;
    const experts = pager
      ? {
          slotsPerLayer: pager.slotsPerLayer,
          hits: pager.stats.hits,
          misses: pager.stats.misses,
          hitRate: pager.stats.hits / Math.max(1, pager.stats.hits + pager.stats.misses),
          prefetchAccuracy: pager.stats.prefetchAccuracy,
          bytesRead: pager.stats.bytesRead,
          traffic: pager.traffic(),
        }
      : undefined;
    return {
      text: decoder.text,
      tokenIds: ids,
      stopReason,
      stats: {
        experts,
        promptTokens: promptIds.length,
        generatedTokens: ids.length,
        timeToFirstTokenMs: prefillMs,
        prefillTokensPerSecond: prefillMs > 0 ? (promptIds.length / prefillMs) * 1000 : 0,
        decodeTokensPerSecond: decodeMs > 0 && ids.length > 1 ? ((ids.length - 1) / decodeMs) * 1000 : 0,
      },
    };
  }

  destroy(): void {
    destroyTextWeights(this.weights);
    destroyRunState(this.model.state);
    if (this.vision) {
      this.vision.encoder.destroy();
      destroyVisionWeights(this.vision.weights);
    }
    this.sampled.destroy();
    this.banned.destroy();
  }
}

/** Embedding overrides for token rows, one per run of consecutive rows, taking source rows in order. */
function contiguousRuns(rows: number[], source: GPUBuffer): EmbedOverride[] {
  const runs: EmbedOverride[] = [];
  rows.forEach((row, i) => {
    const last = runs[runs.length - 1];
    if (last && last.row + last.count === row) last.count++;
    else runs.push({ row, source, sourceRow: i, count: 1 });
  });
  return runs;
}

/** Expert slots per MoE layer that fit a GPU budget for routed experts (at least one). */
export function slotsForBudget(config: ModelConfig, mode: WeightFormat, budgetBytes: number): number {
  const c = config.text;
  const H = c.hiddenSize, F = c.intermediateSize;
  const matrix = (rows: number, cols: number) => (mode === 'q4' && cols % 32 === 0 ? (rows * cols * 18) / 32 : rows * cols * 4);
  const perExpert = matrix(2 * F, H) + matrix(H, F);
  const moeLayers = c.isMoe.filter(Boolean).length || 1;
  return Math.max(1, Math.min(c.numExperts, Math.floor(budgetBytes / (perExpert * moeLayers))));
}
