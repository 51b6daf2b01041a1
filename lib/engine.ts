// createEngine(): the engine in a Web Worker, with OpenAI-style chat completions. One engine holds one model.
import * as Comlink from 'comlink';
import workerUrl from '../worker/worker.ts?worker&url';
import type { GenerationStats, LoadProgress, ModelInfo } from '../protocol/api.ts';
import { ChatCompletions } from './completions.ts';
import { builtInModelUrl } from './default-model.ts';
import { TabScoutError, toTabScoutError } from './errors.ts';
import { startModuleWorker, WorkerHost } from './worker-host.ts';
import type { Completions, CreateEngineOptions, EngineStats, ModelCard, ModelList } from './types.ts';

const INSTALLED = 'installed:';

/** The built-in model next to this module: <root>/lib/tabscout.js → <root>/models/… */
export function defaultModelUrl(): string {
  return builtInModelUrl(new URL(/* @vite-ignore */ '../', import.meta.url));
}

export class TabScoutEngine {
  /** `engine.chat.completions.create({ messages, stream, ... })` */
  readonly chat: { completions: Completions };
  readonly models: {
    /** The loaded model first, then the models installed in TabScout's weight store (ids 'installed:<id>'). */
    list(): Promise<ModelList>;
  } = { list: () => this.listModels() };

  private host: WorkerHost | null;
  private info: ModelInfo | null = null;
  private modelId: string;
  private last: GenerationStats | null = null;
  private readonly loadedAt = Math.floor(Date.now() / 1000);

  /** Use createEngine(). */
  constructor(private readonly options: CreateEngineOptions) {
    const url = new URL(options.workerUrl ?? workerUrl, import.meta.url);
    this.host = new WorkerHost((name) => startModuleWorker(url, name));
    this.modelId = options.model ?? defaultModelUrl();
    this.chat = {
      completions: new ChatCompletions(
        () => {
          const host = this.host;
          if (!host || !this.info) throw new TabScoutError('not-loaded', 'This engine was unloaded: call createEngine() again to load a model.');
          return {
            generate: async (messages, sampling, onToken, onProgress) => {
              const result = await host.call((r) => r.generate(messages, sampling, Comlink.proxy(onToken), onProgress ? Comlink.proxy(onProgress) : undefined));
              this.last = result.stats;
              return result;
            },
            cancel: () => void host.remote.cancel().catch(() => undefined),
          };
        },
        () => this.modelId,
      ),
    };
  }

  /** Finds the GPU and loads the model (createEngine() calls it). */
  async load(): Promise<void> {
    const host = this.host!;
    const { model, weights = 'q4', expertBudgetBytes, contextLength, kvCache, vision = true, onProgress } = this.options;
    const progress = onProgress ? Comlink.proxy((p: LoadProgress) => onProgress(p)) : undefined;
    const common = {
      vision,
      ...(expertBudgetBytes !== undefined ? { expertBudgetBytes } : {}),
      ...(contextLength !== undefined ? { contextLength } : {}),
      ...(kvCache !== undefined ? { kvCache } : {}),
    };
    try {
      await host.call((r) => r.init());
      host.watch();
      if (model?.startsWith(INSTALLED)) {
        this.info = await host.call((r) => r.loadStored(model.slice(INSTALLED.length), common, progress));
      } else {
        const base = typeof document !== 'undefined' ? document.baseURI : import.meta.url;
        const url = new URL(model ?? defaultModelUrl(), base).href;
        this.modelId = model ?? url;
        this.info = await host.call((r) => r.load(url, { weights, ...common }, progress));
      }
    } catch (error) {
      this.dispose();
      throw toTabScoutError(error);
    }
  }

  private async listModels(): Promise<ModelList> {
    const data: ModelCard[] = [];
    if (this.info) data.push({ id: this.modelId, object: 'model', created: this.loadedAt, owned_by: 'tabscout', name: this.info.name, loaded: true });
    const host = this.host;
    if (host) {
      const installed = await host.call((r) => r.listModels()).catch(() => []);
      for (const m of installed) {
        if (m.status !== 'complete' || `${INSTALLED}${m.id}` === this.modelId) continue;
        data.push({ id: `${INSTALLED}${m.id}`, object: 'model', created: Math.floor(Date.parse(m.date) / 1000) || 0, owned_by: 'tabscout', name: m.name, loaded: false });
      }
    }
    return { object: 'list', data };
  }

  /** The loaded model and the last reply's figures, as a plain object. */
  stats(): EngineStats {
    const info = this.info;
    const last = this.last;
    const experts = last?.experts;
    return {
      model: info?.name ?? null,
      weights: info?.weights ?? null,
      contextLength: info?.contextLength ?? null,
      gpuBytes: info?.gpuBytes ?? null,
      lastReply: last
        ? {
            promptTokens: last.promptTokens,
            completionTokens: last.generatedTokens,
            timeToFirstTokenMs: last.timeToFirstTokenMs,
            prefillTokensPerSecond: last.prefillTokensPerSecond,
            decodeTokensPerSecond: last.decodeTokensPerSecond,
          }
        : null,
      experts: experts
        ? { slotsPerLayer: experts.slotsPerLayer, hitRate: experts.hitRate, hits: experts.hits, misses: experts.misses, prefetchAccuracy: experts.prefetchAccuracy, bytesRead: experts.bytesRead }
        : null,
    };
  }

  /** Frees the GPU memory and stops the worker. The engine cannot be used afterwards. */
  async unload(): Promise<void> {
    const host = this.host;
    if (!host) return;
    await host.call((r) => r.cancel()).catch(() => undefined);
    await host.call((r) => r.unload()).catch(() => undefined);
    this.dispose();
  }

  private dispose(): void {
    this.host?.terminate();
    this.host = null;
    this.info = null;
  }
}

/** Starts the engine in a Web Worker and loads the model (the built-in one unless `model` says otherwise). */
export async function createEngine(options: CreateEngineOptions = {}): Promise<TabScoutEngine> {
  const engine = new TabScoutEngine(options);
  await engine.load();
  return engine;
}
