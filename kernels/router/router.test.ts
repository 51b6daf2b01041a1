import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose, rng } from '../../testing/gpu.ts';
import { routeTopK, routeTopKWg, routerColumnThreads, routerFusable, routerMatvec, routerMatvecTopK } from './router.ts';
import { GpuContext } from '../runtime.ts';
import { uploadLinear } from '../linear/linear.ts';
import { linearRef } from '../linear/linear.ref.ts';
import { routerMatvecRef, routerRef } from './router.ref.ts';

for (const [tokens, experts, k] of [[5, 4, 1], [9, 16, 2], [3, 128, 1]]) {
  test(`router top-${k} of ${experts} with sigmoid scores matches the CPU reference`, async () => {
    const ctx = await testGpu();
    const logits = randomArray(tokens * experts, experts + k, 4);
    const ids = ctx.createBuffer(tokens * k * 4, 'ids');
    const scores = ctx.createBuffer(tokens * k * 4, 'scores');
    routeTopK(ctx, ctx.upload(logits, 'logits'), ids, scores, tokens, experts, k);
    const ref = routerRef(logits, tokens, experts, k);
    assert.deepEqual([...(await ctx.readU32(ids, 0, tokens * k))], [...ref.ids]);
    assertClose(await ctx.readF32(scores, 0, tokens * k), ref.scores, 1e-6, 'scores');
  });
}

/** ids, and scores as f32 bit patterns, of the serial top-k (routeTopK, one thread per token) and of routeTopKWg */
async function bothTopK(ctx: GpuContext, logits: Float32Array, tokens: number, experts: number, k: number) {
  const out = async (route: typeof routeTopK) => {
    const ids = ctx.createBuffer(tokens * k * 4, 'ids');
    const scores = ctx.createBuffer(tokens * k * 4, 'scores');
    route(ctx, ctx.upload(logits, 'logits'), ids, scores, tokens, experts, k);
    return { ids: [...(await ctx.readU32(ids, 0, tokens * k))], scoreBits: [...(await ctx.readU32(scores, 0, tokens * k))], scores: await ctx.readF32(scores, 0, tokens * k) };
  };
  return { serial: await out(routeTopK), wg: await out(routeTopKWg) };
}

for (const [tokens, experts, k] of [[5, 4, 1], [9, 16, 2], [3, 128, 1], [2, 256, 8], [4, 200, 3], [1, 33, 1]]) {
  test(`router top-${k} of ${experts}, one workgroup per token: the CPU reference's picks, the serial kernel's scores bit for bit`, async () => {
    const ctx = await testGpu();
    const logits = randomArray(tokens * experts, 2 * experts + k, 4);
    const { serial, wg } = await bothTopK(ctx, logits, tokens, experts, k);
    const ref = routerRef(logits, tokens, experts, k);
    assert.deepEqual(wg.ids, [...ref.ids]);
    assertClose(wg.scores, ref.scores, 1e-6, 'scores');
    assert.deepEqual(wg, serial);
  });
}

test('router top-k, one workgroup per token: ties, ±0, ±∞ and NaN picked as the serial kernel picks them', async () => {
  const ctx = await testGpu();
  for (const [experts, k] of [[16, 1], [16, 3], [128, 1], [128, 8], [5, 5], [1, 1]]) {
    const r = rng(experts * 10 + k);
    const rows: number[][] = [];
    // few distinct values: many ties, at the top too
    for (let i = 0; i < 6; i++) rows.push(Array.from({ length: experts }, () => Math.floor(r() * 4) - 2));
    rows.push(Array.from({ length: experts }, () => 1.5)); // all equal
    rows.push(Array.from({ length: experts }, (_, e) => (e % 2 ? 0 : -0))); // +0 and −0
    rows.push(Array.from({ length: experts }, (_, e) => (e % 3 === 1 ? Infinity : e % 3 === 2 ? -Infinity : 1)));
    rows.push(Array.from({ length: experts }, () => -Infinity));
    rows.push(Array.from({ length: experts }, (_, e) => (e === 0 ? NaN : Math.floor(r() * 3)))); // NaN first: the serial scan keeps it
    rows.push(Array.from({ length: experts }, (_, e) => (e % 4 === 2 ? NaN : Math.floor(r() * 3)))); // NaNs after: never picked
    rows.push(Array.from({ length: experts }, () => NaN));
    rows.push(Array.from({ length: experts }, (_, e) => (e === experts - 1 ? 7 : e % 2 ? NaN : 0)));
    const tokens = rows.length;
    const logits = new Float32Array(rows.flat());
    const { serial, wg } = await bothTopK(ctx, logits, tokens, experts, k);
    assert.deepEqual(wg, serial, `${experts} experts, top-${k}`);
    const finite = rows.findIndex((row) => row.some(Number.isNaN));
    const ref = routerRef(logits.subarray(0, finite * experts), finite, experts, k); // the rows without NaN
    assert.deepEqual(wg.ids.slice(0, finite * k), [...ref.ids], `${experts} experts, top-${k}: reference`);
  }
});

for (const [tokens, experts, k, cols] of [[1, 16, 1, 256], [3, 5, 2, 64], [4, 32, 3, 128], [1, 16, 1, 5120], [4, 16, 2, 5120], [1, 128, 1, 5120], [2, 8, 1, 1024], [2, 24, 1, 96], [1, 256, 8, 512]]) {
  test(`decode router (${tokens} tokens, ${experts} experts × ${cols}, top-${k}): logits over the GPU, then top-k, match the CPU references`, async () => {
    const base = await testGpu();
    const ctx = new GpuContext(base.device, { cpuKernels: false });
    const w = randomArray(experts * cols, 30 + experts, 0.5);
    const x = randomArray(tokens * cols, 31 + tokens);
    const router = uploadLinear(ctx, 'router', 'f32', experts, cols, (s, n) => w.subarray(s * cols, (s + n) * cols));
    assert.ok(routerFusable(ctx, router, tokens, k));
    const logits = ctx.createBuffer(tokens * experts * 4, 'logits');
    const ids = ctx.createBuffer(tokens * k * 4, 'ids');
    const scores = ctx.createBuffer(tokens * k * 4, 'scores');
    const xBuf = ctx.upload(x, 'x');
    routerMatvecTopK(ctx, router, xBuf, logits, ids, scores, tokens, k);
    const got = await ctx.readF32(logits, 0, tokens * experts);
    // the logits alone (routerMatvec: one dispatch), the same bit for bit
    const alone = ctx.createBuffer(tokens * experts * 4, 'logits alone');
    const before = ctx.dispatchCount;
    routerMatvec(ctx, router, xBuf, alone, tokens);
    assert.equal(ctx.dispatchCount - before, 1);
    assert.deepEqual([...(await ctx.readU32(alone, 0, tokens * experts))], [...new Uint32Array(got.buffer, got.byteOffset, got.length)]);
    assertClose(got, linearRef(w, experts, cols, x, tokens), 1e-4 * Math.sqrt(cols / 64), 'logits');
    const exact = routerMatvecRef(w, x, tokens, experts, cols, routerColumnThreads(experts));
    // the summation order, pinned: bit for bit where the adapter rounds every step (SwiftShader; CI's adapter)
    if (base.cpuKernels) assert.deepEqual([...got], [...exact], 'logits in router_matvec.wgsl order');
    else assertClose(got, exact, 1e-5 * Math.sqrt(cols / 64), 'logits in router_matvec.wgsl order');
    const ref = routerRef(got, tokens, experts, k);
    assert.deepEqual([...(await ctx.readU32(ids, 0, tokens * k))], [...ref.ids]);
    assertClose(await ctx.readF32(scores, 0, tokens * k), ref.scores, 1e-6, 'scores');
  });
}

for (const [experts, k] of [[16, 2], [128, 3]]) {
  test(`decode router: two experts with equal router rows tie, the lower index first (${experts} experts, top-${k})`, async () => {
    const base = await testGpu();
    const ctx = new GpuContext(base.device, { cpuKernels: false });
    const cols = 512;
    const x = randomArray(cols, 5);
    const w = randomArray(experts * cols, 6, 0.01);
    const [lo, hi] = [experts / 4 + 1, experts - 3];
    for (const e of [hi, lo]) w.set(x.map((v) => v * 0.05), e * cols); // the largest logit, twice
    const router = uploadLinear(ctx, 'router', 'f32', experts, cols, (s, n) => w.subarray(s * cols, (s + n) * cols));
    const logits = ctx.createBuffer(experts * 4, 'logits');
    const ids = ctx.createBuffer(k * 4, 'ids');
    const scores = ctx.createBuffer(k * 4, 'scores');
    routerMatvecTopK(ctx, router, ctx.upload(x, 'x'), logits, ids, scores, 1, k);
    const got = await ctx.readF32(logits, 0, experts);
    assert.equal(got[lo], got[hi]);
    const picked = [...(await ctx.readU32(ids, 0, k))];
    assert.deepEqual(picked.slice(0, 2), [lo, hi]);
    assert.deepEqual(picked, [...routerRef(got, 1, experts, k).ids]);
    const s = await ctx.readF32(scores, 0, k);
    assert.equal(s[0], s[1]);
  });
}

test('the decode router is for GPU variants, decode-sized batches and routers of ≤ 256 experts', async () => {
  const base = await testGpu();
  const gpu = new GpuContext(base.device, { cpuKernels: false });
  const small = uploadLinear(gpu, 'r', 'f32', 16, 64, (s, n) => new Float32Array(n * 64));
  const maverick = uploadLinear(gpu, 'r', 'f32', 128, 64, (s, n) => new Float32Array(n * 64));
  const large = uploadLinear(gpu, 'r', 'f32', 257, 64, (s, n) => new Float32Array(n * 64));
  assert.equal(routerFusable(gpu, small, 1, 1), true);
  assert.equal(routerFusable(gpu, small, 4, 1), true);
  assert.equal(routerFusable(gpu, small, 5, 1), false);
  assert.equal(routerFusable(gpu, maverick, 1, 1), true);
  assert.equal(routerFusable(gpu, large, 1, 1), false);
  assert.equal(routerFusable(new GpuContext(base.device, { cpuKernels: true }), small, 1, 1), false);
});

test('router column threads: the old single-workgroup kernel\'s for ≤ 32 experts, 128 above', () => {
  assert.deepEqual([1, 4, 8, 9, 16, 17, 32, 33, 128, 256].map(routerColumnThreads), [256, 256, 256, 128, 128, 64, 64, 128, 128, 128]);
});
