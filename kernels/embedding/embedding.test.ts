import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { uploadLinear, type WeightFormat } from '../linear/linear.ts';
import { dequantizeQ4, quantizeQ4 } from '../linear/q4-format.ts';
import { GpuContext } from '../runtime.ts';
import { embedding } from './embedding.ts';
import { embeddingRef } from './embedding.ref.ts';

for (const format of ['f32', 'q4'] as WeightFormat[]) {
  test(`embedding ${format} gathers rows across segments`, async () => {
    const base = await testGpu();
    const rows = 40, cols = 64;
    const ctx = new GpuContext(base.device, { maxBindingBytes: 8 * cols * 4 }); // several segments
    const table = randomArray(rows * cols, 3);
    const w = uploadLinear(ctx, 'embed', format, rows, cols, (s, n) => table.subarray(s * cols, (s + n) * cols));
    const ids = new Uint32Array([0, 39, 7, 8, 7, 16]);
    const x = ctx.createBuffer(ids.length * cols * 4, 'x');
    embedding(ctx, w, ctx.upload(ids, 'ids'), x, ids.length);
    const ref = format === 'q4' ? dequantizeQ4(quantizeQ4(table, rows, cols), rows, cols) : table;
    assertClose(await ctx.readF32(x, 0, ids.length * cols), embeddingRef(ref, cols, ids), 0, `embedding ${format}`);
  });
}
