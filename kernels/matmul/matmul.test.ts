import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { GpuContext } from '../runtime.ts';
import { linear, uploadLinear, type LinearCall, type WeightFormat } from '../linear/linear.ts';
import { dequantizeQ4, quantizeQ4 } from '../linear/q4-format.ts';
import { expertGroups, groupsWords, matmul, maxGroupTiles, tileItemsFor, type ItemsPerThread, type TileItems } from './matmul.ts';
import { expertGroupsRef, matmulRef } from './matmul.ref.ts';

const rowsOf = (w: Float32Array, cols: number) => (start: number, count: number) => w.subarray(start * cols, (start + count) * cols);
/** every launch shape: item tiles of 16, 32, 64; 4 items per thread, and 8 where the tile allows it */
const SHAPES: [TileItems, ItemsPerThread][] = [[16, 4], [32, 4], [32, 8], [64, 4], [64, 8]];

/** The GPU kernels (not the CPU-adapter variants), with an optional small binding limit to force segments. */
async function gpuCtx(maxBindingBytes?: number): Promise<GpuContext> {
  const base = await testGpu();
  return new GpuContext(base.device, { cpuKernels: false, maxBindingBytes });
}

function refWeights(format: WeightFormat, w: Float32Array, rows: number, cols: number): Float32Array {
  return format === 'q4' ? dequantizeQ4(quantizeQ4(w, rows, cols), rows, cols) : w;
}

for (const format of ['f32', 'q4'] as WeightFormat[]) {
  // odd sizes: rows and items not multiples of the tile, a single row, cols not a multiple of 32 (f32 only)
  const shapes: [number, number, number][] = format === 'q4'
    ? [[1, 32, 5], [37, 64, 17], [64, 96, 64], [130, 160, 70], [200, 64, 130]]
    : [[1, 4, 5], [37, 36, 17], [64, 100, 64], [130, 68, 70], [67, 256, 33]];
  for (const [rows, cols, items] of shapes) {
    test(`matmul ${format} ${rows}x${cols}, ${items} items, every launch shape, matches the CPU reference`, async () => {
      const ctx = await gpuCtx();
      const w = randomArray(rows * cols, rows * 13 + cols, 0.5);
      const x = randomArray(items * cols, items + 7);
      const weight = uploadLinear(ctx, 'w', format, rows, cols, rowsOf(w, cols));
      const ref = matmulRef(refWeights(format, w, rows, cols), rows, cols, x, items);
      const xBuf = ctx.upload(x, 'x');
      const yBuf = ctx.createBuffer(items * rows * 4, 'y');
      for (const [t, it] of SHAPES) {
        ctx.write(yBuf, new Float32Array(items * rows).fill(NaN));
        matmul(ctx, weight, xBuf, yBuf, { items }, t, it);
        assertClose(await ctx.readF32(yBuf, 0, items * rows), ref, 1e-4, `${format} ${rows}x${cols}x${items} tile ${t}/${it}`);
      }
    });
  }

  test(`matmul ${format}: yOffset, yStride, xStride, xRowDiv and scores, across segments, leaving other outputs alone`, async () => {
    const rows = 70, cols = 64, tokens = 9, div = 2, items = tokens * div, xStride = cols + 8, yStride = rows + 10, yOffset = 3;
    // a small binding limit splits the 70 rows into segments of 16 (q4: pairs of rows; f32 as well)
    const ctx = await gpuCtx(16 * (format === 'q4' ? cols / 2 : cols * 4));
    const w = randomArray(rows * cols, 21, 0.5);
    const weight = uploadLinear(ctx, 'w', format, rows, cols, rowsOf(w, cols));
    assert.ok(weight.segments.length > 2);
    const xs = randomArray(tokens * xStride, 22);
    const scores = randomArray(items, 23);
    const x = new Float32Array(tokens * cols);
    for (let t = 0; t < tokens; t++) x.set(xs.subarray(t * xStride, t * xStride + cols), t * cols);
    const ref = matmulRef(refWeights(format, w, rows, cols), rows, cols, x, items, { xRowDiv: div, scores });
    const xBuf = ctx.upload(xs, 'x');
    const sBuf = ctx.upload(scores, 's');
    const yBuf = ctx.createBuffer((items * yStride + yOffset) * 4, 'y');
    for (const [t, it] of SHAPES) {
      ctx.write(yBuf, new Float32Array(items * yStride + yOffset).fill(-7));
      const call: LinearCall = { items, xRowDiv: div, xStride, yStride, yOffset, scores: sBuf };
      matmul(ctx, weight, xBuf, yBuf, call, t, it);
      const y = await ctx.readF32(yBuf, 0, items * yStride + yOffset);
      const got = new Float32Array(items * rows);
      for (let n = 0; n < items; n++) got.set(y.subarray(n * yStride + yOffset, n * yStride + yOffset + rows), n * rows);
      assertClose(got, ref, 1e-4, `${format} strided tile ${t}/${it}`);
      // everything outside the written rows keeps its value
      for (let i = 0; i < y.length; i++) {
        const r = (i - yOffset) % yStride;
        if (i < yOffset || r >= rows) assert.equal(y[i], -7, `y[${i}] was written`);
      }
    }
  });

  test(`matmul ${format}: expert calls grouped by expert, with scores, segments of whole experts and left-out items`, async () => {
    const E = 5, rowsPerExpert = 70, cols = 64, tokens = 37, k = 2, items = tokens * k;
    // two experts per segment: three segments
    const ctx = await gpuCtx(2 * rowsPerExpert * (format === 'q4' ? cols / 2 : cols * 4));
    const w = randomArray(E * rowsPerExpert * cols, 31, 0.5);
    const weight = uploadLinear(ctx, 'experts', format, E * rowsPerExpert, cols, rowsOf(w, cols), rowsPerExpert);
    assert.equal(weight.segments.length, 3);
    const x = randomArray(tokens * cols, 32);
    const ids = new Uint32Array(items);
    for (let n = 0; n < items; n++) ids[n] = (n * 7 + (n >> 3)) % E;
    ids[5] = 0xffffffff; // not in this paging round: left alone
    ids[40] = 0xffffffff;
    const scores = randomArray(items, 33);
    const ref = matmulRef(refWeights(format, w, E * rowsPerExpert, cols), E * rowsPerExpert, cols, x, items, {
      xRowDiv: k, expertIds: ids.map((e) => (e < E ? e : 0)), rowsPerExpert, scores,
    });
    const xBuf = ctx.upload(x, 'x'), idBuf = ctx.upload(ids, 'ids'), sBuf = ctx.upload(scores, 's');
    const yBuf = ctx.createBuffer(items * rowsPerExpert * 4, 'y');
    for (const [t, it] of SHAPES) {
      ctx.write(yBuf, new Float32Array(items * rowsPerExpert).fill(-7));
      matmul(ctx, weight, xBuf, yBuf, { items, xRowDiv: k, expertIds: idBuf, scores: sBuf }, t, it);
      const y = await ctx.readF32(yBuf, 0, items * rowsPerExpert);
      for (let n = 0; n < items; n++) {
        const got = y.subarray(n * rowsPerExpert, (n + 1) * rowsPerExpert);
        if (ids[n] >= E) assert.ok(got.every((v) => v === -7), `item ${n} (left out) was written`);
        else assertClose(got, ref.subarray(n * rowsPerExpert, (n + 1) * rowsPerExpert), 1e-4, `${format} expert item ${n} tile ${t}/${it}`);
      }
    }
  });

  test(`linear ${format} on GPU adapters routes prefill and expert prefill to matmul (same results as the mat-vec path)`, async () => {
    const ctx = await gpuCtx();
    const E = 3, rowsPerExpert = 40, cols = 64, items = 21;
    const w = randomArray(E * rowsPerExpert * cols, 41, 0.5);
    const dense = uploadLinear(ctx, 'w', format, E * rowsPerExpert, cols, rowsOf(w, cols));
    const experts = uploadLinear(ctx, 'e', format, E * rowsPerExpert, cols, rowsOf(w, cols), rowsPerExpert);
    const x = ctx.upload(randomArray(items * cols, 42), 'x');
    const ids = ctx.upload(Uint32Array.from({ length: items }, (_, n) => (n * 5) % E), 'ids');
    const y1 = ctx.createBuffer(items * E * rowsPerExpert * 4, 'y1'), y2 = ctx.createBuffer(items * E * rowsPerExpert * 4, 'y2');
    linear(ctx, dense, x, y1, { items });
    matmul(ctx, dense, x, y2, { items });
    const n = items * E * rowsPerExpert;
    assertClose(await ctx.readF32(y1, 0, n), await ctx.readF32(y2, 0, n), 0, 'dense: linear = matmul');
    linear(ctx, experts, x, y1, { items, expertIds: ids });
    matmul(ctx, experts, x, y2, { items, expertIds: ids });
    assertClose(await ctx.readF32(y1, 0, items * rowsPerExpert), await ctx.readF32(y2, 0, items * rowsPerExpert), 0, 'experts: linear = matmul');
  });
}

test('expert groups: items sorted by expert into tiles, left-out ids skipped, unused tiles marked', async () => {
  const ctx = await gpuCtx();
  for (const [items, experts, tileItems, seed] of [[1, 4, 16, 1], [70, 5, 16, 2], [300, 16, 32, 3], [513, 128, 64, 4], [40, 1, 16, 5]]) {
    const r = randomArray(items, seed);
    const ids = Uint32Array.from(r, (v, n) => (n % 11 === 3 ? 0xffffffff : Math.floor(Math.abs(v) * experts) % experts));
    const words = groupsWords(items, experts, tileItems);
    const groups = ctx.createBuffer(words * 4, 'groups');
    ctx.write(groups, new Uint32Array(words).fill(12345));
    expertGroups(ctx, ctx.upload(ids, 'ids'), groups, items, experts, tileItems);
    const g = await ctx.readU32(groups, 0, words);
    const want = expertGroupsRef(ids, experts, tileItems);
    const maxTiles = maxGroupTiles(items, experts, tileItems);
    assert.ok(want.length <= maxTiles);
    for (let t = 0; t < maxTiles; t++) {
      const [e, first, count] = g.subarray(items + 3 * t, items + 3 * t + 3);
      if (t >= want.length) {
        assert.equal(e, 0xffffffff, `tile ${t} should be unused`);
        continue;
      }
      assert.equal(e, want[t].expert, `tile ${t} expert`);
      assert.equal(count, want[t].items.length, `tile ${t} count`);
      // the GPU's order within an expert is free: compare sets, each tile's items having its expert
      const got = Array.from(g.subarray(first, first + count));
      assert.ok(got.every((n) => ids[n] === e), `tile ${t}: items of another expert`);
    }
    // each expert's first tile (and the end of the last expert's tiles)
    const firstTile = g.subarray(items + 3 * maxTiles, items + 3 * maxTiles + experts + 1);
    for (let e = 0; e <= experts; e++) assert.equal(firstTile[e], want.filter((t) => t.expert < e).length, `first tile of expert ${e}`);
    // every kept item appears exactly once in the sorted list
    const kept = ids.filter((e) => e < experts).length;
    const sorted = Array.from(g.subarray(0, kept)).sort((a, b) => a - b);
    assert.deepEqual(sorted, Array.from(ids.keys()).filter((n) => ids[n] < experts));
  }
});

test('matmul item tiles: large calls take 64 items, small grids and sparse experts take smaller tiles', () => {
  assert.equal(tileItemsFor(512, 4096), 64);
  assert.equal(tileItemsFor(64, 1024), 16);
  assert.equal(tileItemsFor(512, 1024), 32);
  assert.equal(tileItemsFor(64, 4096, 16), 16);
  assert.equal(tileItemsFor(2048, 4096, 16), 64);
});
