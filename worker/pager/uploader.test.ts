import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu } from '../../testing/gpu.ts';
import { createLinearPool, copySlot, readSlot } from '../../kernels/linear/pool.ts';
import { quantizeQ4, type Q4Data } from '../../kernels/linear/q4-format.ts';
import type { MatrixPart } from '../model/engine-tensors.ts';
import { SlotUploader } from './uploader.ts';
import { PinnedTier } from './pinned-tier.ts';

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

test('q4: uploads from a pinned tier: each expert written once, LRU out past its size, slots as through staging', async () => {
  const ctx = await testGpu();
  const pools = { gateUp: createLinearPool(ctx, 'gu', 'q4', 2, 8, 32), down: createLinearPool(ctx, 'd', 'q4', 2, 32, 64) };
  const copy = { gateUp: createLinearPool(ctx, 'gu2', 'q4', 1, 8, 32), down: createLinearPool(ctx, 'd2', 'q4', 1, 32, 64) };
  const experts = [1, 2, 3].map((e) => expert(e, 'q4'));
  const bytes = (parts: MatrixPart[]) => parts.reduce((s, p) => s + (p.data as Q4Data).qs.byteLength + (p.data as Q4Data).scales.byteLength, 0);
  const up = new SlotUploader(ctx, 2);
  up.tier = new PinnedTier(ctx, 2 * bytes(experts[0])); // room for two experts
  await up.upload(pools, 0, experts[0]);
  copySlot(ctx, pools.gateUp, 0, copy.gateUp, 0); // sees expert 1 before slot 0 is refilled
  copySlot(ctx, pools.down, 0, copy.down, 0);
  await up.upload(pools, 1, experts[1]);
  await up.upload(pools, 0, experts[0]); // a hit: no second write
  assert.equal(up.tier.fills, 2);
  await up.upload(pools, 0, experts[2]); // evicts expert 2 (least recently used), recorded copies still read it
  assert.equal(up.tier.fills, 3);
  assert.equal(up.tier.bytes, 2 * bytes(experts[0]));
  ctx.flush();
  const same = (a: Float32Array | Q4Data, b: Float32Array | Q4Data) => (assert.deepEqual((a as Q4Data).qs, (b as Q4Data).qs), assert.deepEqual((a as Q4Data).scales, (b as Q4Data).scales));
  same(await readSlot(ctx, copy.gateUp, 0), experts[0][0].data);
  same(await readSlot(ctx, copy.down, 0), experts[0][1].data);
  same(await readSlot(ctx, pools.gateUp, 0), experts[2][0].data);
  same(await readSlot(ctx, pools.down, 1), experts[1][1].data);
  assert.equal(up.pinnedBytes, up.bytes, 'every upload copied from the tier');
  assert.equal(up.stagingBytes, 0, 'no staging buffer was made');
  await up.upload(pools, 1, experts[1]); // evicted: written again
  assert.equal(up.tier.fills, 4);
  ctx.flush();
  same(await readSlot(ctx, pools.gateUp, 1), experts[1][0].data);
  up.tier.destroy();
  up.destroy();
});
