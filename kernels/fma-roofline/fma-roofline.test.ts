import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu } from '../../testing/gpu.ts';
import { fmaRoofline, fmaRooflineFlops } from './fma-roofline.ts';
import { fmaRooflineRef } from './fma-roofline.ref.ts';

// a count short enough to keep the start values visible and one long enough to reach the fixed point 1.0 per lane
for (const [workgroups, iterations] of [[1, 0], [3, 7], [2, 5000]]) {
  test(`fma roofline, ${workgroups} workgroups × ${iterations} iterations, writes what the CPU computes`, async () => {
    const ctx = await testGpu();
    const threads = workgroups * 256;
    const out = ctx.upload(new Float32Array(threads).fill(NaN), 'out');
    fmaRoofline(ctx, out, workgroups, iterations);
    const got = await ctx.readF32(out, 0, threads);
    for (let t = 0; t < threads; t++) {
      const want = fmaRooflineRef(t, iterations);
      assert.ok(Math.abs(got[t] - want) <= 1e-4 * Math.abs(want), `thread ${t}: ${got[t]} ≠ ${want}`);
    }
  });
}

test('fma roofline counts two FLOPs per FMA', () => {
  assert.equal(fmaRooflineFlops(2, 10), 2 * 256 * 10 * 8 * 4 * 2);
});

test('fma roofline refuses an output buffer that is too small', async () => {
  const ctx = await testGpu();
  const out = ctx.createBuffer(256 * 4, 'out');
  assert.throws(() => fmaRoofline(ctx, out, 2, 1), /1024 bytes, 2048 needed/);
});
