import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, rng } from '../../testing/gpu.ts';
import { slotLookup } from './slot-lookup.ts';
import { slotLookupRef } from './slot-lookup.ref.ts';

test('slot lookup matches the CPU reference: resident, missing and out-of-range experts, table and log offsets', async () => {
  const ctx = await testGpu();
  const r = rng(7);
  const layers = 3, experts = 16, items = 70; // more items than one workgroup
  const table = Uint32Array.from({ length: layers * experts }, () => (r() < 0.4 ? Math.floor(r() * 5) : 0xffffffff));
  const ids = Uint32Array.from({ length: items }, (_, i) => (i === 5 ? 99 : Math.floor(r() * experts)));
  const log = Uint32Array.from({ length: 3 * items }, () => 12345);
  const o = { items, experts, tableBase: 2 * experts, logBase: items };
  const slots = ctx.createBuffer(items * 4, 'slots');
  const logBuf = ctx.upload(log, 'log');
  slotLookup(ctx, ctx.upload(table, 'table'), ctx.upload(ids, 'ids'), slots, logBuf, o);
  const want = slotLookupRef(table, ids, log, o);
  assert.deepEqual(await ctx.readU32(slots, 0, items), want.slots);
  assert.deepEqual(await ctx.readU32(logBuf, 0, 3 * items), want.log);
  assert.ok(want.slots.some((s) => s === 0xffffffff) && want.slots.some((s) => s !== 0xffffffff), 'both cases occur');
  assert.equal(want.slots[5], 0xffffffff);
});
