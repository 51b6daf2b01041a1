// WorkerHost without a browser: a fake worker that never answers stands in for a busy engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode } from '../protocol/errors.ts';
import { WorkerHost } from './worker-host.ts';

class SilentWorker extends EventTarget {
  terminated = false;
  postMessage(): void {}
  terminate(): void {
    this.terminated = true;
  }
  start(): void {}
}

test('terminate() rejects a call still waiting for the worker with `cancelled`', { timeout: 5000 }, async () => {
  const worker = new SilentWorker();
  const host = new WorkerHost(() => worker as unknown as Worker);
  const pending = host.call((remote) => remote.cancel());
  host.terminate();
  await assert.rejects(pending, (error: unknown) => errorCode(error) === 'cancelled');
  assert.equal(worker.terminated, true);
});
