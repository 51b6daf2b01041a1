// `chat.completions.create()` over the engine's generate()/cancel(): OpenAI's response and chunk shapes, stop
// sequences, AbortSignal, and one request at a time (later ones wait their turn). The backend is the worker's
// EngineApi (through Comlink), the app's EngineController, or an Engine in Node: the same protocol everywhere.
import type { ChatMessage, GenerateProgress, GenerationResult, GenerationStats, SamplingOptions, TokenEvent } from '../protocol/api.ts';
import { TabScoutError, toTabScoutError } from './errors.ts';
import { checkRequest, toEngineMessages } from './request.ts';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatCompletionStream, CompletionUsage, Completions, FinishReason } from './types.ts';

/** What the completions need from an engine: protocol/api.ts's generate() and cancel(). */
export interface CompletionBackend {
  generate(messages: ChatMessage[], options: SamplingOptions, onToken: (t: TokenEvent) => void, onProgress?: (p: GenerateProgress) => void): Promise<GenerationResult>;
  cancel(): void | Promise<void>;
}

/** Lets text through as it streams, but holds back what could be the start of a stop sequence, and cuts at one. */
export class StopGate {
  private full = '';
  private sent = 0;
  stopped = false;

  constructor(private readonly stops: string[]) {}

  /** Adds text; returns the piece that may be shown now. */
  push(text: string): string {
    if (this.stopped) return '';
    this.full += text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.full.indexOf(stop, this.sent);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.full = this.full.slice(0, cut);
      return this.take(cut);
    }
    let hold = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, this.full.length - this.sent); k > hold; k--) {
        if (this.full.endsWith(stop.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return this.take(this.full.length - hold);
  }

  /** The reply ended without a stop sequence: what was held back. */
  flush(): string {
    return this.stopped ? '' : this.take(this.full.length);
  }

  /** All text let through. */
  get text(): string {
    return this.full.slice(0, this.sent);
  }

  private take(until: number): string {
    const piece = this.full.slice(this.sent, until);
    this.sent = until;
    return piece;
  }
}

let counter = 0;
const completionId = () => `chatcmpl-${Date.now().toString(36)}${(++counter).toString(36)}${Math.random().toString(36).slice(2, 8)}`;

export function usageOf(stats: GenerationStats): CompletionUsage {
  return {
    prompt_tokens: stats.promptTokens,
    completion_tokens: stats.generatedTokens,
    total_tokens: stats.promptTokens + stats.generatedTokens,
    extra: {
      time_to_first_token_s: stats.timeToFirstTokenMs / 1000,
      prefill_tokens_per_s: stats.prefillTokensPerSecond,
      decode_tokens_per_s: stats.decodeTokensPerSecond,
      expert_hit_rate: stats.experts ? stats.experts.hitRate : null,
    },
  };
}

interface Delta {
  content: string;
  tokenIds: number[];
}

interface Outcome {
  text: string;
  tokenIds: number[];
  finishReason: FinishReason;
  stats: GenerationStats;
}

export class ChatCompletions implements Completions {
  /** requests run one at a time: each waits for the previous one to settle */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly backend: () => CompletionBackend,
    private readonly modelName: () => string,
  ) {}

  create(request: ChatCompletionRequest & { stream: true }): Promise<ChatCompletionStream>;
  create(request: ChatCompletionRequest & { stream?: false | null }): Promise<ChatCompletion>;
  create(request: ChatCompletionRequest): Promise<ChatCompletion | ChatCompletionStream>;
  async create(request: ChatCompletionRequest): Promise<ChatCompletion | ChatCompletionStream> {
    const checked = checkRequest(request);
    const id = completionId();
    const created = Math.floor(Date.now() / 1000);
    const model = this.modelName();
    const base = { id, created, model };
    const completion = (o: Outcome): ChatCompletion => ({
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: o.text, refusal: null }, logprobs: null, finish_reason: o.finishReason, token_ids: o.tokenIds }],
      usage: usageOf(o.stats),
      stats: o.stats,
    });

    if (!request.stream) return this.run(request, checked, () => undefined, completion).then(completion);

    const abort = new AbortController();
    const signal = request.signal ? AbortSignal.any([request.signal, abort.signal]) : abort.signal;
    const queue = new ChunkQueue();
    // After an abort no more chunks are read, not even those already buffered: the next read rejects (as an aborted
    // fetch does) once the engine has stopped, with the partial reply on the error.
    signal.addEventListener('abort', () => queue.drop(), { once: true });
    let first = true;
    const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], tokenIds: number[], finish: FinishReason | null): ChatCompletionChunk => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, token_ids: tokenIds }],
    });
    const onDelta = ({ content, tokenIds }: Delta) => {
      queue.push(chunk(first ? { role: 'assistant', content } : { content }, tokenIds, null));
      first = false;
    };
    this.run({ ...request, signal }, checked, onDelta, completion).then(
      (o) => {
        if (first) onDelta({ content: '', tokenIds: [] });
        queue.push(chunk({}, [], o.finishReason));
        queue.push({ ...base, object: 'chat.completion.chunk', choices: [], usage: usageOf(o.stats), stats: o.stats });
        queue.end();
      },
      (error) => queue.fail(error),
    );
    return {
      abort: () => abort.abort(),
      [Symbol.asyncIterator]: () => queue.iterator(() => abort.abort()),
    };
  }

  /** Runs one request when its turn comes; `onDelta` gets the text (and token ids) as they may be shown. */
  private run(
    request: ChatCompletionRequest,
    { sampling, stops }: ReturnType<typeof checkRequest>,
    onDelta: (delta: Delta) => void,
    completion: (o: Outcome) => ChatCompletion,
  ): Promise<Outcome> {
    const signal = request.signal;
    const aborted = (o: Outcome) => new TabScoutError('cancelled', 'The request was aborted.', { partial: completion(o) });
    const turn = this.tail.then(async (): Promise<Outcome> => {
      if (signal?.aborted) throw aborted({ text: '', tokenIds: [], finishReason: 'stop', stats: emptyStats() });
      const messages = await toEngineMessages(request.messages);
      if (signal?.aborted) throw aborted({ text: '', tokenIds: [], finishReason: 'stop', stats: emptyStats() });
      const backend = this.backend();
      const gate = new StopGate(stops);
      let streamedText = '';
      let streamedIds = 0;
      let pendingIds: number[] = [];
      let settled = false;
      const emit = (text: string, ids: number[]) => {
        streamedText += text;
        streamedIds += ids.length;
        const content = gate.push(text);
        pendingIds.push(...ids);
        if (content === '' && pendingIds.length === 0) return;
        onDelta({ content, tokenIds: pendingIds });
        pendingIds = [];
        if (gate.stopped) void backend.cancel();
      };
      const cancel = () => void backend.cancel();
      signal?.addEventListener('abort', cancel);
      try {
        const result = await backend.generate(
          messages,
          sampling,
          (token) => {
            if (!settled && !gate.stopped) emit(token.text, token.tokenId >= 0 ? [token.tokenId] : []);
          },
          request.onProgress ? (p) => request.onProgress!(p) : undefined,
        );
        settled = true;
        // Token events come through their own message port and may land after the result: the result is the whole
        // reply, so send what did not arrive yet.
        if (!gate.stopped) {
          const missingText = result.text.startsWith(streamedText) ? result.text.slice(streamedText.length) : '';
          const missingIds = result.tokenIds.slice(streamedIds);
          if (missingText || missingIds.length) emit(missingText, missingIds);
        }
        if (!gate.stopped) {
          const rest = gate.flush();
          if (rest || pendingIds.length) onDelta({ content: rest, tokenIds: pendingIds });
        }
        const finishReason: FinishReason = gate.stopped || result.stopReason === 'eos' ? 'stop' : 'length';
        const outcome: Outcome = { text: gate.text, tokenIds: result.tokenIds, finishReason, stats: plain(result.stats) };
        if (signal?.aborted || (result.stopReason === 'cancelled' && !gate.stopped)) throw aborted(outcome);
        return outcome;
      } catch (error) {
        settled = true;
        throw toTabScoutError(error);
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}

/** The stats without undefined fields (the engine leaves `experts: undefined` when every expert is resident). */
function plain(stats: GenerationStats): GenerationStats {
  const { experts, ...rest } = stats;
  return experts ? { ...rest, experts } : rest;
}

function emptyStats(): GenerationStats {
  return { promptTokens: 0, cachedPromptTokens: 0, generatedTokens: 0, timeToFirstTokenMs: 0, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0 };
}

/** Chunks from the producer to the one consumer of the stream, with back-pressure-free buffering. */
class ChunkQueue {
  private items: ChatCompletionChunk[] = [];
  private done = false;
  private error: unknown = null;
  private wake: (() => void) | null = null;
  private taken = false;
  private dropping = false;

  push(chunk: ChatCompletionChunk): void {
    if (this.dropping) return;
    this.items.push(chunk);
    this.notify();
  }

  /** Discards what is buffered and anything pushed from now on. */
  drop(): void {
    this.dropping = true;
    this.items = [];
  }

  end(): void {
    this.done = true;
    this.notify();
  }

  fail(error: unknown): void {
    this.error = error;
    this.done = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  iterator(stop: () => void): AsyncIterator<ChatCompletionChunk> {
    if (this.taken) throw new TabScoutError('invalid-request', 'A completion stream can be read only once.');
    this.taken = true;
    return {
      next: async () => {
        for (;;) {
          if (this.items.length) return { value: this.items.shift()!, done: false };
          if (this.done) {
            if (this.error) {
              const error = this.error;
              this.error = null;
              throw error;
            }
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      },
      // `break` out of a for-await loop: stop generating.
      return: async () => {
        if (!this.done) stop();
        this.items = [];
        this.error = null;
        return { value: undefined, done: true };
      },
    };
  }
}
