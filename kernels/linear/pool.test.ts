import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { linear, uploadLinear, type WeightFormat } from './linear.ts';
import { copySlot, createLinearPool, readSlot, writeSlot } from './pool.ts';
import { quantizeQ4, type Q4Data } from './q4-format.ts';
import { GpuContext } from '../runtime.ts';

for (const format of ['f32', 'q4'] as WeightFormat[]) {
  test(`a ${format} pool filled slot by slot computes exactly like the same experts uploaded at once`, async () => {
    const base = await testGpu();
    const E = 5, rpe = 6, cols = 64;
    const ctx = new GpuContext(base.device, { maxBindingBytes: 2 * rpe * (format === 'q4' ? cols / 2 : cols * 4), cpuKernels: base.cpuKernels });
    const w = randomArray(E * rpe * cols, 21);
    const whole = uploadLinear(ctx, 'whole', format, E * rpe, cols, (s, n) => w.subarray(s * cols, (s + n) * cols), rpe);
    const pool = createLinearPool(ctx, 'pool', format, E, rpe, cols);
    for (const e of [3, 0, 4, 1, 2]) writeSlot(ctx, pool, e, w.subarray(e * rpe * cols, (e + 1) * rpe * cols));
    const x = ctx.upload(randomArray(2 * cols, 22), 'x');
    const ids = ctx.upload(new Uint32Array([4, 1, 0, 3]), 'ids');
    const y1 = ctx.createBuffer(4 * rpe * 4, 'y1'), y2 = ctx.createBuffer(4 * rpe * 4, 'y2');
    linear(ctx, whole, x, y1, { items: 4, xRowDiv: 2, expertIds: ids });
    linear(ctx, pool, x, y2, { items: 4, xRowDiv: 2, expertIds: ids });
    assertClose(await ctx.readF32(y2, 0, 4 * rpe), await ctx.readF32(y1, 0, 4 * rpe), 0, `${format} pool`);
  });
}

for (const format of ['f32', 'q4'] as WeightFormat[]) {
  test(`a ${format} slot reads back as written and copies to another pool on the GPU`, async () => {
    const base = await testGpu();
    const E = 4, rpe = 6, cols = 64;
    const ctx = new GpuContext(base.device, { maxBindingBytes: 2 * rpe * (format === 'q4' ? cols / 2 : cols * 4), cpuKernels: base.cpuKernels });
    const w = randomArray(rpe * cols, 31);
    const a = createLinearPool(ctx, 'a', format, E, rpe, cols);
    const b = createLinearPool(ctx, 'b', format, E, rpe, cols);
    writeSlot(ctx, a, 3, w);
    const back = await readSlot(ctx, a, 3);
    if (format === 'q4') {
      const q = quantizeQ4(w, rpe, cols);
      assert.deepEqual((back as Q4Data).qs, q.qs);
      assert.deepEqual((back as Q4Data).scales, q.scales.subarray(0, (rpe * cols) / 32));
    } else {
      assert.deepEqual(back, w);
    }
    copySlot(ctx, a, 3, b, 1);
    assert.deepEqual(await readSlot(ctx, b, 1), back);
  });
}
