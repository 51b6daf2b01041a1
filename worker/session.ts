// A loaded model on one GPU: config + tokenizer + weights + run state, and the generation loop.
// No DOM here: the Web Worker and Node (verify, tests) both use it.
import { GpuContext } from '../kernels/runtime.ts';
import { sampleToken, seededRandom } from '../kernels/sample/sample.ts';
import { EngineError } from '../protocol/errors.ts';
import type { GenerationResult, LoadOptions, SamplingOptions, TokenEvent } from '../protocol/api.ts';
import type { WeightFormat } from '../kernels/linear/weight-format.ts';
import { parseConfig, type ModelConfig } from './model/config.ts';
import { createRunState, destroyRunState, Llama4Text, reusablePrefix, type EmbedOverride } from './model/llama4.ts';
import { decodeTokens } from './model/decode.ts';
import type { ModelFiles } from './model/safetensors.ts';
import { destroyTextWeights, loadTextWeights, residentExperts, type TextWeights } from './model/weights.ts';
import { engineTensors, type EngineTensor, type ReadProgress } from './model/engine-tensors.ts';
import { CachedExperts, ExpertPager, RamExperts, type ExpertSource } from './pager/pager.ts';
import { slotsForBudget } from './model/memory-plan.ts';

export { slotsForBudget };
import { ChatTokenizer, StreamingDecoder } from './text/tokenizer.ts';
import { timed, timedSync, type LoadTimings } from './load-timings.ts';
import { destroyVisionWeights, VisionEncoder, VisionWeightsBuilder, type VisionWeights } from './model/vision.ts';
import { loadImageProcessorConfig, type ImageProcessorConfig } from './image/processor-config.ts';
import { preprocessImage, type DecodedPixels } from './image/preprocess.ts';
import { layoutImagePrompt, type ImageGrid } from './image/prompt.ts';
import type { TemplateMessage } from './text/tokenizer.ts';
import { KV_FORMATS } from '../kernels/attention/kv-format.ts';

/** One image's preprocessed tiles: [tiles, 3, S, S] (raster tiles, then the global tile). */
export interface ImageTiles {
  pixelValues: Float32Array;
  tiles: number;
}

/** An image of a prompt: who it is, how it is tiled, and its pixels, made only if its tiles must be encoded. */
export interface PromptImage {
  /** equal keys mean the same picture (the engine hashes the file's bytes) */
  key: string;
  grid: ImageGrid;
  tiles: number;
  pixels(): Promise<Float32Array>;
}

/** A chat message as the session takes it: text, and images shown before it. */
export interface PromptMessage {
  role: string;
  content: string;
  images?: PromptImage[];
}

/** What the model runs: token ids and, for each image, the row where each of its tiles' patches start. */
export interface Prompt {
  ids: number[];
  images: { image: PromptImage; tileRows: number[] }[];
}

export interface PrefillOptions {
  /** keep the KV cache's positions that agree with this prompt and prefill only the rest (default false) */
  reuse?: boolean;
  /** logits for every prefilled position (row = position), else only for the last */
  allLogits?: boolean;
  /** encode every tile before the prompt runs, instead of streaming tile by tile (for tests) */
  encodeAllFirst?: boolean;
  /** tiles encoded so far, of those this prefill encodes (tiles in the kept prefix are not encoded again): (0, n)
   * before the first of n tiles is read, then after each; never called when no tile is encoded */
  onTile?: (done: number, total: number) => void;
}

export interface PrefillResult {
  /** leading prompt positions taken from the KV cache */
  reused: number;
}

export interface SessionLoadOptions extends LoadOptions {
  onProgress?: ReadProgress;
  /** replaces the checkpoint as the source of the weights (a weight store gives them already quantized:
   * worker/store/session.ts), text tensors then, when `vision`, the vision tower's; config, tokenizer and the
   * processor configs still come from `files` */
  tensors?: (config: ModelConfig, vision: boolean) => AsyncIterable<EngineTensor>;
  /** where paged experts come from (the weight store); default: a RAM tier filled while loading */
  expertSource?: ExpertSource;
  /** collects where the load's time goes (benchmarks) */
  timings?: LoadTimings;
}

/** Positions the KV cache holds: the token at each, and the image key of image patch positions. */
interface CachedTokens {
  ids: number[];
  imageKeys: (string | null)[];
}

const DEFAULT_CONTEXT = 4096;
/** experts kept in memory between the weight store and the GPU slots */
const DEFAULT_RAM_TIER = 2 * 1024 ** 3;
/** image grids remembered by key, so an image already seen is not decoded again to lay out a prompt */
const KNOWN_IMAGES = 256;

/**
 * A loaded model and its conversation state. The KV cache outlives generate(): the positions it holds are
 * remembered (token ids, and which image each patch position shows), the next prompt's common prefix with them is
 * kept and only the rest is prefilled (reusablePrefix() says how far chunked attention allows), and the reply's
 * tokens join the cache as they are generated. Any failure mid-way forgets the cache (the next prompt starts
 * from position 0).
 */
export class ModelSession {
  private sampled: GPUBuffer;
  private banned: GPUBuffer;
  private cached: CachedTokens = { ids: [], imageKeys: [] };
  private knownGrids = new Map<string, ImageGrid>();
  private anonymous = 0;
  private constructor(
    readonly ctx: GpuContext,
    readonly config: ModelConfig,
    readonly tokenizer: ChatTokenizer,
    readonly weights: TextWeights,
    readonly model: Llama4Text,
    readonly weightMode: WeightFormat,
    readonly vision: { weights: VisionWeights; encoder: VisionEncoder; imageConfig: ImageProcessorConfig } | null,
  ) {
    this.sampled = ctx.createBuffer(4, 'sampled');
    this.banned = ctx.createBuffer(Math.max(1, config.text.eosTokenIds.length) * 4, 'banned');
    ctx.write(this.banned, new Uint32Array(config.text.eosTokenIds.length ? config.text.eosTokenIds : [0]));
  }

  static async load(ctx: GpuContext, files: ModelFiles, options: SessionLoadOptions): Promise<ModelSession> {
    if (options.kvCache !== undefined && !KV_FORMATS.includes(options.kvCache)) throw new Error(`kvCache must be 'f32' or 'f16', not ${JSON.stringify(options.kvCache)}`);
    const tm = options.timings;
    const config = await timed(tm, 'config', async () => parseConfig(JSON.parse(await files.text('config.json'))));
    const tokenizer = await timed(tm, 'tokenizer', () => ChatTokenizer.load(files));
    const slots = options.expertSlots ?? (options.expertBudgetBytes !== undefined ? slotsForBudget(config, options.weights, options.expertBudgetBytes) : undefined);
    const paged = slots !== undefined && slots < config.text.numExperts;
    const source = options.expertSource;
    const pager = paged ? new ExpertPager(ctx, slots, source ? new CachedExperts(source, options.ramTierBytes ?? DEFAULT_RAM_TIER) : new RamExperts()) : null;
    if (pager && options.pinnedTierBytes) pager.pin(options.pinnedTierBytes);
    const sink = pager ?? residentExperts(config.text.numExperts, ctx);
    const wantVision = config.vision !== null && options.vision !== false;
    const tensors = options.tensors?.(config, wantVision) ?? engineTensors(files, config, options.weights, options.onProgress, { vision: wantVision });
    // one stream: the text tensors go to the text loader, the vision tower's (after them) to its builder
    const visionBuilder = wantVision ? new VisionWeightsBuilder(ctx, config) : null;
    // `records`: the time the loader waits for the next tensor (its read, check and decoding not done ahead)
    async function* textOnly(): AsyncGenerator<EngineTensor> {
      let t0 = performance.now();
      for await (const t of tensors) {
        if (!VisionWeightsBuilder.owns(t)) {
          tm?.add('records', performance.now() - t0);
          yield t;
          t0 = performance.now();
        } else if (visionBuilder) visionBuilder.accept(t);
      }
      tm?.add('records', performance.now() - t0);
    }
    let weights: TextWeights | undefined;
    let vision: ModelSession['vision'] = null;
    try {
      weights = await loadTextWeights(ctx, config, textOnly(), sink, tm);
      if (visionBuilder) {
        const v = config.vision!;
        const imageConfig = await loadImageProcessorConfig(files, { patchSize: v.patchSize, pixelShuffleRatio: v.pixelShuffleRatio, imageSize: v.imageSize });
        const vw = visionBuilder.finish();
        vision = { weights: vw, encoder: new VisionEncoder(ctx, config, vw), imageConfig };
      }
    } catch (e) {
      visionBuilder?.release();
      if (weights) destroyTextWeights(weights);
      throw e;
    }
    const contextLength = Math.min(options.contextLength ?? DEFAULT_CONTEXT, config.text.maxPositionEmbeddings);
    const state = timedSync(tm, 'runState', () => createRunState(ctx, config.text, contextLength, undefined, options.kvCache));
    return timedSync(tm, 'session', () => new ModelSession(ctx, config, tokenizer, weights!, new Llama4Text(ctx, config.text, weights!, state, pager), options.weights, vision));
  }

  /** The image processor settings, or null when no vision tower is loaded. */
  get imageConfig(): ImageProcessorConfig | null {
    return this.vision?.imageConfig ?? null;
  }

  /** How many prompt positions the KV cache holds now (the conversation so far). */
  get cachedTokens(): number {
    return this.cached.ids.length;
  }

  /** Forgets the conversation held in the KV cache: the next prefill starts at position 0. */
  forget(): void {
    this.cached = { ids: [], imageKeys: [] };
  }

  /**
   * An image for prompt(): `key` names the picture (equal keys, equal pixels). An image seen before (by key) is
   * not decoded to lay out the prompt; its pixels are made only if a prefill has to encode its tiles.
   */
  async image(key: string, decode: () => Promise<DecodedPixels>): Promise<PromptImage> {
    const cfg = this.imageConfig;
    if (!cfg) throw new EngineError('bad-model', 'This model has no vision tower, so it cannot read images. Remove the image or load a multimodal Llama 4 model.');
    const preprocess = async () => {
      const d = await decode();
      return preprocessImage(d.data, d.width, d.height, cfg);
    };
    const known = this.knownGrids.get(key);
    if (known) {
      const tiles = known.rows * known.cols > 1 ? known.rows * known.cols + 1 : 1;
      return { key, grid: known, tiles, pixels: async () => (await preprocess()).pixelValues };
    }
    const image = await preprocess();
    const grid = { rows: image.rows, cols: image.cols };
    this.knownGrids.delete(key);
    this.knownGrids.set(key, grid);
    if (this.knownGrids.size > KNOWN_IMAGES) this.knownGrids.delete(this.knownGrids.keys().next().value!);
    return { key, grid, tiles: image.tiles, pixels: async () => image.pixelValues };
  }

  /**
   * The prompt of a conversation: the chat template (each message's images as `<|image|>` placeholders before its
   * text), tokenized with every image's tile layout in place and the tile positions recorded.
   */
  prompt(messages: PromptMessage[], addGenerationPrompt = true): Prompt {
    const kept = messages.filter((m) => !(m.role === 'system' && m.content.trim() === '' && !m.images?.length));
    const templated: TemplateMessage[] = kept.map((m) =>
      m.images?.length ? { role: m.role, content: [...m.images.map(() => ({ type: 'image' })), { type: 'text', text: m.content }] } : { role: m.role, content: m.content },
    );
    const images = kept.flatMap((m) => m.images ?? []);
    const text = this.tokenizer.applyChatTemplate(templated, addGenerationPrompt);
    if (images.length === 0) return { ids: this.tokenizer.encode(text), images: [] };
    const cfg = this.imageConfig;
    if (!cfg) throw new EngineError('bad-model', 'This model has no vision tower, so it cannot read images. Remove the image or load a multimodal Llama 4 model.');
    // HF's processor tokenizes image prompts with special tokens: they start with BOS twice (see withProcessorBos)
    const layout = layoutImagePrompt(text, images.map((im) => im.grid), cfg.tokensPerTile, (t) => this.tokenizer.encode(t), this.config.text.bosTokenId);
    return { ids: layout.ids, images: images.map((image, i) => ({ image, tileRows: layout.tileRows[i] })) };
  }

  /**
   * A prompt from token ids made elsewhere (a reference's input_ids) and the preprocessed images they show: the
   * tiles are placed at the `<|patch|>` runs in order. Each call's images count as new pictures.
   */
  promptFromIds(ids: number[], images: ImageTiles[] = []): Prompt {
    const totalTiles = images.reduce((n, im) => n + im.tiles, 0);
    if (totalTiles === 0) return { ids, images: [] };
    if (!this.vision) throw new EngineError('bad-model', 'This model has no vision tower: it cannot read images. Remove the image or load a multimodal Llama 4 model.');
    const N = this.vision.encoder.tokens;
    const patchRows = ids.flatMap((id, i) => (id === this.config.imageTokenIndex ? [i] : []));
    if (patchRows.length !== totalTiles * N) {
      throw new EngineError('bad-model', `The prompt has ${patchRows.length} image patch tokens but the images have ${totalTiles} tiles of ${N} tokens.`);
    }
    let tile = 0;
    return {
      ids,
      images: images.map((im) => {
        const tileRows = Array.from({ length: im.tiles }, (_, t) => patchRows[(tile + t) * N]);
        tile += im.tiles;
        return { image: { key: `ids:${++this.anonymous}`, grid: { rows: 0, cols: 0 }, tiles: im.tiles, pixels: async () => im.pixelValues }, tileRows };
      }),
    };
  }

  /** Logits [ids.length, vocab] of a full forward pass from position 0 (parity checks). */
  async logitsFor(prompt: number[] | Prompt, options: Omit<PrefillOptions, 'allLogits' | 'reuse'> & { images?: ImageTiles[] } = {}): Promise<Float32Array> {
    const p = Array.isArray(prompt) ? this.promptFromIds(prompt, options.images) : prompt;
    await this.prefill(p, { ...options, allLogits: true });
    return this.ctx.readF32(this.model.state.logits, 0, p.ids.length * this.config.text.vocabSize);
  }

  /** Image key of every prompt position (null where no image patch is). */
  private imageKeys(prompt: Prompt): (string | null)[] {
    const keys: (string | null)[] = new Array(prompt.ids.length).fill(null);
    const N = this.vision?.encoder.tokens ?? 0;
    for (const { image, tileRows } of prompt.images) for (const row of tileRows) keys.fill(image.key, row, row + N);
    return keys;
  }

  /**
   * Runs the prompt through the model into the KV cache. From position 0, or with `reuse` from the end of the
   * longest prefix the cache already holds (tokens and images alike); at least the last token always runs, for its
   * logits. Each image tile with patches after that point is encoded by the vision tower and its features take the
   * place of its <|patch|> embeddings; tile by tile, the prompt up to the end of that tile's patches is prefilled as
   * soon as the tile is encoded (streaming fusion), so the model reads the image while later tiles are still to be
   * encoded.
   */
  async prefill(prompt: Prompt, options: PrefillOptions = {}): Promise<PrefillResult> {
    const ids = prompt.ids;
    const keys = this.imageKeys(prompt);
    let reused = 0;
    if (options.reuse) {
      const held = this.cached;
      let common = 0;
      const limit = Math.min(held.ids.length, ids.length - 1);
      while (common < limit && held.ids[common] === ids[common] && held.imageKeys[common] === keys[common]) common++;
      reused = reusablePrefix(this.config.text, held.ids.length, common);
    }
    this.forget(); // until this prefill completes, the cache holds no known conversation
    const all = Uint32Array.from(ids);
    const run = (from: number, to: number, embeds: EmbedOverride[] = []) =>
      this.model.forward(all.subarray(from, to), from, { logitRows: options.allLogits ? { rowBase: from, total: ids.length } : undefined, embeds });

    // the tiles whose patches are not all in the kept prefix, in prompt order
    const N = this.vision?.encoder.tokens ?? 0;
    const pending = prompt.images.flatMap(({ image, tileRows }) => tileRows.map((row, t) => ({ image, t, row })).filter((x) => x.row + N > reused));
    if (pending.length > 0 && !this.vision) throw new EngineError('bad-model', 'This model has no vision tower: it cannot read images. Remove the image or load a multimodal Llama 4 model.');
    const pixels = new Map<string, Float32Array>();
    const tilePixels = async ({ image, t }: (typeof pending)[number]) => {
      let all = pixels.get(image.key);
      if (!all) pixels.set(image.key, (all = await image.pixels()));
      const per = all.length / image.tiles;
      return all.subarray(t * per, (t + 1) * per);
    };
    const rowBytes = this.config.text.hiddenSize * 4;
    let pos = reused;
    if (pending.length > 0) options.onTile?.(0, pending.length);
    if (pending.length > 0 && options.encodeAllFirst) {
      const encoder = this.vision!.encoder;
      const features = this.ctx.createBuffer(pending.length * N * rowBytes, 'image features');
      try {
        for (const [i, tile] of pending.entries()) {
          encoder.encodeTile(await tilePixels(tile));
          this.ctx.commandEncoder().copyBufferToBuffer(encoder.features, 0, features, i * N * rowBytes, N * rowBytes);
          this.ctx.flush();
          options.onTile?.(i + 1, pending.length);
        }
        await run(pos, ids.length, pending.map((tile, i) => ({ row: tile.row - pos, source: features, sourceRow: i * N, count: N })));
        await this.ctx.device.queue.onSubmittedWorkDone();
      } finally {
        features.destroy();
      }
      pos = ids.length;
    } else {
      for (const [i, tile] of pending.entries()) {
        const encoder = this.vision!.encoder;
        encoder.encodeTile(await tilePixels(tile));
        const end = tile.row + N;
        await run(pos, end, [{ row: tile.row - pos, source: encoder.features, sourceRow: 0, count: N }]);
        pos = end;
        await this.ctx.device.queue.onSubmittedWorkDone(); // lets the UI show per-tile progress as it happens
        options.onTile?.(i + 1, pending.length);
      }
    }
    if (pos < ids.length) await run(pos, ids.length);
    this.cached = { ids: ids.slice(), imageKeys: keys };
    return { reused };
  }

  /**
   * Prefills the prompt (keeping what the KV cache already holds of it, unless `reuse: false`), then samples token by
   * token through the KV cache. The reply's tokens stay in the cache for the next turn.
   */
  async generate(
    prompt: number[] | Prompt,
    options: SamplingOptions,
    onToken: (t: TokenEvent) => void,
    isCancelled: () => boolean = () => false,
    prefill: Omit<PrefillOptions, 'allLogits'> & { images?: ImageTiles[] } = {},
  ): Promise<GenerationResult> {
    const c = this.config.text;
    const p = Array.isArray(prompt) ? this.promptFromIds(prompt, prefill.images) : prompt;
    const promptIds = p.ids;
    if (promptIds.length >= this.model.state.contextLength) {
      throw new EngineError('context-too-long', `The prompt has ${promptIds.length} tokens but the context is ${this.model.state.contextLength}. Start a new chat or shorten the message.`);
    }
    const maxNew = Math.min(options.maxNewTokens, this.model.state.contextLength - promptIds.length);
    const random = seededRandom(options.seed);
    const decoder = new StreamingDecoder(this.tokenizer);
    const ids: number[] = [];
    const t0 = performance.now();
    let firstTokenAt = 0;
    let stopReason: GenerationResult['stopReason'] = 'length';
    let reused = 0;
    try {
      ({ reused } = await this.prefill(p, { reuse: true, ...prefill }));
      // the cache's known conversation while a step is on its way (forget() until its token is known)
      let held = this.cached;
      await decodeTokens(this.model, {
        startPos: promptIds.length,
        count: maxNew,
        sampled: this.sampled,
        sample: () =>
          sampleToken(this.ctx, this.model.state.logits, 0, c.vocabSize, options.ignoreEos ? this.banned : null, c.eosTokenIds.length, this.sampled, {
            temperature: options.temperature,
            topK: options.topK,
            topP: options.topP,
            u: random(),
          }),
        stop: () => {
          const cancelled = isCancelled();
          if (cancelled) stopReason = 'cancelled';
          return cancelled;
        },
        beforeStep: () => {
          held = this.cached;
          this.forget();
        },
        take: (id, i, stepped) => {
          if (i === 0) firstTokenAt = performance.now();
          if (!options.ignoreEos && c.eosTokenIds.includes(id)) {
            stopReason = 'eos';
            if (stepped) this.cached = held; // the end-of-turn token's own step is not part of the conversation
            return false;
          }
          ids.push(id);
          onToken({ tokenId: id, text: decoder.push(id) });
          if (stepped) {
            held.ids.push(id);
            held.imageKeys.push(null);
            this.cached = held;
          }
          return true;
        },
      });
    } catch (error) {
      this.forget();
      throw error;
    }
    this.ctx.flush(); // a step deferred before a cancel or an end of turn
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
          pinnedBytes: pager.uploader.pinnedBytes,
          traffic: pager.traffic(),
        }
      : undefined;
    const prefilled = promptIds.length - reused;
    return {
      text: decoder.text,
      tokenIds: ids,
      stopReason,
      stats: {
        experts,
        promptTokens: promptIds.length,
        cachedPromptTokens: reused,
        generatedTokens: ids.length,
        timeToFirstTokenMs: prefillMs,
        prefillTokensPerSecond: prefillMs > 0 ? (prefilled / prefillMs) * 1000 : 0,
        decodeTokensPerSecond: decodeMs > 0 && ids.length > 1 ? ((ids.length - 1) / decodeMs) * 1000 : 0,
      },
    };
  }

  destroy(): void {
    destroyTextWeights(this.weights);
    destroyRunState(this.model.state);
    this.model.pager?.destroy();
    if (this.vision) {
      this.vision.encoder.destroy();
      destroyVisionWeights(this.vision.weights);
    }
    this.sampled.destroy();
    this.banned.destroy();
    // the context outlives the session (a model switch): drop the bind groups that hold its destroyed buffers
    this.ctx.forgetBindGroups();
  }
}

