import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu } from '../../testing/gpu.ts';
import { createLinearPool, copySlot, readSlot } from '../../kernels/linear/pool.ts';
import { quantizeQ4, type Q4Data } from '../../kernels/linear/q4-format.ts';
import type { MatrixPart } from '../model/engine-tensors.ts';
import { SlotUploader } from './uploader.ts';

const expert = (seed: number, format: 'f32' | 'q4'): MatrixPart[] =>
  [
    [8, 32],
    [32, 64],
  ].map(([rows, cols], i) => {
    const f = Float32Array.from({ length: rows * cols }, (_, j) => Math.sin(seed * 7 + i * 3 + j));
    return { part: `p${i}`, format, rows, cols, data: format === 'q4' ? quantizeQ4(f, rows, cols) : f };
  });

for (const format of ['f32', 'q4'] as const) {
  test(`${format}: slot uploads run in order with recorded work, through a ring smaller than the uploads`, async () => {
    const ctx = await testGpu();
    const pools = { gateUp: createLinearPool(ctx, 'gu', format, 2, 8, 32), down: createLinearPool(ctx, 'd', format, 2, 32, 64) };
    const copy = { gateUp: createLinearPool(ctx, 'gu2', format, 1, 8, 32), down: createLinearPool(ctx, 'd2', format, 1, 32, 64) };
    const up = new SlotUploader(ctx, 2);
    await up.upload(pools, 0, expert(1, format));
    copySlot(ctx, pools.gateUp, 0, copy.gateUp, 0); // recorded before the next upload into slot 0: sees expert 1
    copySlot(ctx, pools.down, 0, copy.down, 0);
    for (let e = 2; e <= 6; e++) await up.upload(pools, e % 2, expert(e, format)); // wraps the ring of 2 twice
    ctx.flush();
    const same = (a: Float32Array | Q4Data, b: Float32Array | Q4Data) =>
      a instanceof Float32Array ? assert.deepEqual(a, b) : (assert.deepEqual(a.qs, (b as Q4Data).qs), assert.deepEqual(a.scales, (b as Q4Data).scales));
    same(await readSlot(ctx, copy.gateUp, 0), expert(1, format)[0].data);
    same(await readSlot(ctx, copy.down, 0), expert(1, format)[1].data);
    same(await readSlot(ctx, pools.gateUp, 0), expert(6, format)[0].data);
    same(await readSlot(ctx, pools.down, 1), expert(5, format)[1].data);
    assert.equal(up.fallbackBytes, 0, 'every piece went through staging');
    assert.ok(up.stagingBytes > 0 && up.stagingBytes <= 2 * up.bytes / 6 + 8, `two staging buffers of one expert: ${up.stagingBytes}`);
    up.destroy();
  });
}
