import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu } from '../testing/gpu.ts';
import { GpuContext } from './runtime.ts';

test('GpuContext.write: a write larger than writeChunkBytes goes in pieces, at an offset, with a ragged last piece', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device, { writeChunkBytes: 64 });
  assert.equal(ctx.writeChunkBytes, 64);
  const data = Uint8Array.from({ length: 1001 }, (_, i) => (i * 37 + 11) & 0xff);
  const buffer = ctx.createBuffer(1024 + 16, 'written');
  ctx.write(buffer, data, 16);
  const back = new Uint8Array(await ctx.read(buffer, 16, 1001));
  assert.deepEqual(back, data);
  assert.equal(ctx.pendingWriteBytes, 0, 'read() waited for the writes');
  // f32 data through upload(), pieces of 12 bytes (3 floats) over 100 floats
  const floats = Float32Array.from({ length: 100 }, (_, i) => i - 50.25);
  const small = new GpuContext(base.device, { writeChunkBytes: 14 }); // rounded down to a multiple of 4
  assert.equal(small.writeChunkBytes, 12);
  assert.deepEqual(await small.readF32(small.upload(floats, 'floats'), 0, 100), floats);
});
