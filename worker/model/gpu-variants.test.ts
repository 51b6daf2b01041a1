// The kernel variants real GPUs run (workgroup reductions, the mat-vec path) give the same model output as the
// CPU-adapter variants CI uses by default, on a short prompt and a few decode steps (slow on SwiftShader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { GpuContext } from '../../kernels/runtime.ts';
import { maxAbsDiff } from '../../testing/gpu.ts';
import { ModelSession } from '../session.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { attentionDecodeTuning } from '../../kernels/attention/attention.ts';
import { moeTuning, normTuning } from './llama4.ts';

// With the KV cache in f16 the variants' ~1e-5 differences can round a key or value to the next f16: 2e-3 then.
for (const [integerDot, kvCache] of [[false, 'f32'], [true, 'f32'], [true, 'f16']] as const)
test(`tiny-scout q4: GPU kernel variants${integerDot ? ' (q4 mat-vecs by integer dot product)' : ''}${kvCache === 'f16' ? ', KV cache in f16,' : ''} match the CPU variants (logits and greedy tokens)`, async () => {
  const { ctx } = await createNodeGpu();
  const files = new FsModelFiles(join(fixturesDir(), 'tiny-scout', 'model'));
  const gpuCtx = new GpuContext(ctx.device, { cpuKernels: false, integerDot });
  const cpu = await ModelSession.load(new GpuContext(ctx.device, { cpuKernels: true }), files, { weights: 'q4', contextLength: 32, vision: false, kvCache });
  const gpu = await ModelSession.load(gpuCtx, files, { weights: 'q4', contextLength: 32, vision: false, kvCache });
  const ids = [1024, 1029, 82, 746, 1030, 282, 56, 370];
  const d = maxAbsDiff(await gpu.logitsFor(ids), await cpu.logitsFor(ids));
  assert.ok(d <= (kvCache === 'f16' ? 2e-3 : 1e-4), `prefill logits differ by ${d}`);
  const opts = { maxNewTokens: 4, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true };
  assert.deepEqual((await gpu.generate(ids, opts, () => {})).tokenIds, (await cpu.generate(ids, opts, () => {})).tokenIds);
  cpu.destroy();
  gpu.destroy();
});

// Paged decode on the integer path: add-norm's integer h feeds the q4 mat-vecs as in the resident model, and a
// speculative step's re-run restores it with h from the MoE layer's checkpoint: the same tokens as every expert resident.
// With the KV cache in f16 too: a re-run writes the same positions' keys and values again.
for (const kvCache of ['f32', 'f16'] as const)
test(`tiny-scout q4, integer dot${kvCache === 'f16' ? ', KV cache in f16' : ''}, experts paged through 1 slot: decode steps and their re-runs give the resident tokens`, async () => {
  const { ctx } = await createNodeGpu();
  const files = new FsModelFiles(join(fixturesDir(), 'tiny-scout', 'model'));
  const load = (expertSlots?: number) => ModelSession.load(new GpuContext(ctx.device, { cpuKernels: false, integerDot: true }), files, { weights: 'q4', contextLength: 48, vision: false, expertSlots, kvCache });
  const ids = [1024, 1029, 82, 746, 1030, 282, 56, 370];
  // sampled (one seed: both runs draw the same numbers), so that a wrong logit anywhere is likely to change a token
  const opts = { maxNewTokens: 16, temperature: 1, topK: 0, topP: 1, seed: 7, ignoreEos: true };
  const resident = await load();
  const expected = (await resident.generate(ids, opts, () => {})).tokenIds;
  resident.destroy();
  const paged = await load(1);
  try {
    assert.deepEqual((await paged.generate(ids, opts, () => {})).tokenIds, expected);
    assert.ok(paged.model.pager!.stats.reruns > 0, 'some steps were re-run from a checkpoint');
  } finally {
    paged.destroy();
  }
});

// A longer prompt (pieces of 16 tokens: the fixtures' attention chunk), so every linear and expert call of the prefill
// takes the tiled GEMM (kernels/matmul; expert calls grouped by expert) on the GPU variants; f32 and q4, a dense+MoE
// model, and paged experts (the grouping reads the pager's slot indices, left-out items included).
for (const [model, weights, expertSlots] of [['tiny-maverick', 'f32', undefined], ['tiny-scout', 'q4', 2]] as const) {
  test(`${model} ${weights}${expertSlots ? `, ${expertSlots} expert slots` : ''}: GEMM prefill on the GPU variants matches the CPU variants over a 40-token prompt`, async () => {
    const { ctx } = await createNodeGpu();
    const files = new FsModelFiles(join(fixturesDir(), model, 'model'));
    const opts = { weights, contextLength: 48, vision: false, expertSlots } as const;
    const cpu = await ModelSession.load(new GpuContext(ctx.device, { cpuKernels: true }), files, opts);
    const gpu = await ModelSession.load(new GpuContext(ctx.device, { cpuKernels: false }), files, opts);
    const ids = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 1000);
    const d = maxAbsDiff(await gpu.logitsFor(ids), await cpu.logitsFor(ids));
    assert.ok(d <= 1e-4, `prefill logits differ by ${d}`);
    cpu.destroy();
    gpu.destroy();
  });
}

// At decode the attention also writes o_proj's input in integer form (head_dim a multiple of 32: tabscout-tiny's 32;
// the fixtures' 16 keep o_proj's quantize_x): the same logits bit for bit as o_proj quantizing it, one dispatch fewer
// per layer.
test('tabscout-tiny q4, integer dot: the attention output in integer form gives the same logits with one dispatch fewer per layer', async () => {
  const { ctx } = await createNodeGpu();
  const gpuCtx = new GpuContext(ctx.device, { cpuKernels: false, integerDot: true });
  const session = await ModelSession.load(gpuCtx, new FsModelFiles(fileURLToPath(new URL('../../public/models/tabscout-tiny', import.meta.url))), { weights: 'q4', contextLength: 32, vision: false });
  const ids = [1, 200, 3000, 42]; // ≤ 4 tokens: the decode path
  const run = async (integerOut: boolean) => {
    attentionDecodeTuning.integerOut = integerOut;
    const before = gpuCtx.dispatchCount;
    const logits = await session.logitsFor(ids);
    return { logits, dispatches: gpuCtx.dispatchCount - before };
  };
  try {
    const [off, on] = [await run(false), await run(true)];
    assert.equal(maxAbsDiff(on.logits, off.logits), 0);
    assert.equal(off.dispatches - on.dispatches, 6); // 6 layers
  } finally {
    attentionDecodeTuning.integerOut = true;
    session.destroy();
  }
});

// At decode with top-1 routing and every expert resident, the expert kernels pick the expert from the router logits
// (no top-k dispatch), and the post-attention add-norm computes those logits (no router mat-vec dispatch): each the
// same logits bit for bit, one dispatch fewer per MoE layer.
for (const [model, weights, integerDot, moeLayers] of [['tiny-scout', 'q4', true, 4], ['tiny-maverick', 'f32', false, 2]] as const) {
  test(`${model} ${weights}${integerDot ? ', integer dot' : ''}: routing in the expert kernels, then the router in add-norm, give the same logits with ${moeLayers} dispatches fewer each`, async () => {
    const { ctx } = await createNodeGpu();
    const gpuCtx = new GpuContext(ctx.device, { cpuKernels: false, integerDot });
    const session = await ModelSession.load(gpuCtx, new FsModelFiles(join(fixturesDir(), model, 'model')), { weights, contextLength: 32, vision: false });
    const run = async (ids: number[], inKernels: boolean, inNorm: boolean) => {
      moeTuning.routeInExperts = inKernels;
      moeTuning.routerInNorm = inNorm;
      const before = gpuCtx.dispatchCount;
      const logits = await session.logitsFor(ids);
      return { logits, dispatches: gpuCtx.dispatchCount - before };
    };
    try {
      for (const ids of [[1024, 1029, 82, 746], [1030], [82, 746, 1030]]) { // ≤ 4 tokens: the decode path
        const [topk, separate, inNorm] = [await run(ids, false, false), await run(ids, true, false), await run(ids, true, true)];
        for (const [what, r] of [['routing in the experts', separate], ['the router in add-norm', inNorm]] as const) {
          assert.ok(r.logits.every((v, i) => Object.is(v, topk.logits[i])), `${ids.length} token(s), ${what}: logits differ`);
        }
        assert.equal(topk.dispatches - separate.dispatches, moeLayers);
        assert.equal(separate.dispatches - inNorm.dispatches, moeLayers);
      }
    } finally {
      moeTuning.routeInExperts = true;
      moeTuning.routerInNorm = true;
      session.destroy();
    }
  });
}

// normTuning.intoQkv: at decode on the integer path, the add-norm that ends a layer runs inside the next layer's Q/K/V
// mat-vec (kernels/linear/linear-norm.ts): one dispatch fewer per layer but the last, logits within rounding (its sum
// of squares goes in another order), the same greedy tokens.
for (const [model, dir] of [['tabscout-tiny', fileURLToPath(new URL('../../public/models/tabscout-tiny', import.meta.url))], ['tiny-scout', join(fixturesDir(), 'tiny-scout', 'model')]] as const) {
  test(`${model} q4, integer dot: add-norm inside the next Q/K/V mat-vec gives the same logits and tokens with one dispatch fewer per layer`, async () => {
    const { ctx } = await createNodeGpu();
    const gpuCtx = new GpuContext(ctx.device, { cpuKernels: false, integerDot: true });
    const session = await ModelSession.load(gpuCtx, new FsModelFiles(dir), { weights: 'q4', contextLength: 32, vision: false });
    const layers = session.config.text.numLayers;
    const run = async (ids: number[], into: boolean) => {
      normTuning.intoQkv = into;
      const before = gpuCtx.dispatchCount;
      const logits = await session.logitsFor(ids);
      return { logits, dispatches: gpuCtx.dispatchCount - before };
    };
    try {
      for (const ids of [[1, 200, 300, 42], [1, 7]]) { // ≤ 4 tokens: the decode path (ids within both vocabularies)
        const [off, on] = [await run(ids, false), await run(ids, true)];
        const d = maxAbsDiff(on.logits, off.logits);
        assert.ok(d <= 1e-4, `${ids.length} token(s): logits differ by ${d}`);
        assert.equal(off.dispatches - on.dispatches, layers - 1);
      }
      const opts = { maxNewTokens: 6, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true };
      const greedy = async (into: boolean) => {
        normTuning.intoQkv = into;
        return (await session.generate([1, 200, 300], opts, () => {})).tokenIds;
      };
      assert.deepEqual(await greedy(true), await greedy(false));
    } finally {
      normTuning.intoQkv = false;
      session.destroy();
    }
  });
}
