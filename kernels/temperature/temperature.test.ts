import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { applyTemperature, attentionTemperatures } from './temperature.ts';
import { temperatureRef } from './temperature.ref.ts';

test('temperature scales are 1 below floor_scale − 1 and grow logarithmically after', () => {
  const s = attentionTemperatures([0, 8190, 8191, 16383, 100000], 8192, 0.1);
  assert.equal(s[0], 1);
  assert.equal(s[1], 1);
  assert.equal(s[2], Math.fround(1 + Math.fround(0.1) * Math.fround(Math.log(2))));
  assert.ok(s[3] > s[2] && s[4] > s[3]);
});

test('temperature kernel scales each query row like the CPU reference', async () => {
  const ctx = await testGpu();
  const tokens = 7, width = 48;
  const q = randomArray(tokens * width, 4);
  const scale = attentionTemperatures([0, 1, 2, 3, 15, 16, 40], 2, 0.5);
  const qb = ctx.upload(q, 'q');
  applyTemperature(ctx, qb, ctx.upload(scale, 's'), tokens, width);
  assertClose(await ctx.readF32(qb), temperatureRef(q, scale, width), 0, 'temperature');
});
