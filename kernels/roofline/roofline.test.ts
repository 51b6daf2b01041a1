import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, rng } from '../../testing/gpu.ts';
import { gridStagedRead, rooflineRead } from './roofline.ts';
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

// stages of every kind: the main loop, its tail, fewer vec4s than threads, an empty one, a window read twice. One
// workgroup never waits for another; two may not run at the same time (SwiftShader runs them one after the other, so
// the first times out at each barrier): the dispatch must still end with every stage read and every arrival counted.
for (const workgroups of [1, 2]) {
  test(`grid read of staged windows on ${workgroups} workgroup(s), two dispatches: the stages' sums, every arrival${workgroups === 1 ? ', no timeout' : ''}`, async () => {
    const ctx = await testGpu();
    const data = randomWords(4 * 6000, 31 + workgroups);
    const src = ctx.upload(data, 'src');
    const stages: [number, number][] = [[0, 4096], [100, 3], [4096, 1904], [50, 0], [0, 256], [2000, 2500]];
    const table = ctx.upload(Uint32Array.from(stages.flat()), 'stages');
    const out = ctx.upload(new Uint32Array([7, 0, 0]), 'out');
    gridStagedRead(ctx, src, table, stages.length, out, workgroups, 0);
    gridStagedRead(ctx, src, table, stages.length, out, workgroups, stages.length * workgroups);
    const [sum, arrivals, timedOut] = await ctx.readU32(out, 0, 3);
    const once = stages.reduce((s, [first, n]) => s + rooflineRef(data.subarray(4 * first, 4 * (first + n))), 0);
    assert.equal(sum, (2 * once + 7) >>> 0);
    assert.equal(arrivals, 2 * stages.length * workgroups);
    if (workgroups === 1) assert.equal(timedOut, 0);
    else assert.ok(timedOut === 0 || timedOut === 1, `the timeout flag is ${timedOut}`);
  });
}
