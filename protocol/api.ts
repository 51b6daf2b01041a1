// The one typed API between the UI (app/) and the engine (worker/), reached through Comlink. Also used in Node.
// Types only (the runtime both sides share is errors.ts and comlink-errors.ts); it imports nothing from worker/.

import type { WeightFormat } from '../kernels/linear/weight-format.ts';

export type { WeightFormat };
export type { EngineErrorCode } from './errors.ts';

export interface DeviceReport {
  adapter: string;
  features: string[];
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface LoadProgress {
  phase: 'config' | 'weights' | 'ready';
  /** bytes of weights processed so far, and in all */
  loaded: number;
  total: number;
  message: string;
}

export interface LoadOptions {
  weights: WeightFormat;
  /** tokens of context to reserve KV cache for (capped by the model's max_position_embeddings) */
  contextLength?: number;
  /** load the vision tower when the model has one (default true) */
  vision?: boolean;
  /** GPU expert slots per MoE layer; fewer than the model's experts turns paging on (default: all resident) */
  expertSlots?: number;
  /** alternatively, GPU memory for routed experts in bytes: as many slots per layer as fit (at least one) */
  expertBudgetBytes?: number;
  /** memory for recently used experts between the weight store and the GPU (paged mode; default 2 GiB) */
  ramTierBytes?: number;
  /**
   * paged mode: also keep up to this many bytes of experts in host memory the GPU copies from (MAP_WRITE buffers),
   * so a page-in of one of them is a GPU copy with no CPU memcpy (default 0: off). Each expert is written there the
   * first time it is paged in.
   */
  pinnedTierBytes?: number;
  /**
   * the KV cache's elements: 'f32' (default) or 'f16' (half the memory and the bytes a long context's attention reads;
   * keys and values rounded to f16)
   */
  kvCache?: 'f32' | 'f16';
}

export interface ModelInfo {
  name: string;
  architecture: string;
  weights: WeightFormat;
  layers: number;
  experts: number;
  vocabSize: number;
  contextLength: number;
  gpuBytes: number;
}

/** An image attached to a user message: the file as the user gave it (PNG, JPEG, WebP, GIF, BMP). */
export interface ChatImage {
  data: Blob;
  name?: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** shown to the model before the text, in order */
  images?: ChatImage[];
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

export interface SamplingOptions {
  maxNewTokens: number;
  /** 0 = greedy */
  temperature: number;
  /** 0 = off */
  topK: number;
  /** 1 = off */
  topP: number;
  seed: number;
  /** never stop at (or emit) an end-of-turn token: HF's min_new_tokens = max_new_tokens */
  ignoreEos?: boolean;
}

export interface TokenEvent {
  /** the sampled token, or −1 for a final event that only carries text held back until the end (an incomplete
   * multi-byte character) */
  tokenId: number;
  /** the new piece of text this token adds */
  text: string;
}

/** Expert paging figures since the model was loaded (absent when every expert is resident on the GPU). */
export interface ExpertStats {
  slotsPerLayer: number;
  hits: number;
  misses: number;
  hitRate: number;
  /** fraction of selected experts the previous layer predicted */
  prefetchAccuracy: number | null;
  bytesRead: number;
  /** of bytesRead, the bytes the GPU copied from the pinned tier (LoadOptions.pinnedTierBytes; 0 without one) */
  pinnedBytes: number;
  /** per MoE layer: experts used by the last token and experts resident in GPU slots */
  traffic: {
    layer: number;
    used: number[];
    /** the experts each of the latest steps used (at most 16; a decoded token is a step, a prompt is one), oldest first */
    recent: number[][];
    resident: number[];
  }[];
}

export interface GenerationStats {
  experts?: ExpertStats;
  promptTokens: number;
  /** leading prompt tokens whose KV entries were kept from the previous turn (the rest were prefilled) */
  cachedPromptTokens: number;
  generatedTokens: number;
  timeToFirstTokenMs: number;
  /** prompt tokens prefilled (promptTokens − cachedPromptTokens) per second until the first token */
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

export interface GenerationResult {
  text: string;
  tokenIds: number[];
  stopReason: 'eos' | 'length' | 'cancelled';
  stats: GenerationStats;
}

export interface EngineApi {
  /** Finds a WebGPU adapter and checks its limits. Throws EngineError('no-webgpu' | 'gpu-limits'). */
  init(): Promise<DeviceReport>;
  /** Loads a model laid out like a Hugging Face repo from a base URL (config.json, safetensors, tokenizer). */
  load(baseUrl: string, options: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo>;
  /** Streams a reply to the conversation; resolves when done, cancelled, or at maxNewTokens. */
  generate(messages: ChatMessage[], options: SamplingOptions, onToken: (t: TokenEvent) => void, onProgress?: (p: GenerateProgress) => void): Promise<GenerationResult>;
  /** Tokens the conversation takes in the loaded model's context, as generate() would prompt it (images as their
   * tiles' tokens), so that the UI can keep a chat within the context. */
  countTokens(messages: ChatMessage[]): Promise<number>;
  /** Stops the running generation (the promise of generate() resolves with stopReason 'cancelled'). */
  cancel(): void;
  unload(): Promise<void>;
  lastStats(): GenerationStats | null;
  /** Calls back once for each GPU device the engine loses (driver reset, tab backgrounded on a phone). The engine
   * then holds no device and no model: init() and load() again to go on. A generate() running at that moment
   * rejects with EngineError('device-lost'). */
  onDeviceLost(callback: (lost: DeviceLostInfo) => void): void;
  /** Test hook: destroys the GPU device as a driver reset would. Throws unless the engine was made with test hooks. */
  loseDeviceForTest(): void;

  // The model manager: models kept in the browser's weight store (IndexedDB)
  /** Installed and partly installed models (name, size, source, date). */
  listModels(): Promise<StoredModelInfo[]>;
  /** Storage used and available to the store, or null where the browser does not tell. */
  storageSpace(): Promise<StoreSpace | null>;
  /** Imports a model from the Hub, a URL, a picked folder or a package, or resumes an import; refuses with the
   * numbers when it does not fit. Progress reports bytes, records, rate and time left. */
  importModel(request: ImportRequest, onProgress?: (p: ImportProgress) => void): Promise<StoredModelInfo>;
  /** Stops a running import (what was written stays, and the import can be resumed). */
  cancelImport(): void;
  deleteModel(id: string): Promise<void>;
  /** Loads an installed model; experts page from the store when `expertSlots`/`expertBudgetBytes` leave too few. */
  loadStored(id: string, options: Omit<LoadOptions, 'weights'>, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo>;
}

export interface DeviceLostInfo {
  reason: string;
  message: string;
}

// The model manager's view of the weight store (worker/store/ implements it)

export type SourceKind = 'hub' | 'url' | 'folder' | 'package' | 'checkpoint';

/** Where a stored model came from. */
export interface ModelSource {
  kind: SourceKind;
  /** repo id, base URL, folder name or package URL */
  location: string;
  /** Hub revision (branch, tag or commit) where there is one */
  revision: string | null;
}

export type ModelStatus = 'partial' | 'complete';

export interface StoredModelInfo {
  id: string;
  name: string;
  source: ModelSource;
  date: string;
  weights: WeightFormat;
  status: ModelStatus;
  /** bytes of the records stored so far, and of all of them */
  bytes: number;
  totalBytes: number;
  records: number;
  recordsTotal: number;
}

export interface StoreSpace {
  quota: number;
  usage: number;
  free: number;
  persisted: boolean | null;
}

/** What to import, as plain data (it crosses postMessage: File objects and directory handles are
 * structured-cloneable). weights: q4 (default) or f32; vision: keep the vision tower (default true). A package
 * brings its own. */
export type ImportRequest =
  | { kind: 'hub'; repo: string; revision?: string; token?: string; weights?: WeightFormat; vision?: boolean; endpoint?: string }
  | { kind: 'url'; url: string; token?: string; weights?: WeightFormat; vision?: boolean }
  | { kind: 'package'; url: string }
  | { kind: 'folder'; files: File[] | FileSystemDirectoryHandle; weights?: WeightFormat; vision?: boolean };

export interface ImportProgress {
  phase: 'resolving' | 'importing' | 'complete';
  /** bytes of records stored (as the store counts them), and of all of them */
  bytesDone: number;
  bytesTotal: number;
  recordsDone: number;
  recordsTotal: number;
  /** over the last few seconds of this run (0 until two records are in) */
  bytesPerSecond: number;
  /** null until there is a rate */
  secondsLeft: number | null;
  /** the record just stored */
  record: string | null;
  message: string;
}
