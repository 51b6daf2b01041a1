import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu } from '../../testing/gpu.ts';
import { hashFill } from './hash-fill.ts';
import { hashFillRef } from './hash-fill.ref.ts';

for (const mode of [0, 1, 2] as const) {
  test(`hash fill mode ${mode} matches the CPU reference`, async () => {
    const ctx = await testGpu();
    const n = 1000;
    const buf = ctx.createBuffer(n * 4 + 256, 'fill');
    ctx.write(buf, new Uint32Array(n + 64).fill(0xdeadbeef));
    hashFill(ctx, buf, n * 4, mode, 42, 0.5, 256);
    const got = await ctx.readU32(buf, 0, n + 64);
    assert.ok(got.subarray(0, 64).every((v) => v === 0xdeadbeef), 'nothing written before the offset');
    const ref = hashFillRef(n, (42 * 7919) >>> 0, mode, 0.5);
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      if (mode === 2) {
        const a = new Float32Array(Uint32Array.of(got[64 + i]).buffer)[0], b = new Float32Array(Uint32Array.of(ref[i]).buffer)[0];
        if (Math.abs(a - b) > 1e-6) mismatches++;
      } else if (got[64 + i] !== ref[i]) mismatches++;
    }
    assert.equal(mismatches, 0, `${mismatches} of ${n} words differ`);
    assert.ok(new Set(got.subarray(64)).size > n * 0.9, 'words are distinct');
  });
}
