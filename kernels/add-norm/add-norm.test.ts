import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { ADD_NORM_SPLIT, addNorm, addNormGroups, addNormRouterFusable } from './add-norm.ts';
import { addNormRef } from './add-norm.ref.ts';
import { XQ_BLOCK_BYTES } from '../linear/quantize-x.ts';
import { quantizeXRef } from '../linear/quantize-x.ref.ts';
import { uploadLinear } from '../linear/linear.ts';
import { linearRef } from '../linear/linear.ref.ts';
import { routerColumnThreads, routerMatvec } from '../router/router.ts';
import { routerMatvecRef } from '../router/router.ref.ts';
import { GpuContext } from '../runtime.ts';

const S = ADD_NORM_SPLIT.threads * 4; // floats per workgroup slice of the split variant

/** kernelVariants() (the GPU ones with subgroups where the test device has them) and the GPU ones without */
async function variants(): Promise<[string, GpuContext][]> {
  const all = await kernelVariants();
  const device = all[0][1].device;
  return [
    ...all,
    ['gpu variant, no subgroups', new GpuContext(device, { cpuKernels: false, subgroups: false })],
    ['gpu variant, integer dot, no subgroups', new GpuContext(device, { cpuKernels: false, integerDot: true, subgroups: false })],
  ];
}

// 1–4 tokens: each row split over many workgroups on GPUs (Scout's 5120 = 5 slices of 256 vec4s; 600, 96, 4 and
// S ± 4 leave a ragged or lone last slice, 2S + 4 a slice of one vec4); more tokens: one workgroup per token.
// CPU adapters: always one per token. x is checked exactly (the residual update's f32 steps).
const cases = [
  [1, 64, 0], [3, 96, 1], [5, 600, 2], [1, 5120, 1], [1, 5120, 0], [2, 5120, 2], [4, 600, 1], [2, 4, 0],
  [1, S - 4, 2], [4, S + 4, 0], [3, 2 * S + 4, 1], [1, 2 * S, 2], [4, 5124, 2],
] as const;
for (const [tokens, dim, k] of cases) {
  test(`add-norm ${tokens}x${dim}, ${k} routed rows matches the CPU reference`, async () => {
    for (const [variant, ctx] of await variants()) {
      const x = randomArray(tokens * dim, dim + tokens, 2);
      const a = randomArray(tokens * dim, 3 * dim + k);
      const b = k ? randomArray(tokens * k * dim, 7 * dim) : null;
      const w = randomArray(dim, 5);
      const xb = ctx.upload(x, 'x');
      const xOut = ctx.createBuffer(tokens * dim * 4, 'xOut');
      const hb = ctx.createBuffer(tokens * dim * 4, 'h');
      addNorm(ctx, xb, xOut, ctx.upload(a, 'a'), b ? { b: ctx.upload(b, 'b'), k } : null, ctx.upload(w, 'w'), hb, tokens, dim, 1e-5);
      const ref = addNormRef(x, a, b, k, w, tokens, dim, 1e-5);
      assertClose(await ctx.readF32(xOut, 0, tokens * dim), ref.x, 0, `x ${variant}`);
      assertClose(await ctx.readF32(hb, 0, tokens * dim), ref.h, 1e-5, `h ${variant}`);
      assertClose(await ctx.readF32(xb, 0, tokens * dim), x, 0, `input x left as it was ${variant}`);
    }
  });
}

test('add-norm: split over many workgroups on GPUs for 1–4 tokens only, one slice per workgroup', async () => {
  const [[, cpu], [, gpu]] = await kernelVariants();
  assert.equal(addNormGroups(gpu, 1, 5120), 5120 / S);
  assert.equal(addNormGroups(gpu, 4, S + 4), 2);
  assert.equal(addNormGroups(gpu, 5, 5120), 1);
  assert.equal(addNormGroups(cpu, 1, 5120), 1);
});

test('add-norm: the subgroup variant where the device has subgroups and the workgroup has ≥ 128 threads', async () => {
  const all = await variants();
  for (const [variant, ctx] of all) assert.equal(ctx.subgroups, ctx.device.features.has('subgroups') && !variant.endsWith('no subgroups'), variant);
  assert.ok(all[0][1].device.features.has('subgroups'), 'the test device has subgroups (SwiftShader: size 4), so both paths are checked here');
});

test('add-norm: one dispatch per call on both variants', async () => {
  for (const [variant, ctx] of await variants()) {
    const dim = 5120, x = ctx.upload(randomArray(dim, 1), 'x'), o = ctx.createBuffer(dim * 4, 'o');
    const before = ctx.dispatchCount;
    addNorm(ctx, x, o, ctx.upload(randomArray(dim, 2), 'a'), null, ctx.upload(randomArray(dim, 3), 'w'), ctx.createBuffer(dim * 4, 'h'), 1, dim, 1e-5);
    assert.equal(ctx.dispatchCount - before, 1, variant);
    ctx.flush();
  }
});

test('add-norm refuses to update the residual in place', async () => {
  const [, [, ctx]] = await kernelVariants();
  const x = ctx.createBuffer(64 * 4, 'x');
  assert.throws(() => addNorm(ctx, x, x, ctx.createBuffer(64 * 4, 'a'), null, ctx.createBuffer(64 * 4, 'w'), ctx.createBuffer(64 * 4, 'h'), 1, 64, 1e-5), /another buffer/);
});

test('add-norm: calls of different widths recorded together, ping-ponging the residual as the model does', async () => {
  for (const [variant, ctx] of await variants()) {
    const dim = 20480, tokens = 2;
    const mirror = [randomArray(tokens * dim, 11, 2), new Float32Array(tokens * dim)]; // what the two buffers hold
    const bufs = [ctx.upload(mirror[0], 'x0'), ctx.createBuffer(tokens * dim * 4, 'x1')];
    const hs: [GPUBuffer, Float32Array][] = [];
    for (let i = 0; i < 4; i++) {
      const n = i % 2 ? 256 : dim; // a narrower call in between uses only the first tokens·n floats
      const a = randomArray(tokens * n, 20 + i), w = randomArray(n, 30 + i);
      const hb = ctx.createBuffer(tokens * n * 4, 'h');
      addNorm(ctx, bufs[i % 2], bufs[(i + 1) % 2], ctx.upload(a, 'a'), null, ctx.upload(w, 'w'), hb, tokens, n, 1e-5);
      const ref = addNormRef(mirror[i % 2].subarray(0, tokens * n), a, null, 0, w, tokens, n, 1e-5);
      mirror[(i + 1) % 2].set(ref.x);
      hs.push([hb, ref.h]);
    }
    for (const [j, [hb, h]] of hs.entries()) assertClose(await ctx.readF32(hb, 0, h.length), h, 1e-5, `h ${j} ${variant}`);
    for (const j of [0, 1]) assertClose(await ctx.readF32(bufs[j], 0, tokens * dim), mirror[j], 0, `x buffer ${j} ${variant}`);
  }
});

// h also in integer form (the q4 mat-vecs' input, quantize-x.ts): word for word what quantize_x makes of the same h,
// split rows (Scout's width; a last slice of one block) and one workgroup per token (6 tokens, 2 and 3 blocks per row)
for (const [tokens, dim, k] of [[1, 5120, 1], [4, 96, 0], [2, 5152, 2], [6, 256, 1], [5, 64, 0]] as const) {
  test(`add-norm ${tokens}x${dim}, ${k} routed rows: h in integer form equals quantize_x's of the same h`, async () => {
    for (const [variant, ctx] of (await variants()).filter(([v]) => v.includes('integer dot'))) {
      const x = randomArray(tokens * dim, dim + tokens, 2);
      const a = randomArray(tokens * dim, 3 * dim + k);
      const b = k ? randomArray(tokens * k * dim, 7 * dim) : null;
      const hb = ctx.createBuffer(tokens * dim * 4, 'h');
      const hq = ctx.createBuffer((tokens * dim * XQ_BLOCK_BYTES) / 32, 'hq');
      const xOut = ctx.createBuffer(tokens * dim * 4, 'xOut');
      addNorm(ctx, ctx.upload(x, 'x'), xOut, ctx.upload(a, 'a'), b ? { b: ctx.upload(b, 'b'), k } : null, ctx.upload(randomArray(dim, 5), 'w'), hb, tokens, dim, 1e-5, hq);
      const ref = addNormRef(x, a, b, k, randomArray(dim, 5), tokens, dim, 1e-5);
      const h = await ctx.readF32(hb, 0, tokens * dim);
      assertClose(h, ref.h, 1e-5, `h ${variant}`);
      assertClose(await ctx.readF32(xOut, 0, tokens * dim), ref.x, 0, `x ${variant}`);
      const got = await ctx.readU32(hq, 0, (tokens * dim * 28) / 32);
      const want = quantizeXRef(h);
      for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i], `word ${i % 28} of block ${Math.floor(i / 28)}`);
    }
  });
}

test('add-norm refuses h in integer form on CPU kernels or for widths not in blocks of 32', async () => {
  const [[, cpu], , [, gpu]] = await kernelVariants();
  const buf = (n: number) => gpu.createBuffer(n * 4, 'b');
  assert.throws(() => addNorm(cpu, buf(64), buf(64), buf(64), null, buf(64), buf(64), 1, 64, 1e-5, buf(64)), /integer form/);
  assert.throws(() => addNorm(gpu, buf(48), buf(48), buf(48), null, buf(48), buf(48), 1, 48, 1e-5, buf(64)), /integer form/);
});

// The MoE router folded in (decode on GPUs): E · tokens more workgroups compute the router logits of the h that the
// dispatch writes, in router_matvec.wgsl's order: the logits of routerMatvec on that h bit for bit (SwiftShader rounds
// every step alike in both), and the same xOut, h and h in integer form as without the router, nothing written past
// the tokens' rows or logits. Scout's 16 experts (128 column threads) and Maverick's 128; one slice per row (256),
// ragged slices (1312: 6 slices, the last of 8 vec4s, not a multiple of 1024) and Scout's 5120. The router rides the
// post-attention add-norm only (no routed rows: its weight takes their binding).
for (const [experts, tokens, dim, k] of [[16, 1, 256, 0], [16, 3, 256, 0], [128, 1, 256, 0], [128, 3, 1312, 0], [16, 2, 1312, 0], [8, 4, 1312, 0], [16, 1, 5120, 0], [128, 2, 5120, 0]] as const) {
  test(`add-norm ${tokens}x${dim}, ${k} routed rows, with the router of ${experts} experts: routerMatvec's logits, the same x and h`, async () => {
    for (const [variant, ctx] of await variants()) {
      const w = randomArray(experts * dim, 40 + experts, 0.5);
      const router = uploadLinear(ctx, 'router', 'f32', experts, dim, (s, n) => w.subarray(s * dim, (s + n) * dim));
      if (ctx.cpuKernels) {
        assert.equal(addNormRouterFusable(ctx, router, tokens), false, variant);
        continue;
      }
      assert.ok(addNormRouterFusable(ctx, router, tokens), variant);
      const x = randomArray(tokens * dim, dim + tokens, 2);
      const a = randomArray(tokens * dim, 3 * dim + k);
      const b = k ? randomArray(tokens * k * dim, 7 * dim) : null;
      const wn = randomArray(dim, 5);
      const [xb, ab, bb, wb] = [ctx.upload(x, 'x'), ctx.upload(a, 'a'), b ? ctx.upload(b, 'b') : null, ctx.upload(wn, 'w')];
      const integer = variant.startsWith('gpu variant, integer dot');
      const sentinel = 0x7fc01234; // a NaN: one row more than the tokens', left as it is
      const filled = (n: number) => ctx.upload(new Uint32Array(n).fill(sentinel), 'out');
      const run = async (withRouter: boolean) => {
        const xOut = filled((tokens + 1) * dim), hb = filled((tokens + 1) * dim), hq = filled(((tokens + 1) * dim * 28) / 32);
        const logits = filled((tokens + 1) * experts);
        const before = ctx.dispatchCount;
        addNorm(ctx, xb, xOut, ab, bb ? { b: bb, k } : null, wb, hb, tokens, dim, 1e-5, integer ? hq : null, withRouter ? { weight: router, logits } : null);
        assert.equal(ctx.dispatchCount - before, 1);
        const read = async (buf: GPUBuffer, n: number) => [...(await ctx.readU32(buf, 0, n))];
        return { xOut: await read(xOut, (tokens + 1) * dim), h: await read(hb, (tokens + 1) * dim), hq: await read(hq, ((tokens + 1) * dim * 28) / 32), hBuf: hb, logits: await ctx.readF32(logits, 0, (tokens + 1) * experts) };
      };
      const plain = await run(false), fused = await run(true);
      assert.deepEqual(fused.xOut, plain.xOut, `xOut ${variant}`);
      assert.deepEqual(fused.h, plain.h, `h ${variant}`);
      assert.deepEqual(fused.hq, plain.hq, `h in integer form ${variant}`);
      for (const out of [fused.xOut, fused.h]) assert.ok(out.slice(tokens * dim).every((v) => v === sentinel), `past the rows ${variant}`);
      const got = fused.logits.subarray(0, tokens * experts);
      assert.ok(new Uint32Array(fused.logits.buffer).slice(tokens * experts).every((v) => v === sentinel), `past the logits ${variant}`);
      // routerMatvec on the h the dispatch wrote: the same logits bit for bit
      const alone = ctx.createBuffer(tokens * experts * 4, 'logits alone');
      routerMatvec(ctx, router, fused.hBuf, alone, tokens);
      assert.deepEqual([...new Uint32Array(got.slice().buffer)], [...(await ctx.readU32(alone, 0, tokens * experts))], `logits as routerMatvec's ${variant}`);
      // the CPU references: router_matvec.wgsl's order on that h, and the plain product on the CPU's h
      const h = new Float32Array(new Uint32Array(fused.h.slice(0, tokens * dim)).buffer);
      assertClose(got, routerMatvecRef(w, h, tokens, experts, dim, routerColumnThreads(experts)), 1e-5, `logits in router_matvec.wgsl order ${variant}`);
      const ref = addNormRef(x, a, b, k, wn, tokens, dim, 1e-5);
      assertClose(got, linearRef(w, experts, dim, ref.h, tokens), 1e-4 * Math.sqrt(dim / 64), `logits ${variant}`);
    }
  });
}

test('add-norm refuses a router on CPU kernels, for more than 4 tokens, a q4 router, another width or beside routed rows', async () => {
  const [[, cpu], [, gpu]] = await kernelVariants();
  const buf = (n: number) => gpu.createBuffer(n * 4, 'b');
  const f32 = (ctx: typeof gpu, cols: number) => uploadLinear(ctx, 'router', 'f32', 16, cols, (s, n) => new Float32Array(n * cols));
  const call = (ctx: typeof gpu, tokens: number, weight: ReturnType<typeof f32>) =>
    addNorm(ctx, buf(5 * 256), buf(5 * 256), buf(5 * 256), null, buf(256), buf(5 * 256), tokens, 256, 1e-5, null, { weight, logits: buf(5 * 16) });
  assert.throws(() => call(cpu, 1, f32(cpu, 256)), /does not fold into add-norm/);
  assert.throws(() => call(gpu, 5, f32(gpu, 256)), /does not fold into add-norm/);
  assert.throws(() => call(gpu, 1, f32(gpu, 512)), /does not fold into add-norm/);
  assert.throws(() => call(gpu, 1, uploadLinear(gpu, 'router', 'q4', 16, 256, (s, n) => new Float32Array(n * 256))), /does not fold into add-norm/);
  assert.throws(
    () => addNorm(gpu, buf(256), buf(256), buf(256), { b: buf(256), k: 1 }, buf(256), buf(256), 1, 256, 1e-5, null, { weight: f32(gpu, 256), logits: buf(16) }),
    /without routed rows/,
  );
  assert.equal(addNormRouterFusable(gpu, f32(gpu, 256), 4), true);
  assert.equal(addNormRouterFusable(gpu, f32(gpu, 256), 5), false);
});
