// The library's public types: OpenAI's chat-completions shapes (the subset TabScout implements) and TabScout's
// options. Only types live here, and they import nothing, so that dist/lib/tabscout.d.ts stands alone; the engine's
// own types they mirror are checked to match in lib/contract.ts. docs/API.md documents each field.

export type WeightMode = 'f32' | 'q4';

/** The engine's error codes (protocol/errors.ts EngineErrorCode). */
export type EngineErrorCode =
  | 'no-webgpu'
  | 'gpu-limits'
  | 'device-lost'
  | 'bad-model'
  | 'download-failed'
  | 'context-too-long'
  | 'not-loaded'
  | 'busy'
  | 'cancelled'
  | 'bad-image'
  | 'auth-required'
  | 'quota-exceeded';

/** Loading progress: 'config' → 'weights' (bytes of weights loaded of total) → 'ready'. */
export interface LoadProgress {
  phase: 'config' | 'weights' | 'ready';
  loaded: number;
  total: number;
  message: string;
}

/**
 * Progress before the first token: image tiles encoded and read into the prompt so far. Reported only for the tiles
 * this reply encodes: { tile: 0 } before the first of them, then after each. Images whose tiles the conversation's KV
 * cache already holds are not read again, and a reply that reads none gets no report.
 */
export interface GenerateProgress {
  phase: 'image';
  /** tiles read so far (0: reading starts) */
  tile: number;
  /** tiles this reply reads */
  tiles: number;
}

/** Expert paging figures since the model was loaded. */
export interface ExpertStats {
  slotsPerLayer: number;
  hits: number;
  misses: number;
  hitRate: number;
  /** fraction of selected experts the previous layer predicted */
  prefetchAccuracy: number | null;
  bytesRead: number;
  /** of bytesRead, the bytes the GPU copied from the pinned tier (0 without one) */
  pinnedBytes: number;
  /** per MoE layer: experts used by the last token and experts resident in GPU slots */
  /** recent: the experts each of the latest steps used (at most 16; a decoded token is a step, a prompt is one), oldest first */
  traffic: { layer: number; used: number[]; recent: number[][]; resident: number[] }[];
}

/** The engine's figures for one reply. */
export interface GenerationStats {
  /** absent when every expert is resident on the GPU */
  experts?: ExpertStats;
  promptTokens: number;
  /** leading prompt tokens whose KV cache was kept from the previous turn (the rest were prefilled) */
  cachedPromptTokens: number;
  generatedTokens: number;
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

/** An image: a data: or blob: URL (or any URL the page may fetch), or the Blob itself. */
export interface ImageUrlPart {
  type: 'image_url';
  image_url: { url: string | Blob; detail?: 'auto' | 'low' | 'high' } | string;
}

export interface TextPart {
  type: 'text';
  text: string;
}

export type ContentPart = TextPart | ImageUrlPart;

export interface ChatCompletionMessageParam {
  /** 'developer' is read as 'system' */
  role: 'system' | 'developer' | 'user' | 'assistant';
  /** text, or (user messages) text and image parts; images go before the text, in order */
  content: string | ContentPart[] | null;
  name?: string;
}

export interface ChatCompletionRequest {
  messages: ChatCompletionMessageParam[];
  /** ignored beyond a check: the engine answers with the model it has loaded */
  model?: string;
  stream?: boolean;
  /** 0 = greedy; default 0.6 (Llama 4's generation config) */
  temperature?: number;
  /** default 0.9 */
  top_p?: number;
  /** at most this many new tokens; default: until end of turn or the end of the context */
  max_tokens?: number;
  /** same as max_tokens (OpenAI's newer name) */
  max_completion_tokens?: number;
  /** sampling seed; default: a new random seed per request */
  seed?: number;
  /** up to 4 strings: the reply ends before the first of them (not included) */
  stop?: string | string[] | null;
  /** aborts the request: the promise or stream rejects with a TabScoutError named 'AbortError' (code 'cancelled') */
  signal?: AbortSignal;
  /** only 1 */
  n?: number;
  /** accepted for compatibility when they ask for nothing TabScout lacks: 0 */
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  /** only false: TabScout returns no logprobs */
  logprobs?: boolean | null;
  /** only { type: 'text' } */
  response_format?: { type: 'text' } | null;
  /** accepted for compatibility: usage is always sent as the last chunk */
  stream_options?: { include_usage?: boolean } | null;
  // TabScout extensions
  /** keep only the k most likely tokens (0 = off, the default) */
  top_k?: number;
  /** never stop at an end-of-turn token (benchmarks, tests) */
  ignore_eos?: boolean;
  /** progress before the first token while the engine reads the images (tile by tile) */
  onProgress?: (progress: GenerateProgress) => void;
}

export type FinishReason = 'stop' | 'length';

/** Tokens counted by the engine's tokenizer; `extra` carries the speed of this reply (as in WebLLM). */
export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  extra: {
    time_to_first_token_s: number;
    prefill_tokens_per_s: number;
    decode_tokens_per_s: number;
    /** fraction of routed-expert lookups served from GPU slots; null when every expert is resident */
    expert_hit_rate: number | null;
  };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  /** Unix time in seconds */
  created: number;
  model: string;
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string; refusal: null };
    logprobs: null;
    finish_reason: FinishReason;
    /** TabScout extension: the ids of the generated tokens */
    token_ids: number[];
  }[];
  usage: CompletionUsage;
  /** TabScout extension: the engine's figures for this reply */
  stats: GenerationStats;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  /** one choice; empty in the last chunk, which carries `usage` */
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string };
    logprobs: null;
    finish_reason: FinishReason | null;
    /** TabScout extension: ids of the tokens sampled since the previous chunk */
    token_ids: number[];
  }[];
  /** only in the last chunk */
  usage?: CompletionUsage;
  /** TabScout extension, only in the last chunk: the engine's figures for this reply */
  stats?: GenerationStats;
}

/** What `create({ stream: true })` resolves to: chunks as they come; leaving the loop early stops the reply. */
export interface ChatCompletionStream extends AsyncIterable<ChatCompletionChunk> {
  /** aborts the reply (as the request's signal would) */
  abort(): void;
}

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: 'tabscout';
  /** TabScout extensions */
  name: string;
  loaded: boolean;
}

export interface ModelList {
  object: 'list';
  data: ModelCard[];
}

export interface CreateEngineOptions {
  /** the model folder's URL (a Hugging Face repo layout: config.json, *.safetensors, tokenizer), relative to the
   * page; or 'installed:<id>' for a model in TabScout's weight store (see models.list()). Default: the built-in
   * model shipped next to the library. */
  model?: string;
  /** 'q4' (default: int4 weights, GGUF Q4_0 numerics) or 'f32' */
  weights?: WeightMode;
  /** GPU memory for routed experts in bytes; fewer slots than experts makes experts page in on demand. Default:
   * all experts resident. */
  expertBudgetBytes?: number;
  /** tokens of context to reserve KV cache for (default 4096, capped by the model's max_position_embeddings) */
  contextLength?: number;
  /** the KV cache's elements: 'f32' (default) or 'f16' (half its GPU memory and the bytes a long context's attention
   * reads; keys and values rounded to f16) */
  kvCache?: 'f32' | 'f16';
  /** load the vision tower when the model has one (default true) */
  vision?: boolean;
  /** loading progress: phase 'config' → 'weights' (bytes loaded of total) → 'ready' */
  onProgress?: (progress: LoadProgress) => void;
  /** the worker script's URL, for hosts that copy the files elsewhere (default: the one built next to the library) */
  workerUrl?: string | URL;
}

/** `engine.chat.completions` */
export interface Completions {
  create(request: ChatCompletionRequest & { stream: true }): Promise<ChatCompletionStream>;
  create(request: ChatCompletionRequest & { stream?: false | null }): Promise<ChatCompletion>;
  create(request: ChatCompletionRequest): Promise<ChatCompletion | ChatCompletionStream>;
}

/** A snapshot of the engine as a plain object (JSON-serialisable). */
export interface EngineStats {
  /** the loaded model's name, or null after unload() */
  model: string | null;
  weights: WeightMode | null;
  contextLength: number | null;
  /** GPU memory the model's weights take */
  gpuBytes: number | null;
  /** the last reply's figures; null before the first one */
  lastReply: {
    promptTokens: number;
    completionTokens: number;
    timeToFirstTokenMs: number;
    prefillTokensPerSecond: number;
    decodeTokensPerSecond: number;
  } | null;
  /** routed experts paged in since load; null when every expert is resident on the GPU */
  experts: { slotsPerLayer: number; hitRate: number; hits: number; misses: number; prefetchAccuracy: number | null; bytesRead: number } | null;
}
