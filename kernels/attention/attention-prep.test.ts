// qkPrepAttention() against the CPU references of its two steps (qkPrepRef, then attentionRef): on GPUs at decode one
// dispatch that prepares q and the new k/v in every workgroup and writes the new k/v into the cache once; CPU adapters
// and prefill qkPrep() then attention(). RoPE layers with QK norm at and around chunk boundaries of the cache ring
// (stale slots of the previous chunk), NoPE layers with temperature tuning short and long (split and merged), a
// few queries at once, forced split counts, Scout's 40:8 heads, every short-run form (attentionDecodeTuning.shortRun) on
// the runs it takes, and the cache it leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelVariants, assertClose } from '../../testing/gpu.ts';
import { qkPrepAttention, usesDecodeKernel, decodeShape, withShortRun, SHORT_RUNS, attentionDecodeTuning, type PrepAttentionCall, type ShortRun } from './attention.ts';
import { attentionRef } from './attention.ref.ts';
import { qkPrepRef } from '../qk-prep/qk-prep.ref.ts';
import { prepInputs } from '../../testing/attention-prep.ts';

type Shape = Omit<PrepAttentionCall, 'tokens' | 'startPos' | 'eps'>;
const cases: [string, Shape, [number, number][]][] = [
  // [startPos, tokens]
  ['RoPE + QK norm, chunked ring of 64', { heads: 4, kvHeads: 2, headDim: 16, cacheLen: 64, chunk: 64, rope: true, qkNorm: true, temperature: false }, [[0, 1], [64, 1], [65, 1], [100, 1], [127, 1], [128, 4], [190, 2]]],
  ['RoPE without norm, Scout heads 10:2 of 128', { heads: 10, kvHeads: 2, headDim: 128, cacheLen: 256, chunk: 256, rope: true, qkNorm: false, temperature: false }, [[5, 1], [200, 1], [300, 3]]],
  ['Scout RoPE + QK norm 10:2 of 128, long chunk (split)', { heads: 10, kvHeads: 2, headDim: 128, cacheLen: 512, chunk: 512, rope: true, qkNorm: true, temperature: false }, [[512 + 300, 1], [1023, 1]]],
  ['NoPE with temperature', { heads: 4, kvHeads: 1, headDim: 32, cacheLen: 400, chunk: 0, rope: false, qkNorm: true, temperature: true }, [[0, 1], [7, 2], [127, 1], [128, 1], [390, 1], [300, 4]]],
  // Scout's heads at decode: the short-run forms (one tile) take runs up to 128 keys
  ['Scout RoPE + QK norm 40:8 of 128, short runs', { heads: 40, kvHeads: 8, headDim: 128, cacheLen: 256, chunk: 256, rope: true, qkNorm: true, temperature: false }, [[0, 1], [63, 1], [99, 1], [127, 1], [60, 4], [124, 4], [256 + 90, 1]]],
  ['Scout NoPE with temperature 40:8 of 128, short runs', { heads: 40, kvHeads: 8, headDim: 128, cacheLen: 200, chunk: 0, rope: false, qkNorm: false, temperature: true }, [[1, 1], [100, 1], [124, 4]]],
  ['NoPE plain, head_dim 256, 4 queries', { heads: 2, kvHeads: 2, headDim: 256, cacheLen: 300, chunk: 0, rope: false, qkNorm: false, temperature: false }, [[0, 4], [60, 4], [250, 4]]],
];

/** The CPU references for a call at [startPos, startPos + tokens): the prep's (q, caches) and the attention after it. */
function expected(shape: Shape, c: PrepAttentionCall, inputs: ReturnType<typeof prepInputs>) {
  const { kvHeads, headDim: hd, cacheLen } = shape;
  const width = kvHeads * hd;
  const { startPos, tokens } = c;
  const lastPos = startPos + tokens - 1;
  const { hist, histV, kc, vc, qkv, table, temps } = inputs;
  const ref = qkPrepRef(qkv, table, temps, kc, vc, c);
  const keys = new Float32Array((lastPos + 1) * width), values = new Float32Array((lastPos + 1) * width);
  keys.set(hist.subarray(0, startPos * width));
  values.set(histV.subarray(0, startPos * width));
  for (let j = startPos; j <= lastPos; j++) {
    keys.set(ref.kCache.subarray((j % cacheLen) * width, (j % cacheLen + 1) * width), j * width);
    values.set(ref.vCache.subarray((j % cacheLen) * width, (j % cacheLen + 1) * width), j * width);
  }
  return { ref, want: attentionRef(ref.q, keys, values, c) };
}

for (const [name, shape, runs] of cases) {
  test(`qkPrepAttention ${name}`, async () => {
    for (const [variant, ctx] of await kernelVariants()) {
      for (const [startPos, tokens] of runs) {
        const c: PrepAttentionCall = { ...shape, tokens, startPos, eps: 1e-5 };
        const inputs = prepInputs(shape, startPos, tokens, startPos * 7 + tokens);
        const { kc, vc, qkv, table, temps } = inputs;
        const { ref, want } = expected(shape, c, inputs);

        const decode = usesDecodeKernel(ctx, c);
        assert.equal(decode, variant.startsWith('gpu variant'));
        const auto = decodeShape(c).splits;
        // the tiled launch at any split count, and every short-run form on the runs it takes
        const launches: [ShortRun, number | undefined][] = [undefined, 1, 3, auto + 2].map((s): [ShortRun, number | undefined] => ['off', s]);
        for (const mode of SHORT_RUNS) if (mode !== 'off') launches.push([mode, undefined]);
        for (const [mode, splits] of decode ? launches : [['off', undefined] as const]) {
          if (withShortRun(mode, () => decodeShape(c).short) !== mode) continue;
          const what = `${name} ${variant} at ${startPos} × ${tokens}, splits ${splits ?? `auto ${auto}`}, short run ${mode}`;
          const kb = ctx.upload(kc, 'k'), vb = ctx.upload(vc, 'v');
          const out = ctx.createBuffer(want.length * 4, 'out'), q = ctx.createBuffer(ref.q.length * 4, 'q');
          withShortRun(mode, () => qkPrepAttention(ctx, ctx.upload(qkv, 'qkv'), q, ctx.upload(table, 'table'), ctx.upload(temps, 'temps'), kb, vb, out, { ...c, splits }));
          assertClose(await ctx.readF32(out, 0, want.length), want, 2e-5, what);
          assertClose(await ctx.readF32(kb, 0, kc.length), ref.kCache, 1e-5, `${what}: k cache`);
          assertClose(await ctx.readF32(vb, 0, vc.length), ref.vCache, 0, `${what}: v cache`);
        }
      }
    }
  });
}

test('qkPrepAttention: one dispatch per short decode call on GPUs; split (long) calls keep the qk_prep dispatch, plus the merge; a call across a chunk refused', async () => {
  const [, [, gpu]] = await kernelVariants();
  const shape = { heads: 4, kvHeads: 1, headDim: 16, cacheLen: 8192, chunk: 8192, eps: 1e-5, rope: true, qkNorm: true, temperature: false };
  const b = (n: number) => gpu.createBuffer(n * 4, 'b');
  const qkv = b(2 * 6 * 16), q = b(2 * 4 * 16), table = b(2 * 16), temps = b(2), kc = b(8192 * 16), vc = b(8192 * 16), out = b(2 * 4 * 16);
  const count = (startPos: number) => {
    const before = gpu.dispatchCount;
    qkPrepAttention(gpu, qkv, q, table, temps, kc, vc, out, { ...shape, tokens: 1, startPos });
    return gpu.dispatchCount - before;
  };
  assert.equal(count(99), 1);
  assert.equal(count(5000), 3); // qk_prep, attention_decode, attention_merge
  assert.throws(() => qkPrepAttention(gpu, qkv, q, table, temps, kc, vc, out, { ...shape, tokens: 2, startPos: 8191 }), /cross an attention chunk/);
  await gpu.readF32(out, 0, 1);
});

test('qkPrepAttention: the benchmark probes (attentionDecodeTuning.probe) reach the decode kernel, and 0 is the real one', async () => {
  const [, [, gpu]] = await kernelVariants();
  const shape = { heads: 40, kvHeads: 8, headDim: 128, cacheLen: 256, chunk: 256, rope: true, qkNorm: true, temperature: false };
  const c: PrepAttentionCall = { ...shape, tokens: 1, startPos: 99, eps: 1e-5 };
  const inputs = prepInputs(shape, 99, 1, 7);
  const { kc, vc, qkv, table, temps } = inputs;
  const { ref, want } = expected(shape, c, inputs);
  const run = async (probe: number) => {
    attentionDecodeTuning.probe = probe;
    try {
      const out = gpu.createBuffer(want.length * 4, 'out');
      qkPrepAttention(gpu, gpu.upload(qkv, 'qkv'), gpu.createBuffer(ref.q.length * 4, 'q'), gpu.upload(table, 'table'), gpu.upload(temps, 'temps'), gpu.upload(kc, 'k'), gpu.upload(vc, 'v'), out, c);
      return await gpu.readF32(out, 0, want.length);
    } finally {
      attentionDecodeTuning.probe = 0;
    }
  };
  const maxDiff = (got: Float32Array) => got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
  for (const probe of [1, 2, 4, 8]) assert.ok(maxDiff(await run(probe)) > 1e-3, `probe ${probe} changes the result`);
  assertClose(await run(0), want, 2e-5, 'probe 0');
});
