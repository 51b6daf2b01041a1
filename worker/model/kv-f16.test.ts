// The KV cache in f16 (LoadOptions.kvCache) through the whole model: half the cache's bytes, and logits close to
// Hugging Face's (f32 weights) on the fixtures' chat and long prompts, the greedy token changed only at near-ties; an
// unknown form is refused. The GPU kernel variants and paged decode with it: worker/model/gpu-variants.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { Reference } from '../../cli/reference.ts';
import { maxAbsDiff } from '../../testing/gpu.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { ModelSession } from '../session.ts';
import { kvCacheBytes } from './memory-plan.ts';

/** per position: the largest |Δ| of its logits, whether both rows have the same argmax, and want's top-2 margin */
function byPosition(got: Float32Array, want: Float32Array, positions: number): { diff: number; sameArgmax: boolean; margin: number }[] {
  const V = got.length / positions;
  const argmax = (a: Float32Array) => a.reduce((best, x, i) => (x > a[best] ? i : best), 0);
  return Array.from({ length: positions }, (_, p) => {
    const g = got.subarray(p * V, (p + 1) * V), w = want.subarray(p * V, (p + 1) * V);
    const top = [...w].sort((a, b) => b - a);
    return { diff: maxAbsDiff(g, w), sameArgmax: argmax(g) === argmax(w), margin: top[0] - top[1] };
  });
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  test(`${fixture} f32, KV cache in f16: logits close to HF's, greedy tokens changed only at near-ties`, async () => {
    const { ctx } = await createNodeGpu();
    const dir = join(fixturesDir(), fixture);
    const ref = await Reference.load(join(dir, 'reference'));
    const contextLength = 256;
    const session = await ModelSession.load(ctx, new FsModelFiles(join(dir, 'model')), { weights: 'f32', contextLength, vision: false, kvCache: 'f16' });
    const s = session.model.state;
    assert.equal(s.kvFormat, 'f16');
    const cacheBytes = [...s.kCache, ...s.vCache].reduce((n, b) => n + b.size, 0);
    assert.equal(cacheBytes, kvCacheBytes(session.config, contextLength, 'f16'));
    assert.equal(2 * cacheBytes, kvCacheBytes(session.config, contextLength));
    // f16 keys and values move these random models' logits by ~1e-3 (an f32 cache: ~2e-6), and top-1 MoE routing
    // turns a few positions further where a router's two best experts are nearly tied; a greedy token may change only
    // where HF's two best logits are closer than the logits moved
    for (const name of ['chat', 'long']) {
      const ids = ref.ids(`${name}.input_ids`);
      const rows = byPosition(await session.logitsFor(ids), ref.f32(`${name}.logits`), ids.length);
      const diffs = rows.map((r) => r.diff);
      if (name === 'chat') assert.ok(Math.max(...diffs) <= 5e-3, `chat: logits differ from HF by up to ${Math.max(...diffs)}`);
      assert.ok(median(diffs) <= 2e-3, `${name}: the median position's logits differ from HF by ${median(diffs)}`);
      const unexplained = rows.flatMap((r, p) => (!r.sameArgmax && r.margin >= 2 * r.diff ? [`${p} (margin ${r.margin}, moved ${r.diff})`] : []));
      assert.deepEqual(unexplained, [], `${name}: greedy tokens not HF's where HF's margin exceeds the change`);
    }
    session.destroy();
  });
}

test('an unknown kvCache is refused before anything loads', async () => {
  const { ctx } = await createNodeGpu();
  const files = new FsModelFiles(join(fixturesDir(), 'tiny-scout', 'model'));
  await assert.rejects(ModelSession.load(ctx, files, { weights: 'q4', kvCache: 'f8' as 'f16' }), /kvCache must be 'f32' or 'f16', not "f8"/);
});
