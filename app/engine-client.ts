// The UI's one handle on the engine: a Comlink proxy to the Web Worker (the contract comes from protocol/), kept alive
// across failures. A lost GPU device is re-initialised in the same worker; a worker that dies (crash, out of
// memory) is replaced by a new one. Either way the model is loaded again and the UI is told what happened.
import * as Comlink from 'comlink';
import { ChatCompletions } from '../lib/completions.ts';
import { WorkerCrashed, WorkerHost } from '../lib/worker-host.ts';
import '../protocol/comlink-errors.ts';
import { EngineError, errorCode } from '../protocol/errors.ts';
import type {
  ChatMessage,
  DeviceLostInfo,
  DeviceReport,
  EngineApi,
  GenerateProgress,
  GenerationResult,
  ImportProgress,
  ImportRequest,
  LoadProgress,
  ModelInfo,
  SamplingOptions,
  StoredModelInfo,
  StoreSpace,
  TokenEvent,
  WeightFormat,
} from '../protocol/api.ts';

export type Engine = Comlink.Remote<EngineApi>;

export { WorkerCrashed };

/** The app's worker (Vite bundles the worker from this `new Worker(new URL(…))`), named for its Web Lock. */
const startWorker = (name: string) => new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name });

export type EngineState =
  | { kind: 'starting' }
  | { kind: 'loading'; progress: LoadProgress; recovering?: string }
  | { kind: 'ready'; model: ModelInfo }
  | { kind: 'unsupported'; code: 'no-webgpu' | 'gpu-limits'; message: string }
  | { kind: 'failed'; message: string };

export interface ModelSpec {
  /** the model folder's URL, or for a stored model a description of where it came from (shown as its source) */
  url: string;
  weights: WeightFormat;
  vision: boolean;
  /** GPU memory for routed experts (the settings' expert budget); undefined = all resident */
  expertBudgetBytes?: number;
  /** paged mode: host memory the GPU copies experts from (the settings' pinned tier); undefined = none */
  pinnedTierBytes?: number;
  /** the KV cache's elements (the page's ?kvCache=); undefined = f32 */
  kvCache?: 'f32' | 'f16';
  /** an installed model of the weight store, loaded with loadStored instead of from the URL */
  storedId?: string;
}

/** What went wrong and what was done about it, for the banner. */
export interface EngineNotice {
  id: number;
  kind: 'device-lost' | 'worker-crashed' | 'model-failed';
  message: string;
}

interface Snapshot {
  state: EngineState;
  device: DeviceReport | null;
  notice: EngineNotice | null;
  spec: ModelSpec | null;
}

let noticeId = 0;

/**
 * The engine as the UI sees it: state for the status line, generate/cancel for the chat, and recovery. Listeners
 * get a new snapshot after every change (React reads it through useSyncExternalStore).
 */
export class EngineController {
  private host: WorkerHost | null = null;
  private snapshot: Snapshot = { state: { kind: 'starting' }, device: null, notice: null, spec: null };
  private listeners = new Set<() => void>();
  private recovering: Promise<void> | null = null;
  /** the reply being generated, if any (recovery waits for it to settle before loading again) */
  private generating: Promise<unknown> | null = null;
  private loadRun = 0;

  /** The chat's one way to the engine: the library's OpenAI-style completions (lib/), over generate()/cancel() below
   * and so over this controller's recovery. */
  readonly chat: { completions: ChatCompletions } = {
    completions: new ChatCompletions(
      () => this,
      () => {
        const state = this.snapshot.state;
        return state.kind === 'ready' ? state.model.name : (this.snapshot.spec?.url ?? 'none');
      },
    ),
  };

  constructor(private testHooks = false) {
    if (testHooks) {
      (window as unknown as { __tabscoutTest: unknown }).__tabscoutTest = {
        loseDevice: () => this.host?.remote.loseDeviceForTest(),
        crashWorker: () => this.host?.crash(),
      };
    }
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): Snapshot => this.snapshot;

  private update(change: Partial<Snapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener();
  }

  get ready(): boolean {
    return this.snapshot.state.kind === 'ready';
  }

  dismissNotice(): void {
    this.update({ notice: null });
  }

  /** Shows a notice in the banner (e.g. which model was loaded instead of one that failed). */
  notify(kind: EngineNotice['kind'], message: string): void {
    this.update({ notice: { id: ++noticeId, kind, message } });
  }

  /**
   * Starts a worker, finds the GPU and loads the model. Called again with another spec, loads that model. Resolves
   * true when this load ended with the model ready, false when it failed or a later load took its place.
   */
  async load(spec: ModelSpec, recovering?: string): Promise<boolean> {
    const run = ++this.loadRun;
    const live = () => run === this.loadRun;
    // The engine refuses to load while it writes a reply: stop the reply first.
    if (this.generating) {
      this.cancel();
      await this.generating.catch(() => undefined);
    }
    this.update({ spec, state: { kind: 'loading', progress: { phase: 'config', loaded: 0, total: 0, message: '' }, recovering } });
    try {
      const host = this.ensureHost();
      const device = await host.call((r) => r.init());
      host.watch();
      if (live()) this.update({ device });
      // Progress calls come through their own MessagePort, the result through the worker's: the last progress
      // messages can arrive after the result, and must not turn a ready model back into "Loading… 100 %".
      let settled = false;
      const onProgress = Comlink.proxy((progress: LoadProgress) => {
        if (live() && !settled) this.update({ state: { kind: 'loading', progress, recovering } });
      });
      // the options of GPU and host memory use
      const memory = {
        ...(spec.expertBudgetBytes !== undefined ? { expertBudgetBytes: spec.expertBudgetBytes } : {}),
        ...(spec.pinnedTierBytes !== undefined ? { pinnedTierBytes: spec.pinnedTierBytes } : {}),
        ...(spec.kvCache === 'f16' ? { kvCache: spec.kvCache } : {}),
      };
      const model = await (spec.storedId
        ? host.call((r) => r.loadStored(spec.storedId!, { vision: spec.vision, ...memory }, onProgress))
        : host.call((r) => r.load(spec.url, { weights: spec.weights, vision: spec.vision, ...memory }, onProgress))
      ).finally(() => (settled = true));
      if (!live()) return false;
      this.update({ state: { kind: 'ready', model } });
      return true;
    } catch (error) {
      if (!live()) return false;
      if (error instanceof WorkerCrashed) {
        this.replaceWorker();
        this.update({ state: { kind: 'failed', message: `${error.message} Reload the page to try again.` } });
        return false;
      }
      const code = errorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      if (code === 'no-webgpu' || code === 'gpu-limits') this.update({ state: { kind: 'unsupported', code, message } });
      else this.update({ state: { kind: 'failed', message } });
      return false;
    }
  }

  private ensureHost(): WorkerHost {
    if (this.host) return this.host;
    const host = new WorkerHost(startWorker, this.testHooks);
    this.host = host;
    void host.remote.onDeviceLost(Comlink.proxy((lost: DeviceLostInfo) => this.onDeviceLost(host, lost))).catch(() => undefined);
    host.dead.catch((error) => {
      if (this.host === host && error instanceof WorkerCrashed) void this.recover('worker-crashed', error.message);
    });
    return host;
  }

  private replaceWorker(): void {
    this.host?.terminate();
    this.host = null;
  }

  private onDeviceLost(host: WorkerHost, lost: DeviceLostInfo): void {
    if (this.host !== host) return;
    void this.recover('device-lost', `The GPU device was lost (${lost.reason}${lost.message ? `: ${lost.message}` : ''}).`);
  }

  /** Re-initialises after a lost device (same worker) or a dead worker (a new one), and reloads the model. */
  recover(kind: EngineNotice['kind'], what: string): Promise<void> {
    if (this.recovering) return this.recovering;
    const spec = this.snapshot.spec;
    this.recovering = (async () => {
      if (kind === 'worker-crashed') this.replaceWorker();
      await this.generating?.catch(() => undefined);
      const doing = kind === 'worker-crashed' ? 'Restarting the engine' : 'Re-initialising the GPU';
      this.update({ notice: { id: ++noticeId, kind, message: `${what} ${doing} and reloading the model; your conversation and settings are kept.` } });
      if (spec) await this.load(spec, `${doing}…`);
      const state = this.snapshot.state;
      const outcome =
        state.kind === 'ready'
          ? `${what} TabScout ${kind === 'worker-crashed' ? 'restarted the engine' : 're-initialised the GPU'} and reloaded the model; your conversation and settings are kept. The interrupted reply is marked; use Regenerate to try it again.`
          : `${what} Recovery failed: ${state.kind === 'failed' || state.kind === 'unsupported' ? state.message : state.kind}. Reload the page.`;
      this.update({ notice: { id: ++noticeId, kind, message: outcome } });
    })().finally(() => {
      this.recovering = null;
    });
    return this.recovering;
  }

  /** Streams a reply. Rejects with EngineError codes, or 'device-lost' / WorkerCrashed when the engine fails under it. */
  async generate(
    messages: ChatMessage[],
    sampling: SamplingOptions,
    onToken: (token: TokenEvent) => void,
    onProgress?: (progress: GenerateProgress) => void,
  ): Promise<GenerationResult> {
    const host = this.host;
    if (!host || !this.ready) throw new EngineError('not-loaded', 'The model is not loaded yet.');
    const reply = host.call((r) => r.generate(messages, sampling, Comlink.proxy(onToken), onProgress ? Comlink.proxy(onProgress) : undefined));
    this.generating = reply;
    try {
      return await reply;
    } catch (error) {
      if (errorCode(error) === 'device-lost' && this.host === host) void this.recover('device-lost', (error as Error).message.replace(/ Load the model again to go on\.$/, ''));
      throw error;
    } finally {
      if (this.generating === reply) this.generating = null;
    }
  }

  /** Tokens the conversation takes in the loaded model's context (see EngineApi.countTokens). */
  countTokens(messages: ChatMessage[]): Promise<number> {
    const host = this.host;
    if (!host || !this.ready) return Promise.reject(new EngineError('not-loaded', 'The model is not loaded yet.'));
    return host.call((r) => r.countTokens(messages));
  }

  cancel(): void {
    void this.host?.remote.cancel().catch(() => undefined);
  }

  // The model manager: the weight store in the worker (no GPU needed)
  listModels(): Promise<StoredModelInfo[]> {
    return this.ensureHost().call((r) => r.listModels());
  }

  storageSpace(): Promise<StoreSpace | null> {
    return this.ensureHost().call((r) => r.storageSpace());
  }

  importModel(request: ImportRequest, onProgress: (progress: ImportProgress) => void): Promise<StoredModelInfo> {
    return this.ensureHost().call((r) => r.importModel(request, Comlink.proxy(onProgress)));
  }

  cancelImport(): void {
    void this.host?.remote.cancelImport().catch(() => undefined);
  }

  deleteModel(id: string): Promise<void> {
    return this.ensureHost().call((r) => r.deleteModel(id));
  }
}

let controller: EngineController | null = null;

/** The page's one engine controller (React may mount twice in dev). */
export function engineController(testHooks: boolean): EngineController {
  controller ??= new EngineController(testHooks);
  return controller;
}

export { Comlink };
