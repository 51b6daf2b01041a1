import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, rng } from '../../testing/gpu.ts';
import { rooflineRead } from './roofline.ts';
import { rooflineRef } from './roofline.ref.ts';

function randomWords(n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * 4294967296) >>> 0;
  return a;
}

// sizes that exercise the 4-load main loop, its tail, a grid smaller than one vec4 per thread, and an offset binding
for (const [words, workgroups] of [[4, 8], [4 * 1000, 3], [4 * 256 * 4 * 7 + 44, 4], [1 << 20, 64]]) {
  test(`roofline read of ${words} words on ${workgroups} workgroups sums like the CPU`, async () => {
    const ctx = await testGpu();
    const data = randomWords(words, words + workgroups);
    const src = ctx.upload(data, 'src');
    const out = ctx.upload(new Uint32Array([12345]), 'out');
    rooflineRead(ctx, src, out, words * 4, 0, workgroups);
    const [sum] = await ctx.readU32(out, 0, 1);
    assert.equal(sum, (rooflineRef(data) + 12345) >>> 0);
  });
}

test('roofline read of a sub-range, twice, accumulates', async () => {
  const ctx = await testGpu();
  const data = randomWords(4096, 9);
  const src = ctx.upload(data, 'src');
  const out = ctx.upload(new Uint32Array([0]), 'out');
  rooflineRead(ctx, src, out, 1024 * 4, 256 * 4);
  rooflineRead(ctx, src, out, 1024 * 4, 256 * 4);
  const [sum] = await ctx.readU32(out, 0, 1);
  assert.equal(sum, (2 * rooflineRef(data.subarray(256, 1280))) >>> 0);
});
