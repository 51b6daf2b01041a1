// f32 <-> IEEE half on the CPU: round to nearest even, overflow to infinity, subnormals, NaN; every half value
// round-trips; f32ToF16Bits agrees with an independent arithmetic rounding on many random floats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from './f16.ts';
import { rng } from '../testing/gpu.ts';

const fr = Math.fround;

/** Independent reference: f32 value → nearest half value (ties to even) by arithmetic on the value itself. */
function roundToHalf(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10); // subnormals share the ulp of the smallest normal binade
  const r = a / ulp; // exact: ulp is a power of two
  const lo = Math.floor(r);
  const n = r - lo > 0.5 || (r - lo === 0.5 && lo % 2 === 1) ? lo + 1 : lo;
  const v = n * ulp;
  return Math.sign(x) * (v > 65504 ? Infinity : v);
}

const isHalfNaN = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

test('f32ToF16Bits: exact values and signs', () => {
  assert.equal(f32ToF16Bits(1), 0x3c00);
  assert.equal(f32ToF16Bits(-2), 0xc000);
  assert.equal(f32ToF16Bits(0.5), 0x3800);
  assert.equal(f32ToF16Bits(0), 0x0000);
  assert.equal(f32ToF16Bits(-0), 0x8000);
  assert.equal(f32ToF16Bits(65504), 0x7bff);
  assert.equal(f32ToF16Bits(2 ** -14), 0x0400);
  assert.equal(f32ToF16Bits(0.333251953125), 0x3555);
});

test('f32ToF16Bits: round to nearest, ties to even', () => {
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00, 'tie between 1 (even) and 1+2^-10: down');
  assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02, 'tie between 1+2^-10 (odd) and 1+2^-9: up');
  assert.equal(f32ToF16Bits(fr(1 + 2 ** -11 + 2 ** -23)), 0x3c01, 'just above the tie: up');
  assert.equal(f32ToF16Bits(fr(1 + 2 ** -11 - 2 ** -23)), 0x3c00, 'just below the tie: down');
  assert.equal(f32ToF16Bits(2049), 0x6800, '2049 → 2048');
  assert.equal(f32ToF16Bits(2051), 0x6802, '2051 → 2052');
  assert.equal(f32ToF16Bits(-2051), 0xe802);
  assert.equal(f32ToF16Bits(fr(2 - 2 ** -12)), 0x4000, 'rounding carries into the exponent');
  assert.equal(f32ToF16Bits(0.1), 0x2e66);
});

test('f32ToF16Bits: overflow to infinity', () => {
  assert.equal(f32ToF16Bits(65519), 0x7bff, 'below the tie at 65520');
  assert.equal(f32ToF16Bits(65520), 0x7c00, 'the tie at 65520 rounds to even = infinity');
  assert.equal(f32ToF16Bits(1e6), 0x7c00);
  assert.equal(f32ToF16Bits(-1e6), 0xfc00);
  assert.equal(f32ToF16Bits(3.4e38), 0x7c00);
  assert.equal(f32ToF16Bits(Infinity), 0x7c00);
  assert.equal(f32ToF16Bits(-Infinity), 0xfc00);
});

test('f32ToF16Bits: subnormals and underflow', () => {
  assert.equal(f32ToF16Bits(2 ** -24), 0x0001, 'smallest subnormal');
  assert.equal(f32ToF16Bits(-(2 ** -24)), 0x8001);
  assert.equal(f32ToF16Bits(2 ** -20), 0x0010);
  assert.equal(f32ToF16Bits(1023 * 2 ** -24), 0x03ff, 'largest subnormal');
  assert.equal(f32ToF16Bits(2 ** -25), 0x0000, 'half the smallest subnormal: tie to even = 0');
  assert.equal(f32ToF16Bits(fr(2 ** -25 * 1.0001)), 0x0001, 'just above that tie');
  assert.equal(f32ToF16Bits(3 * 2 ** -25), 0x0002, '1.5 ulp: tie to even = 2');
  assert.equal(f32ToF16Bits(5 * 2 ** -25), 0x0002, '2.5 ulp: tie to even = 2');
  assert.equal(f32ToF16Bits(2 ** -14 - 2 ** -25), 0x0400, 'tie between the largest subnormal and the smallest normal');
  assert.equal(f32ToF16Bits(2 ** -26), 0x0000);
  assert.equal(f32ToF16Bits(-(2 ** -26)), 0x8000);
  assert.equal(f32ToF16Bits(1e-10), 0x0000);
  assert.equal(f32ToF16Bits(1e-45), 0x0000, 'an f32 subnormal');
});

test('NaN stays NaN both ways', () => {
  assert.ok(isHalfNaN(f32ToF16Bits(NaN)));
  assert.ok(isHalfNaN(f32ToF16Bits(-NaN)));
  for (let m = 1; m < 0x400; m++) {
    assert.ok(Number.isNaN(f16BitsToF32(0x7c00 | m)));
    assert.ok(Number.isNaN(f16BitsToF32(0xfc00 | m)));
  }
});

test('f16BitsToF32: all 65536 half values round-trip, are exactly representable and ordered', () => {
  let prev = -Infinity;
  for (let h = 0; h < 0x10000; h++) {
    const v = f16BitsToF32(h);
    if (isHalfNaN(h)) {
      assert.ok(Number.isNaN(v), `0x${h.toString(16)}`);
      assert.ok(isHalfNaN(f32ToF16Bits(v)));
      continue;
    }
    assert.equal(fr(v), v, `0x${h.toString(16)} is an f32`);
    assert.equal(f32ToF16Bits(v), h, `0x${h.toString(16)} → ${v} → back`);
    assert.equal(roundToHalf(v), v, `0x${h.toString(16)} is a half value for the reference`);
    assert.equal(Math.sign(v) < 0 || Object.is(v, -0), h >= 0x8000);
    if (h <= 0x7c00) {
      assert.ok(v > prev || h === 0, `0x${h.toString(16)} ordered`);
      prev = v;
    }
  }
  assert.equal(f16BitsToF32(0x7c00), Infinity);
  assert.equal(f16BitsToF32(0xfc00), -Infinity);
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
});

test('f32ToF16Bits agrees with an independent rounding on random floats of every magnitude, and at every tie', () => {
  const r = rng(7);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < 200_000; i++) {
    // random sign and mantissa, exponent across subnormal f16 .. overflow
    u32[0] = ((r() < 0.5 ? 0x80000000 : 0) | ((100 + Math.floor(r() * 50)) << 23) | Math.floor(r() * 0x800000)) >>> 0;
    const x = f32[0];
    const got = f16BitsToF32(f32ToF16Bits(x));
    assert.ok(Object.is(got, roundToHalf(x)) || (got === 0 && roundToHalf(x) === 0), `${x}: ${got} vs ${roundToHalf(x)}`);
  }
  // midpoints between consecutive finite halves (exact in f32): ties to even
  for (let h = 0; h < 0x7bff; h++) {
    const mid = (f16BitsToF32(h) + f16BitsToF32(h + 1)) / 2;
    assert.equal(fr(mid), mid);
    assert.equal(f32ToF16Bits(mid), h % 2 === 0 ? h : h + 1, `midpoint after 0x${h.toString(16)}`);
  }
});

test('bf16BitsToF32 is exact', () => {
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0xc0a0), -5);
  assert.equal(bf16BitsToF32(0x0001), 2 ** -133);
  assert.equal(bf16BitsToF32(0x7f80), Infinity);
  assert.ok(Number.isNaN(bf16BitsToF32(0x7fc1)));
});
