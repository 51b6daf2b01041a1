import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray } from '../../testing/gpu.ts';
import { GpuContext } from '../runtime.ts';
import { quantizeX, xqSubgroupWidth } from './quantize-x.ts';
import { dequantizeXRef, quantizeXRef } from './quantize-x.ref.ts';

// with subgroups (the block's max and Σ X by shuffles; at SwiftShader's size 4 half of a block's 8 lanes each, then
// workgroup memory) and without: the same words
for (const subgroups of [true, false])
test(`quantize_x${subgroups ? ' (subgroups where the device has them)' : ', no subgroups'} writes the integer form of the CPU reference, within 2^-23 of each block's scale`, async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device, { cpuKernels: false, subgroups });
  const names: string[] = [];
  const dispatch = ctx.dispatch.bind(ctx);
  ctx.dispatch = (d) => {
    names.push(d.kernel.name);
    dispatch(d);
  };
  const blocks = 70;
  const x = randomArray(blocks * 32, 3);
  // blocks of very different scales, an all-zero block, one with a single non-zero value, exact powers of two
  for (let b = 0; b < blocks; b++) for (let j = 0; j < 32; j++) x[b * 32 + j] *= 2 ** ((b % 9) * 7 - 30);
  x.fill(0, 5 * 32, 6 * 32);
  x.fill(0, 6 * 32, 7 * 32);
  x[6 * 32 + 17] = -3.5e-3;
  for (let j = 0; j < 32; j++) x[7 * 32 + j] = 2 ** (j - 16) * (j % 2 ? -1 : 1);
  const xq = quantizeX(ctx, ctx.upload(x, 'x'), 2, (blocks * 32) / 2);
  assert.deepEqual(names, [ctx.subgroups ? 'quantize_x_subgroups' : 'quantize_x']);
  assert.equal(ctx.subgroups, subgroups && base.device.features.has('subgroups'));
  const got = await ctx.readU32(xq, 0, blocks * 28);
  const want = quantizeXRef(x);
  for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i], `word ${i % 28} of block ${Math.floor(i / 28)}`);
  const back = dequantizeXRef(got);
  for (let b = 0; b < blocks; b++) {
    const m = Math.max(...Array.from(x.subarray(b * 32, b * 32 + 32), Math.abs));
    for (let j = 0; j < 32; j++) {
      const i = b * 32 + j;
      assert.ok(Math.abs(back[i] - x[i]) <= m * 2 ** -22, `block ${b} element ${j}: ${back[i]} for ${x[i]}`);
    }
  }
});

test('xq_write by subgroups: 8 lanes from subgroups of ≥ 8 (no barrier), 4 at SwiftShader\'s size, none without subgroups', () => {
  assert.equal(xqSubgroupWidth({ subgroups: true, subgroupMinSize: 32 }), 8);
  assert.equal(xqSubgroupWidth({ subgroups: true, subgroupMinSize: 8 }), 8);
  assert.equal(xqSubgroupWidth({ subgroups: true, subgroupMinSize: 4 }), 4);
  assert.equal(xqSubgroupWidth({ subgroups: false, subgroupMinSize: 0 }), 0);
});
