// The kernel variants real GPUs run (workgroup reductions, the mat-vec path) give the same model output as the
// CPU-adapter variants CI uses by default, on a short prompt and a few decode steps (slow on SwiftShader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { GpuContext } from '../../kernels/runtime.ts';
import { maxAbsDiff } from '../../testing/gpu.ts';
import { ModelSession } from '../session.ts';
import { fixturesDir } from '../../testing/fixtures.ts';

test('tiny-scout q4: GPU kernel variants match the CPU variants (logits and greedy tokens)', async () => {
  const { ctx } = await createNodeGpu();
  const files = new FsModelFiles(join(fixturesDir(), 'tiny-scout', 'model'));
  const gpuCtx = new GpuContext(ctx.device, { cpuKernels: false });
  const cpu = await ModelSession.load(new GpuContext(ctx.device, { cpuKernels: true }), files, { weights: 'q4', contextLength: 32, vision: false });
  const gpu = await ModelSession.load(gpuCtx, files, { weights: 'q4', contextLength: 32, vision: false });
  const ids = [1024, 1029, 82, 746, 1030, 282, 56, 370];
  const d = maxAbsDiff(await gpu.logitsFor(ids), await cpu.logitsFor(ids));
  assert.ok(d <= 1e-4, `prefill logits differ by ${d}`);
  const opts = { maxNewTokens: 4, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true };
  assert.deepEqual((await gpu.generate(ids, opts, () => {})).tokenIds, (await cpu.generate(ids, opts, () => {})).tokenIds);
  cpu.destroy();
  gpu.destroy();
});
