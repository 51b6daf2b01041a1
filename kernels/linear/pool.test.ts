import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { linear, uploadLinear, type WeightFormat } from './linear.ts';
import { createLinearPool, writeSlot } from './pool.ts';
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
