// The vision tower against Hugging Face, and streaming fusion (tile by tile) against encoding every tile first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { Reference } from '../../cli/reference.ts';
import { ModelSession } from '../session.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { maxAbsDiff } from '../../testing/gpu.ts';

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  test(`${fixture}: vision features match HF, and streaming fusion equals encoding all tiles first`, async () => {
    const { ctx } = await createNodeGpu();
    const dir = join(fixturesDir(), fixture);
    const ref = await Reference.load(join(dir, 'reference'));
    const session = await ModelSession.load(ctx, new FsModelFiles(join(dir, 'model')), { weights: 'f32', contextLength: 128 });
    const pixelValues = ref.f32('image_wide.pixel_values');
    const tiles = ref.shape('image_wide.pixel_values')[0];
    // adapter output of every tile vs HF's get_image_features
    const encoder = session.vision!.encoder;
    const expected = ref.f32('image_wide.vision_features');
    const per = pixelValues.length / tiles;
    const width = expected.length / (tiles * encoder.tokens);
    for (let t = 0; t < tiles; t++) {
      encoder.encodeTile(pixelValues.subarray(t * per, (t + 1) * per));
      const got = await ctx.readF32(encoder.adapterOutput, 0, encoder.tokens * width);
      const d = maxAbsDiff(got, expected.subarray(t * encoder.tokens * width, (t + 1) * encoder.tokens * width));
      assert.ok(d <= 1e-4, `tile ${t}: vision features max |Δ| ${d}`);
    }
    const ids = ref.ids('image_wide.input_ids');
    const progress: number[] = [];
    const streamed = await session.logitsFor(ids, { images: [{ pixelValues, tiles }], onTile: (done) => progress.push(done) });
    const allFirst = await session.logitsFor(ids, { images: [{ pixelValues, tiles }], encodeAllFirst: true });
    assert.deepEqual(progress, Array.from({ length: tiles + 1 }, (_, i) => i), '(0, n) before the first tile, then after each');
    assert.ok(maxAbsDiff(streamed, allFirst) <= 1e-6, `streamed vs all-first: ${maxAbsDiff(streamed, allFirst)}`);
    assert.ok(maxAbsDiff(streamed, ref.f32('image_wide.logits')) <= 1e-3, `logits vs HF: ${maxAbsDiff(streamed, ref.f32('image_wide.logits'))}`);
    session.destroy();
  });
}
