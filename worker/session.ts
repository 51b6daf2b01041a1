// A loaded model on one GPU: config + tokenizer + weights + run state, and the generation loop.
// No DOM here: the Web Worker and Node (verify, tests) both use it.
import { GpuContext } from '../kernels/runtime.ts';
import { sampleToken, seededRandom } from '../kernels/sample/sample.ts';
import { EngineError, type GenerationResult, type LoadOptions, type SamplingOptions, type TokenEvent, type WeightMode } from './api.ts';
import { parseConfig, type ModelConfig } from './model/config.ts';
import { createRunState, destroyRunState, Llama4Text } from './model/llama4.ts';
import type { ModelFiles } from './model/safetensors.ts';
import { destroyTextWeights, loadTextWeights, type TextWeights, type LoadProgressFn } from './model/weights.ts';
import { ChatTokenizer, StreamingDecoder } from './text/tokenizer.ts';

const DEFAULT_CONTEXT = 4096;

export class ModelSession {
  private sampled: GPUBuffer;
  private banned: GPUBuffer;
  private constructor(
    readonly ctx: GpuContext,
    readonly config: ModelConfig,
    readonly tokenizer: ChatTokenizer,
    readonly weights: TextWeights,
    readonly model: Llama4Text,
    readonly weightMode: WeightMode,
  ) {
    this.sampled = ctx.createBuffer(4, 'sampled');
    this.banned = ctx.createBuffer(Math.max(1, config.text.eosTokenIds.length) * 4, 'banned');
    ctx.write(this.banned, new Uint32Array(config.text.eosTokenIds.length ? config.text.eosTokenIds : [0]));
  }

  static async load(ctx: GpuContext, files: ModelFiles, options: LoadOptions, onProgress?: LoadProgressFn): Promise<ModelSession> {
    const config = parseConfig(JSON.parse(await files.text('config.json')));
    const tokenizer = await ChatTokenizer.load(files);
    const weights = await loadTextWeights(ctx, files, config, options.weights, onProgress);
    const contextLength = Math.min(options.contextLength ?? DEFAULT_CONTEXT, config.text.maxPositionEmbeddings);
    const state = createRunState(ctx, config.text, contextLength);
    return new ModelSession(ctx, config, tokenizer, weights, new Llama4Text(ctx, config.text, weights, state), options.weights);
  }

  /** Logits [ids.length, vocab] of a full forward pass from position 0 (parity checks). */
  async logitsFor(ids: number[]): Promise<Float32Array> {
    const rows = this.model.forward(Uint32Array.from(ids), 0, true);
    return this.ctx.readF32(this.model.state.logits, 0, rows * this.config.text.vocabSize);
  }

  /** Prefill the prompt, then sample token by token through the KV cache. */
  async generate(promptIds: number[], options: SamplingOptions, onToken: (t: TokenEvent) => void, isCancelled: () => boolean = () => false): Promise<GenerationResult> {
    const c = this.config.text;
    if (promptIds.length >= this.model.state.contextLength) {
      throw new EngineError('context-too-long', `The prompt has ${promptIds.length} tokens but the context is ${this.model.state.contextLength}. Start a new chat or shorten the message.`);
    }
    const maxNew = Math.min(options.maxNewTokens, this.model.state.contextLength - promptIds.length);
    const random = seededRandom(options.seed);
    const decoder = new StreamingDecoder(this.tokenizer);
    const ids: number[] = [];
    const t0 = performance.now();
    this.model.forward(Uint32Array.from(promptIds), 0);
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
      if (i + 1 < maxNew) this.model.forward(Uint32Array.of(id), pos++);
    }
    const rest = decoder.flush();
    if (rest) onToken({ tokenId: -1, text: rest });
    const end = performance.now();
    const prefillMs = (firstTokenAt || end) - t0;
    const decodeMs = end - (firstTokenAt || end);
    return {
      text: decoder.text,
      tokenIds: ids,
      stopReason,
      stats: {
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
    this.sampled.destroy();
    this.banned.destroy();
  }
}
