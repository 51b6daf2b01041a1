// The UI's one handle on the engine: a Comlink proxy to the Web Worker. Only types come from worker/.
import * as Comlink from 'comlink';
import '../worker/comlink-errors.ts';
import type { EngineApi, LoadProgress, ModelInfo } from '../worker/api.ts';
import type { Settings } from './settings.ts';

export type Engine = Comlink.Remote<EngineApi>;

let engine: Engine | null = null;
let workerFailure: Promise<never> | null = null;

function connect(): { engine: Engine; failure: Promise<never> } {
  if (!engine || !workerFailure) {
    const worker = new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'tabscout-engine' });
    // A worker that fails to start never answers: turn that into an error instead of a silent hang.
    workerFailure = new Promise<never>((_, reject) => {
      worker.addEventListener('error', (event) => {
        reject(new Error(`The engine worker failed to start: ${event.message || 'script error'}. Reload the page.`));
      });
    });
    workerFailure.catch(() => undefined);
    engine = Comlink.wrap<EngineApi>(worker);
  }
  return { engine, failure: workerFailure };
}

let started: Promise<{ engine: Engine; model: ModelInfo }> | null = null;

/** Starts the worker, finds the GPU and loads the model, once per page (React may mount twice in dev). */
export function startEngine(settings: Settings, onProgress: (p: LoadProgress) => void): Promise<{ engine: Engine; model: ModelInfo }> {
  started ??= (async () => {
    const { engine, failure } = connect();
    const race = <T,>(work: Promise<T>) => Promise.race([work, failure]);
    await race(engine.init());
    const model = await race(engine.load(settings.modelUrl, { weights: settings.weights, vision: settings.vision }, Comlink.proxy(onProgress)));
    return { engine, model };
  })();
  return started;
}

export { Comlink };
