import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { rope, ropeInvFreq, ropeTable } from './rope.ts';
import { ropeRef } from './rope.ref.ts';

test('rope rotates interleaved pairs like the CPU reference', async () => {
  const ctx = await testGpu();
  const tokens = 5, heads = 3, headDim = 16;
  const x = randomArray(tokens * heads * headDim, 1);
  const table = ropeTable(ropeInvFreq(500000, headDim, { type: 'default' }), [0, 1, 2, 100, 7000]);
  const xb = ctx.upload(x, 'x');
  rope(ctx, xb, ctx.upload(table, 'cs'), tokens, heads, headDim);
  assertClose(await ctx.readF32(xb), ropeRef(x, table, tokens, heads, headDim), 1e-6, 'rope');
});

test('llama3 scaling with Scout-Instruct factors divides the low frequencies by 16 and keeps the high ones', () => {
  const plain = ropeInvFreq(500000, 128, { type: 'default' });
  const scaled = ropeInvFreq(500000, 128, { type: 'llama3', factor: 16, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPositionEmbeddings: 8192 });
  for (let i = 0; i < 64; i++) {
    const expected = i <= 34 ? plain[i] : Math.fround(plain[i] / 16);
    assert.equal(scaled[i], expected, `inv_freq[${i}]`);
  }
});

test('llama3 scaling interpolates in the smooth band', () => {
  const plain = ropeInvFreq(500000, 16, { type: 'default' });
  const s = ropeInvFreq(500000, 16, { type: 'llama3', factor: 16, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8 });
  const banded = [...s].filter((v, i) => v !== plain[i] && Math.abs(v - plain[i] / 16) > 1e-12);
  assert.ok(banded.length > 0, 'expected at least one frequency in the smooth band');
});
