// The L2 read-ahead (l2-prefetch.wgsl) in its two hosts, the add-norm that ends a layer and the decode attention:
// their results stay bit for bit what they are without it, and every unit of the requested share is read (a unit
// planted with the kernel's magic pattern, anywhere in it, reaches pf_keep: the host's last xq word). The model-level
// check (the same logits with the read-ahead on) is in worker/model/gpu-variants.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelVariants, randomArray } from '../../testing/gpu.ts';
import { prepInputs } from '../../testing/attention-prep.ts';
import { addNorm } from '../add-norm/add-norm.ts';
import { qkPrepAttention, type PrepAttentionCall } from '../attention/attention.ts';
import { XQ_BLOCK_BYTES } from '../linear/quantize-x.ts';
import { uploadLinear } from '../linear/linear.ts';
import { GpuContext } from '../runtime.ts';
import { l2Prefetch, l2PrefetchTuning, type L2Prefetch } from './l2-prefetch.ts';

const MAGIC = 0x7fa5a5a5;

/** units of unitWords words, all zero but unit `at`, whose words fold (XOR) to MAGIC; -1: none planted */
function planted(ctx: GpuContext, units: number, unitWords: number, at: number, groups: number): L2Prefetch {
  const words = new Uint32Array(units * unitWords);
  if (at >= 0) words[at * unitWords] = MAGIC;
  const buffer = ctx.createBuffer(words.byteLength, 'prefetched');
  ctx.device.queue.writeBuffer(buffer, 0, words);
  return { buffer, groups, constants: { PF_GROUPS: groups, PF_UNITS: units } };
}

/** where to plant: both ends, both sides of a group's run and of a thread's batch of 16 loads, the middle */
function positions(units: number, groups: number, threads: number): number[] {
  const per = Math.ceil(units / groups);
  return [...new Set([0, 1, per - 1, per, threads * 16 - 1, threads * 16, Math.floor(units / 2), units - 1])].filter((u) => u < units);
}

test('L2 read-ahead in the add-norm ending a layer: the same x, h and integer h, and every unit read', async () => {
  const [, , [, ctx]] = await kernelVariants(); // the GPU variant with h in integer form
  const tokens = 1, dim = 5120;
  const x = ctx.upload(randomArray(tokens * dim, 3, 2), 'x');
  const a = ctx.upload(randomArray(tokens * dim, 4), 'a');
  const w = ctx.upload(randomArray(dim, 5), 'w');
  const xqWords = (tokens * dim * XQ_BLOCK_BYTES) / 32 / 4;
  const run = async (prefetch: L2Prefetch | null) => {
    const xOut = ctx.createBuffer(tokens * dim * 4, 'xOut');
    const h = ctx.createBuffer(tokens * dim * 4, 'h');
    const hq = ctx.createBuffer((xqWords + 28) * 4, 'hq'); // one block more than the row: its words are never written
    addNorm(ctx, x, xOut, a, null, w, h, tokens, dim, 1e-5, hq, null, prefetch);
    return { x: await ctx.readU32(xOut), h: await ctx.readU32(h), hq: await ctx.readU32(hq) };
  };
  const plain = await run(null);
  for (const [units, groups] of [[10_000, 7], [3 * 256 * 16 + 5, 3], [40, 96]] as const) {
    for (const at of [-1, ...positions(units, groups, 256)]) {
      const got = await run(planted(ctx, units, 4, at, groups));
      assert.deepEqual(got.x, plain.x, `x, ${units} units, planted at ${at}`);
      assert.deepEqual(got.h, plain.h, `h, ${units} units, planted at ${at}`);
      assert.deepEqual(got.hq.subarray(0, xqWords), plain.hq.subarray(0, xqWords), `integer h, ${units} units, planted at ${at}`);
      assert.equal(got.hq[got.hq.length - 1], at < 0 ? 0 : MAGIC, `${units} units in ${groups} groups: unit ${at} read`);
    }
  }
});

test('L2 read-ahead in the decode attention (one split): the same output and cache, and every unit read', async () => {
  const [, [, ctx]] = await kernelVariants();
  const shape = { heads: 40, kvHeads: 8, headDim: 128, cacheLen: 256, chunk: 256, rope: true, qkNorm: true, temperature: false };
  const c: PrepAttentionCall = { ...shape, tokens: 1, startPos: 99, eps: 1e-5 };
  const { kc, vc, qkv, table, temps } = prepInputs(shape, 99, 1, 7);
  const outWords = shape.heads * shape.headDim;
  const xqWords = (outWords * XQ_BLOCK_BYTES) / 32 / 4;
  const run = async (prefetch: L2Prefetch | null) => {
    const out = ctx.createBuffer(outWords * 4, 'out');
    const xq = ctx.createBuffer((xqWords + 28) * 4, 'xq');
    const k = ctx.upload(kc, 'k'), v = ctx.upload(vc, 'v');
    qkPrepAttention(ctx, ctx.upload(qkv, 'qkv'), ctx.createBuffer(outWords * 4, 'q'), ctx.upload(table, 'table'), ctx.upload(temps, 'temps'), k, v, out, c, xq, prefetch);
    return { out: await ctx.readU32(out), xq: await ctx.readU32(xq), k: await ctx.readU32(k), v: await ctx.readU32(v) };
  };
  const plain = await run(null);
  for (const [units, groups] of [[50_000, 96], [2 * 128 * 16 + 3, 2]] as const) {
    for (const at of [-1, ...positions(units, groups, 128)]) {
      const got = await run(planted(ctx, units, 1, at, groups));
      for (const what of ['out', 'k', 'v'] as const) assert.deepEqual(got[what], plain[what], `${what}, ${units} units, planted at ${at}`);
      assert.deepEqual(got.xq.subarray(0, xqWords), plain.xq.subarray(0, xqWords), `integer output, planted at ${at}`);
      assert.equal(got.xq[got.xq.length - 1], at < 0 ? 0 : MAGIC, `${units} units in ${groups} groups: unit ${at} read`);
    }
  }
});

test('l2Prefetch: off by default, on CPU adapters and for weights in several segments; a share of the packed bytes', async () => {
  const [[, cpu], [, gpu]] = await kernelVariants();
  const w = uploadLinear(gpu, 'w', 'q4', 64, 256, (start, count) => randomArray(count * 256, 9 + start));
  assert.equal(l2Prefetch(gpu, w, 16), null);
  l2PrefetchTuning.fraction = 0.5;
  try {
    const pf = l2Prefetch(gpu, w, 16)!;
    assert.equal(pf.buffer, w.segments[0].weights);
    assert.equal(pf.constants.PF_UNITS, Math.floor((0.5 * pf.buffer.size) / 16));
    assert.equal(pf.groups, l2PrefetchTuning.groups);
    assert.equal(l2Prefetch(gpu, w, 4)!.constants.PF_UNITS, Math.floor((0.5 * pf.buffer.size) / 4));
    assert.equal(l2Prefetch(cpu, w, 16), null);
    assert.equal(l2Prefetch(gpu, { ...w, segments: [w.segments[0], w.segments[0]] }, 16), null);
    assert.equal(l2Prefetch(gpu, null, 16), null);
  } finally {
    l2PrefetchTuning.fraction = 0;
  }
});
