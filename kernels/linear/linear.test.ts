import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { concatLinears, linear, matvecSubgroupWidth, q4MatvecTuning, uploadLinear, type MatvecShape, type WeightFormat } from './linear.ts';
import { linearRef } from './linear.ref.ts';
import { dequantizeQ4, quantizeQ4 } from './q4-format.ts';
import { GpuContext } from '../runtime.ts';

const rowsOf = (w: Float32Array, cols: number) => (start: number, count: number) => w.subarray(start * cols, (start + count) * cols);

for (const format of ['f32', 'q4'] as WeightFormat[]) {
  for (const [rows, cols, items] of [[1, 32, 1], [37, 64, 1], [50, 96, 7], [64, 128, 4]]) {
    test(`linear ${format} ${rows}x${cols}, ${items} tokens matches the CPU reference`, async () => {
     for (const [variant, ctx] of await kernelVariants()) {
      const w = randomArray(rows * cols, rows * 7 + cols, 0.5);
      const x = randomArray(items * cols, items + 3);
      const weight = uploadLinear(ctx, 'w', format, rows, cols, rowsOf(w, cols));
      const wRef = format === 'q4' ? dequantizeQ4(quantizeQ4(w, rows, cols), rows, cols) : w;
      const xBuf = ctx.upload(x, 'x');
      const yBuf = ctx.createBuffer(items * rows * 4, 'y');
      linear(ctx, weight, xBuf, yBuf, { items });
      const y = await ctx.readF32(yBuf, 0, items * rows);
      assertClose(y, linearRef(wRef, rows, cols, x, items), 1e-4, `${format} ${rows}x${cols}x${items} ${variant}`);
     }
    });
  }

  test(`linear ${format} expert gather with scores and segments split across buffers`, async () => {
   for (const cpuKernels of [true, false]) {
    const base = await testGpu();
    const E = 5, rowsPerExpert = 6, cols = 64, tokens = 3, k = 2;
    // a tiny binding limit forces one or two experts per segment
    const ctx = new GpuContext(base.device, { maxBindingBytes: 2 * rowsPerExpert * (format === 'q4' ? cols / 2 : cols * 4), cpuKernels });
    const w = randomArray(E * rowsPerExpert * cols, 11, 0.5);
    const x = randomArray(tokens * cols, 12);
    const ids = new Uint32Array([4, 0, 2, 2, 1, 3]);
    const scores = new Float32Array([0.5, 0.25, 0.9, 0.1, 1, 0.7]);
    const weight = uploadLinear(ctx, 'experts', format, E * rowsPerExpert, cols, rowsOf(w, cols), rowsPerExpert);
    assert.ok(weight.segments.length > 1, 'expected several segments');
    const wRef = format === 'q4' ? dequantizeQ4(quantizeQ4(w, E * rowsPerExpert, cols), E * rowsPerExpert, cols) : w;
    const yBuf = ctx.createBuffer(tokens * k * rowsPerExpert * 4, 'y');
    linear(ctx, weight, ctx.upload(x, 'x'), yBuf, { items: tokens * k, xRowDiv: k, expertIds: ctx.upload(ids, 'ids'), scores: ctx.upload(scores, 's') });
    const y = await ctx.readF32(yBuf, 0, tokens * k * rowsPerExpert);
    const ref = linearRef(wRef, E * rowsPerExpert, cols, x, tokens * k, { xRowDiv: k, expertIds: ids, rowsPerExpert, scores });
    assertClose(y, ref, 1e-4, `${format} experts cpuKernels=${cpuKernels}`);
   }
  });
}

test('linear segments a matrix larger than the binding limit', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device, { maxBindingBytes: 8 * 64 * 4 });
  const rows = 30, cols = 64;
  const w = randomArray(rows * cols, 5);
  const x = randomArray(cols, 6);
  const weight = uploadLinear(ctx, 'w', 'f32', rows, cols, rowsOf(w, cols));
  assert.equal(weight.segments.length, 4);
  const yBuf = ctx.createBuffer(rows * 4, 'y');
  linear(ctx, weight, ctx.upload(x, 'x'), yBuf, { items: 1 });
  assertClose(await ctx.readF32(yBuf, 0, rows), linearRef(w, rows, cols, x, 1), 1e-4, 'segmented');
});

for (const format of ['f32', 'q4'] as WeightFormat[]) {
  test(`linear ${format}: weights concatenated on the GPU compute what the parts compute, across segments`, async () => {
    const base = await testGpu();
    const cols = 64;
    // a small binding limit puts the parts and the result in several segments
    const ctx = new GpuContext(base.device, { maxBindingBytes: 6 * (format === 'q4' ? cols / 2 : cols * 4), cpuKernels: base.cpuKernels });
    const rows = [10, 4, 4];
    const ws = rows.map((r, i) => randomArray(r * cols, 40 + i, 0.5));
    const parts = ws.map((w, i) => uploadLinear(ctx, `p${i}`, format, rows[i], cols, rowsOf(w, cols)));
    const fused = concatLinears(ctx, 'qkv', parts);
    assert.ok(fused.segments.length > 1);
    const x = ctx.upload(randomArray(cols, 50), 'x');
    const total = rows.reduce((a, b) => a + b, 0);
    const y = ctx.createBuffer(total * 4, 'y');
    linear(ctx, fused, x, y, { items: 1 });
    const got = await ctx.readF32(y, 0, total);
    let at = 0;
    for (const [i, p] of parts.entries()) {
      const yi = ctx.createBuffer(rows[i] * 4, 'yi');
      linear(ctx, p, x, yi, { items: 1 });
      assertClose(got.subarray(at, at + rows[i]), await ctx.readF32(yi, 0, rows[i]), 0, `${format} part ${i}`);
      at += rows[i];
    }
  });
}

test('q4 mat-vec: the row sums by subgroups where the device has them, CT is a power of two and R (to a power of two) fits the smallest subgroup', () => {
  const sg = (subgroupMinSize: number) => ({ subgroups: subgroupMinSize > 0, subgroupMinSize });
  const shape = (WG: number, CT: number, R: number): MatvecShape => ({ WG, CT, R });
  // H200 (32): linear with x in integer form (CT 32, R 4) and the expert gate+up (CT 8, R 2) without a barrier,
  // the CT-64 shapes with one
  assert.equal(matvecSubgroupWidth(sg(32), shape(128, 32, 4)), 32);
  assert.equal(matvecSubgroupWidth(sg(32), shape(256, 8, 2)), 8);
  assert.equal(matvecSubgroupWidth(sg(32), shape(128, 64, 8)), 32);
  assert.equal(matvecSubgroupWidth(sg(64), shape(128, 64, 8)), 64);
  assert.equal(matvecSubgroupWidth(sg(8), shape(128, 64, 8)), 8);
  // SwiftShader (4): R ≤ 4 only
  assert.equal(matvecSubgroupWidth(sg(4), shape(128, 32, 4)), 4);
  assert.equal(matvecSubgroupWidth(sg(4), shape(64, 4, 3)), 4);
  assert.equal(matvecSubgroupWidth(sg(4), shape(256, 8, 2)), 4);
  assert.equal(matvecSubgroupWidth(sg(4), shape(128, 64, 8)), 0);
  assert.equal(matvecSubgroupWidth(sg(4), shape(128, 8, 5)), 0);
  // no subgroups, or CT not a power of two
  assert.equal(matvecSubgroupWidth(sg(0), shape(128, 32, 4)), 0);
  assert.equal(matvecSubgroupWidth(sg(32), shape(192, 48, 4)), 0);
});

// The q4 mat-vec's row sums by subgroup shuffles, at the test device's subgroup size (SwiftShader: 4): CT = 4 (no
// workgroup memory), CT > 4 (runs of 4 lanes through workgroup memory), R = 1, 3 (padded to 4), 4; gathered experts with
// scores; x as f32 and in integer form; the same shapes without subgroups. Shapes R > 4 take matvec-reduce.wgsl there.
test('q4 mat-vec: row sums by subgroups and without match the CPU reference over launch shapes', async () => {
  const base = await testGpu();
  const rows = 70, cols = 128, E = 3, rowsPerExpert = 70;
  const w = randomArray(E * rowsPerExpert * cols, 31, 0.5);
  const wRef = dequantizeQ4(quantizeQ4(w, E * rows, cols), E * rows, cols);
  const shapes: MatvecShape[] = [{ WG: 64, CT: 4, R: 4 }, { WG: 32, CT: 4, R: 3 }, { WG: 16, CT: 4, R: 1 }, { WG: 128, CT: 32, R: 4 }, { WG: 64, CT: 16, R: 2 }, { WG: 128, CT: 64, R: 8 }];
  for (const subgroups of [true, false]) {
    for (const integerDot of [false, true]) {
      const ctx = new GpuContext(base.device, { cpuKernels: false, integerDot, subgroups });
      const names: string[] = [];
      const dispatch = ctx.dispatch.bind(ctx);
      ctx.dispatch = (d) => {
        names.push(d.kernel.name);
        dispatch(d);
      };
      const plain = uploadLinear(ctx, 'w', 'q4', rows, cols, rowsOf(w, cols));
      const experts = uploadLinear(ctx, 'experts', 'q4', E * rowsPerExpert, cols, rowsOf(w, cols), rowsPerExpert);
      const items = 3;
      const x = randomArray(items * cols, 32);
      const xBuf = ctx.upload(x, 'x');
      const ids = new Uint32Array([2, 0, 1]);
      const scores = new Float32Array([0.5, 1.5, -0.25]);
      for (const shape of shapes) {
        const what = `${JSON.stringify(shape)} subgroups=${subgroups} integerDot=${integerDot}`;
        const width = matvecSubgroupWidth(ctx, shape);
        assert.equal(width > 0, subgroups && ctx.subgroups && shape.R <= ctx.subgroupMinSize, what);
        names.length = 0;
        const y = ctx.createBuffer(items * rows * 4, 'y');
        linear(ctx, plain, xBuf, y, { items, shape });
        assertClose(await ctx.readF32(y, 0, items * rows), linearRef(wRef, rows, cols, x, items), 1e-4, what);
        assert.equal(names.at(-1), width ? 'linear_q4_subgroups' : 'linear_q4', what);
        const yE = ctx.createBuffer(items * rowsPerExpert * 4, 'yE');
        linear(ctx, experts, xBuf, yE, { items, expertIds: ctx.upload(ids, 'ids'), scores: ctx.upload(scores, 's'), shape });
        const ref = linearRef(wRef, E * rowsPerExpert, cols, x, items, { expertIds: ids, rowsPerExpert, scores });
        assertClose(await ctx.readF32(yE, 0, items * rowsPerExpert), ref, 1e-4, `${what} experts`);
      }
    }
  }
});

// x's next block loaded one iteration ahead with the weights' (q4MatvecTuning.xAhead): the same sums as without, over
// shapes whose threads walk several blocks (cols 512 = 16 blocks: 8, 4 and 1 per thread), x as f32 and in integer form,
// plain and gathered experts with scores.
test('q4 mat-vec with x loaded one block ahead matches the CPU reference and the default path', async () => {
  const base = await testGpu();
  const rows = 70, cols = 512, E = 3;
  const w = randomArray(E * rows * cols, 41, 0.5);
  const wRef = dequantizeQ4(quantizeQ4(w, E * rows, cols), E * rows, cols);
  const items = 3;
  const x = randomArray(items * cols, 42);
  const ids = new Uint32Array([1, 2, 0]);
  const scores = new Float32Array([0.75, -1.5, 0.25]);
  const shapes: MatvecShape[] = [{ WG: 32, CT: 2, R: 2 }, { WG: 64, CT: 4, R: 4 }, { WG: 128, CT: 16, R: 8 }];
  try {
    for (const integerDot of [false, true]) {
      const ctx = new GpuContext(base.device, { cpuKernels: false, integerDot });
      const plain = uploadLinear(ctx, 'w', 'q4', rows, cols, rowsOf(w, cols));
      const experts = uploadLinear(ctx, 'experts', 'q4', E * rows, cols, rowsOf(w, cols), rows);
      const xBuf = ctx.upload(x, 'x');
      for (const shape of shapes) {
        const run = async (xAhead: boolean) => {
          q4MatvecTuning.xAhead = xAhead;
          const y = ctx.createBuffer(items * rows * 4, 'y');
          linear(ctx, plain, xBuf, y, { items, shape });
          const yE = ctx.createBuffer(items * rows * 4, 'yE');
          linear(ctx, experts, xBuf, yE, { items, expertIds: ctx.upload(ids, 'ids'), scores: ctx.upload(scores, 's'), shape });
          return [await ctx.readF32(y, 0, items * rows), await ctx.readF32(yE, 0, items * rows)];
        };
        const what = `${JSON.stringify(shape)} integerDot=${integerDot}`;
        const [y0, yE0] = await run(false);
        const [y1, yE1] = await run(true);
        assertClose(y1, linearRef(wRef, rows, cols, x, items), 1e-4, what);
        assertClose(yE1, linearRef(wRef, E * rows, cols, x, items, { expertIds: ids, rowsPerExpert: rows, scores }), 1e-4, `${what} experts`);
        assert.deepEqual(y1, y0, `${what}: the same sums in the same order`);
        assert.deepEqual(yE1, yE0, `${what} experts: the same sums in the same order`);
      }
    }
  } finally {
    q4MatvecTuning.xAhead = false;
  }
});
