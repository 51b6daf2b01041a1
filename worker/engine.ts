// The engine behind the EngineApi: owns the GPU device and at most one loaded model. The Web Worker exposes an
// instance through Comlink (worker.ts); nothing here touches the DOM.
import { GpuContext, hasIntegerDot, isCpuAdapter } from '../kernels/runtime.ts';
import { EngineError } from '../protocol/errors.ts';
import type {
  ChatMessage,
  DeviceReport,
  EngineApi,
  GenerationResult,
  GenerationStats,
  GenerateProgress,
  ChatImage,
  DeviceLostInfo,
  LoadOptions,
  LoadProgress,
  ModelInfo,
  SamplingOptions,
  TokenEvent,
  StoredModelInfo,
  StoreSpace,
  ImportRequest,
  ImportProgress,
} from '../protocol/api.ts';
import { HttpFiles } from './store/http.ts';
import type { ModelFiles } from './model/safetensors.ts';
import { ModelSession } from './session.ts';
import { WeightStore } from './store/store.ts';
import { ModelLibrary } from './store/library.ts';
import { loadSessionFromStore } from './store/session.ts';
import { promptMessages, type DecodedPixels } from './chat-input.ts';
import { ImageError } from './image/errors.ts';

/** A device, optionally with its adapter's info (else GPUDevice.adapterInfo is used where the browser has it). */
export type DeviceSource = () => Promise<GPUDevice | { device: GPUDevice; info: GPUAdapterInfo }>;

export class Engine implements EngineApi {
  private ctx: GpuContext | null = null;
  private report: DeviceReport | null = null;
  private session: ModelSession | null = null;
  private busy = false;
  private cancelled = false;
  private stats: GenerationStats | null = null;
  private lostListeners: ((lost: DeviceLostInfo) => void)[] = [];
  /** resolves when the current device is lost */
  private deviceLost: Promise<DeviceLostInfo> | null = null;
  /** lets loseDeviceForTest() work (the worker turns it on for pages opened with ?testHooks=1) */
  testHooks = false;

  constructor(
    private deviceSource: DeviceSource,
    private filesFor: (baseUrl: string) => ModelFiles = (url) => new HttpFiles(url, { failureHint: 'Check the connection and load the model again.' }),
    /** decodes an attached image file to RGBA; the worker passes the browser's decoder */
    private decodeImage: (image: ChatImage) => Promise<DecodedPixels> = () => Promise.reject(new ImageError('No image decoder is available here.')),
    /** the weight store of the model manager (IndexedDB in the browser) */
    private openStore: () => WeightStore = () => WeightStore.browser(),
  ) {}

  private library: ModelLibrary | null = null;
  private importAbort: AbortController | null = null;

  private models(): ModelLibrary {
    if (!this.library) {
      const store = this.openStore();
      this.library = new ModelLibrary(store);
      void store.sweep().catch((e) => console.warn('weight store sweep failed:', e));
    }
    return this.library;
  }

  listModels(): Promise<StoredModelInfo[]> {
    return this.models().list();
  }

  storageSpace(): Promise<StoreSpace | null> {
    return this.models().space();
  }

  async importModel(request: ImportRequest, onProgress?: (p: ImportProgress) => void): Promise<StoredModelInfo> {
    this.importAbort?.abort();
    const abort = new AbortController();
    this.importAbort = abort;
    try {
      const result = await this.models().import(request, { onProgress, signal: abort.signal });
      const info = (await this.models().list()).find((m) => m.id === result.manifest.id);
      if (!info) throw new EngineError('bad-model', `${result.manifest.name} was imported but is not listed`);
      return info;
    } finally {
      if (this.importAbort === abort) this.importAbort = null;
    }
  }

  cancelImport(): void {
    this.importAbort?.abort();
  }

  async deleteModel(id: string): Promise<void> {
    if (this.session && this.loadedId === id) throw new EngineError('busy', 'This model is in use: load another model before deleting it.');
    await this.models().delete(id);
  }

  private loadedId: string | null = null;

  async loadStored(id: string, options: Omit<LoadOptions, 'weights'>, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    await this.init();
    if (this.busy) throw new EngineError('busy', 'A reply is being generated; stop it before loading another model.');
    await this.unload();
    const store = this.models().store;
    const manifest = await store.manifest(id);
    onProgress?.({ phase: 'config', loaded: 0, total: 0, message: `Opening ${manifest.name}…` });
    const session = await loadSessionFromStore(this.ctx!, store, id, options, (loaded, total, tensor) =>
      onProgress?.({ phase: 'weights', loaded, total, message: `Loading weights: ${tensor}` }),
    );
    this.session = session;
    this.loadedId = id;
    onProgress?.({ phase: 'ready', loaded: 1, total: 1, message: 'Model ready' });
    return this.infoOf(manifest.name, session, manifest.weights);
  }

  private infoOf(name: string, session: ModelSession, weights: LoadOptions['weights']): ModelInfo {
    const c = session.config;
    return {
      name,
      architecture: c.architecture,
      weights,
      layers: c.text.numLayers,
      experts: c.text.numExperts,
      vocabSize: c.text.vocabSize,
      contextLength: session.model.state.contextLength,
      gpuBytes: session.weights.gpuBytes,
    };
  }

  async init(): Promise<DeviceReport> {
    if (this.report && this.ctx) return this.report;
    const source = await this.deviceSource();
    const device = 'queue' in source ? source : source.device;
    const info: Partial<GPUAdapterInfo> = ('queue' in source ? (source as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo : source.info) ?? {};
    this.deviceLost = device.lost.then((lost) => {
      const info = { reason: String(lost.reason ?? 'unknown'), message: lost.message };
      if (this.ctx?.device === device) {
        this.ctx = null;
        this.session = null;
        this.report = null;
        console.warn(`GPU device lost (${lost.reason}): ${lost.message}`);
        for (const listener of this.lostListeners) listener(info);
      }
      return info;
    });
    this.ctx = new GpuContext(device, { cpuKernels: isCpuAdapter(info as GPUAdapterInfo), integerDot: hasIntegerDot(globalThis.navigator?.gpu) });
    this.report = {
      adapter: `${info.vendor ?? 'unknown'} / ${info.architecture || info.device || info.description || 'unknown'}`,
      features: [...device.features],
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
    };
    return this.report;
  }

  async load(baseUrl: string, options: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    await this.init();
    if (this.busy) throw new EngineError('busy', 'A reply is being generated; stop it before loading another model.');
    await this.unload();
    onProgress?.({ phase: 'config', loaded: 0, total: 0, message: 'Reading the model configuration…' });
    const files = this.filesFor(baseUrl);
    const session = await ModelSession.load(this.ctx!, files, {
      ...options,
      onProgress: (loaded, total, tensor) => onProgress?.({ phase: 'weights', loaded, total, message: `Loading weights: ${tensor}` }),
    });
    this.session = session;
    this.loadedId = null;
    onProgress?.({ phase: 'ready', loaded: 1, total: 1, message: 'Model ready' });
    return this.infoOf(baseUrl.replace(/\/+$/, '').split('/').pop() || baseUrl, session, options.weights);
  }

  async generate(messages: ChatMessage[], options: SamplingOptions, onToken: (t: TokenEvent) => void, onProgress?: (p: GenerateProgress) => void): Promise<GenerationResult> {
    const session = this.session;
    if (!session) throw new EngineError('not-loaded', 'No model is loaded yet. Load a model first.');
    if (this.busy) throw new EngineError('busy', 'A reply is already being generated.');
    this.busy = true;
    this.cancelled = false;
    const deviceLost = this.deviceLost;
    try {
      // the session keeps the conversation's KV cache: only what differs from the last turn is prefilled
      const prompt = session.prompt(await promptMessages(session, messages, this.decodeImage));
      const result = await session.generate(prompt, options, onToken, () => this.cancelled, {
        onTile: (tile, tiles) => onProgress?.({ phase: 'image', tile, tiles }),
      });
      this.stats = result.stats;
      return result;
    } catch (error) {
      // A lost device makes the next GPU read fail with a generic error; say what happened instead.
      const lost = deviceLost && (await Promise.race([deviceLost, new Promise<null>((done) => setTimeout(() => done(null), 250))]));
      if (lost) throw new EngineError('device-lost', `The GPU device was lost (${lost.reason}${lost.message ? `: ${lost.message}` : ''}). Load the model again to go on.`);
      throw error;
    } finally {
      this.busy = false;
    }
  }

  async countTokens(messages: ChatMessage[]): Promise<number> {
    const session = this.session;
    if (!session) throw new EngineError('not-loaded', 'No model is loaded yet. Load a model first.');
    return session.prompt(await promptMessages(session, messages, this.decodeImage)).ids.length;
  }

  onDeviceLost(callback: (lost: DeviceLostInfo) => void): void {
    this.lostListeners.push(callback);
  }

  loseDeviceForTest(): void {
    if (!this.testHooks) throw new EngineError('not-loaded', 'Test hooks are off in this engine.');
    this.ctx?.device.destroy();
  }

  cancel(): void {
    this.cancelled = true;
  }

  async unload(): Promise<void> {
    this.session?.destroy();
    this.session = null;
    this.loadedId = null;
  }

  lastStats(): GenerationStats | null {
    return this.stats;
  }
}
