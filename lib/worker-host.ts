// One engine worker: its Comlink proxy and a promise that rejects when the worker dies. Used by the library's
// createEngine() and by the app's EngineController (which adds recovery on top).
import * as Comlink from 'comlink';
import '../protocol/comlink-errors.ts';
import type { EngineApi } from '../protocol/api.ts';
import { EngineError } from '../protocol/errors.ts';

export type RemoteEngine = Comlink.Remote<EngineApi>;

/** The worker stopped (crashed, ran out of memory or was terminated): the engine's calls can never answer. */
export class WorkerCrashed extends Error {
  readonly code = 'worker-crashed';
  constructor(message = 'The engine worker stopped unexpectedly (it may have run out of memory).') {
    super(message);
    this.name = 'WorkerCrashed';
  }
}

let workerCount = 0;

/**
 * Starts the worker script at `url` as an ES-module worker. A page cannot start a worker from another origin's URL,
 * so for a library loaded from another origin (a CDN, a second host) the worker is a same-origin blob: module that
 * imports the real script (which the other origin must serve with CORS). The worker then runs in the page's origin,
 * and its own imports resolve against the real script's URL.
 */
export function startModuleWorker(url: URL, name: string): Worker {
  if (typeof location === 'undefined' || url.origin === location.origin) return new Worker(url, { type: 'module', name });
  const trampoline = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  const worker = new Worker(trampoline, { type: 'module', name });
  // The worker has fetched its script once it answers anything; a minute is plenty for that.
  setTimeout(() => URL.revokeObjectURL(trampoline), 60_000);
  return worker;
}

export class WorkerHost {
  readonly remote: RemoteEngine;
  readonly dead: Promise<never>;
  private worker: Worker;
  private closing = false;
  private kill!: (error: Error) => void;
  private readonly lockName: string;
  private watching = false;

  /** `start` makes the worker with the given name (the worker holds a Web Lock of that name for its whole life). */
  constructor(start: (name: string) => Worker, testHooks = false) {
    this.lockName = `tabscout-engine ${Date.now().toString(36)}-${++workerCount}-${Math.random().toString(36).slice(2)}`;
    this.worker = start(testHooks ? `${this.lockName} testHooks` : this.lockName);
    this.dead = new Promise<never>((_, reject) => {
      this.kill = reject;
    });
    this.dead.catch(() => undefined);
    // A worker that fails to load its script never answers: turn that into an error instead of a silent hang.
    this.worker.addEventListener('error', (event) => {
      if (!this.watching) this.kill(new Error(`The engine worker failed to start: ${event.message || 'script error'}. Reload the page.`));
    });
    this.remote = Comlink.wrap<EngineApi>(this.worker);
  }

  /** Starts watching for the worker's death through the Web Lock it holds for its whole life (see worker.ts). */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    if (!('locks' in navigator)) return;
    void (async () => {
      // Ask for the lock only once the worker holds it: a request made before would be granted at once, and read as
      // a crash. The worker takes it as it starts, so it holds it by the time it answers a call.
      for (let tries = 0; ; tries++) {
        if (this.closing) return;
        const { held = [] } = await navigator.locks.query();
        if (held.some((lock) => lock.name === this.lockName)) break;
        if (tries === 200) return console.warn('TabScout: the engine worker holds no lock, so a crash of it will not be noticed.');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await navigator.locks.request(this.lockName, () => {
        if (!this.closing) this.kill(new WorkerCrashed());
      });
    })();
  }

  /** Races a call to the worker against its death. */
  call<T>(work: (remote: RemoteEngine) => Promise<T>): Promise<T> {
    return Promise.race([work(this.remote), this.dead]);
  }

  /** Stops the worker. Calls still waiting for it reject with `cancelled` instead of waiting forever. */
  terminate(): void {
    this.closing = true;
    this.kill(new EngineError('cancelled', 'The engine was stopped (unloaded) before it answered.'));
    this.remote[Comlink.releaseProxy]();
    this.worker.terminate();
  }

  /** Test hook: kills the worker the way a crash would (no warning to anyone). */
  crash(): void {
    this.worker.terminate();
  }
}
