// The KV cache in f16 (kv-format.ts): qkPrepAttention() writing and reading f16 caches on every path (CPU adapters:
// qk_prep then attention.wgsl; GPUs: the fused decode dispatch, qk_prep + attention_decode + merge when split, and
// attention.wgsl for prefill-sized calls). The cache it leaves is the CPU reference's new keys and values rounded to
// f16 (within one f16 step: WGSL leaves the rounding direction to the implementation), and the attention is the CPU
// reference over exactly the f16 values in the cache: the kernels must attend over what they stored, new keys
// included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelVariants, assertClose } from '../../testing/gpu.ts';
import { qkPrepAttention, usesDecodeKernel, decodeShape, type PrepAttentionCall } from './attention.ts';
import { attentionRef } from './attention.ref.ts';
import { qkPrepRef } from '../qk-prep/qk-prep.ref.ts';
import { prepInputs } from '../../testing/attention-prep.ts';
import { f16BitsToF32, f32ToF16Bits } from '../f16.ts';
import { kvFormatKernel } from './kv-kernels.ts';
import { qkPrepKernel } from '../qk-prep/qk-prep.ts';

/** f32 values as packed f16 pairs (element 2w in the low half of word w), rounded to nearest even */
function packF16(a: Float32Array): Uint32Array {
  const u = new Uint32Array(a.length / 2);
  for (let w = 0; w < u.length; w++) u[w] = (f32ToF16Bits(a[2 * w]) | (f32ToF16Bits(a[2 * w + 1]) << 16)) >>> 0;
  return u;
}

function unpackF16(u: Uint32Array): Float32Array {
  return Float32Array.from({ length: 2 * u.length }, (_, i) => f16BitsToF32((u[i >> 1] >>> (16 * (i & 1))) & 0xffff));
}

/** every element within one f16 step of the value rounded to nearest */
function assertF16Of(got: Float32Array, want: Float32Array, what: string): void {
  const rounded = unpackF16(packF16(want));
  for (let i = 0; i < got.length; i++) {
    const step = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(want[i]), 2 ** -14))) - 10);
    if (!(Math.abs(got[i] - want[i]) <= step) && got[i] !== rounded[i]) assert.fail(`${what}: element ${i} is ${got[i]}, not ${want[i]} in f16 (${rounded[i]})`);
  }
}

type Shape = Omit<PrepAttentionCall, 'tokens' | 'startPos' | 'eps' | 'kvFormat'>;
const cases: [string, Shape, [number, number][]][] = [
  // [startPos, tokens]
  ['RoPE + QK norm, chunked ring of 64', { heads: 4, kvHeads: 2, headDim: 16, cacheLen: 64, chunk: 64, rope: true, qkNorm: true, temperature: false }, [[0, 1], [65, 1], [127, 1], [128, 4], [130, 8]]],
  ['Scout RoPE + QK norm 40:8 of 128 (one tile)', { heads: 40, kvHeads: 8, headDim: 128, cacheLen: 256, chunk: 256, rope: true, qkNorm: true, temperature: false }, [[99, 1], [124, 4]]],
  ['RoPE + QK norm 10:2 of 128, long chunk (split)', { heads: 10, kvHeads: 2, headDim: 128, cacheLen: 1024, chunk: 1024, rope: true, qkNorm: true, temperature: false }, [[1000, 1]]],
  ['NoPE with temperature', { heads: 4, kvHeads: 1, headDim: 32, cacheLen: 400, chunk: 0, rope: false, qkNorm: true, temperature: true }, [[7, 2], [390, 1], [300, 6]]],
];

for (const [name, shape, runs] of cases) {
  test(`f16 KV cache: qkPrepAttention ${name}`, async () => {
    for (const [variant, ctx] of await kernelVariants()) {
      const { kvHeads, headDim: hd, cacheLen } = shape;
      const width = kvHeads * hd;
      for (const [startPos, tokens] of runs) {
        const c: PrepAttentionCall = { ...shape, tokens, startPos, eps: 1e-5, kvFormat: 'f16' };
        const lastPos = startPos + tokens - 1;
        // the cache before the call (history and noise) in f16
        const { kc, vc, qkv, table, temps } = prepInputs(shape, startPos, tokens, startPos * 5 + tokens);
        const kc16 = packF16(kc), vc16 = packF16(vc);
        const ref = qkPrepRef(qkv, table, temps, unpackF16(kc16), unpackF16(vc16), c);

        const decode = usesDecodeKernel(ctx, c);
        const splitCounts = decode ? [undefined, 1, decodeShape(c).splits + 2] : [undefined];
        for (const splits of splitCounts) {
          const what = `${name} ${variant} at ${startPos} × ${tokens}, splits ${splits ?? 'auto'}`;
          const kb = ctx.upload(kc16, 'k16'), vb = ctx.upload(vc16, 'v16');
          const out = ctx.createBuffer(ref.q.length * 4, 'out'), q = ctx.createBuffer(ref.q.length * 4, 'q');
          qkPrepAttention(ctx, ctx.upload(qkv, 'qkv'), q, ctx.upload(table, 'table'), ctx.upload(temps, 'temps'), kb, vb, out, { ...c, splits });
          const gotK = unpackF16(await ctx.readU32(kb, 0, kc16.length)), gotV = unpackF16(await ctx.readU32(vb, 0, vc16.length));
          assertF16Of(gotK, ref.kCache, `${what}: k cache`);
          assertF16Of(gotV, ref.vCache, `${what}: v cache`);
          // the reference attention over the cache's own f16 values
          const keys = new Float32Array((lastPos + 1) * width), values = new Float32Array((lastPos + 1) * width);
          for (let j = Math.max(0, lastPos + 1 - cacheLen); j <= lastPos; j++) {
            keys.set(gotK.subarray((j % cacheLen) * width, (j % cacheLen + 1) * width), j * width);
            values.set(gotV.subarray((j % cacheLen) * width, (j % cacheLen + 1) * width), j * width);
          }
          assertClose(await ctx.readF32(out, 0, ref.q.length), attentionRef(ref.q, keys, values, c), 2e-5, what);
        }
      }
    }
  });
}

test('f16 KV cache: its kernels are named apart from the f32 ones (pipelines are cached by name)', () => {
  const f16 = kvFormatKernel(qkPrepKernel, 'f16');
  assert.equal(f16.name, 'qk_prep_kvf16');
  assert.equal(kvFormatKernel(qkPrepKernel, 'f16'), f16);
  assert.equal(kvFormatKernel(qkPrepKernel, 'f32'), qkPrepKernel);
  assert.equal(kvFormatKernel(qkPrepKernel, undefined), qkPrepKernel);
});
