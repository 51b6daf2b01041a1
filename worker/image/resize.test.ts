// Antialiased bilinear resize: filter taps and weights, agreement (±1) with a plain floating-point separable
// reference, channel selection, edge cases. Bit-exactness against torchvision is checked end to end in
// preprocess.test.ts (fixtures and HF digests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisWeights, keepChannels, resizeBilinearAntialias, type PixelBuffer } from './resize.ts';

function randomImage(width: number, height: number, channels: number, seed: number): PixelBuffer {
  const data = new Uint8Array(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height, channels };
}

/** Separable triangle-filter resize in double precision with a single final rounding (no fixed point). */
function floatReference(src: PixelBuffer, outW: number, outH: number): Float64Array {
  const taps = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const support = Math.max(scale, 1);
    const inv = 1 / Math.max(scale, 1);
    return Array.from({ length: outSize }, (_, i) => {
      const center = scale * (i + 0.5);
      const lo = Math.max(Math.trunc(center - support + 0.5), 0);
      const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
      const ws: [number, number][] = [];
      for (let j = lo; j < hi; j++) ws.push([j, Math.max(0, 1 - Math.abs((j - center + 0.5) * inv))]);
      const total = ws.reduce((a, [, w]) => a + w, 0);
      return ws.map(([j, w]) => [j, w / total] as [number, number]);
    });
  };
  const tx = taps(src.width, outW);
  const ty = taps(src.height, outH);
  const C = src.channels;
  const mid = new Float64Array(src.height * outW * C);
  for (let y = 0; y < src.height; y++)
    for (let x = 0; x < outW; x++)
      for (let c = 0; c < C; c++) mid[(y * outW + x) * C + c] = tx[x].reduce((a, [j, w]) => a + w * src.data[(y * src.width + j) * C + c], 0);
  const out = new Float64Array(outH * outW * C);
  for (let y = 0; y < outH; y++)
    for (let x = 0; x < outW; x++)
      for (let c = 0; c < C; c++) out[(y * outW + x) * C + c] = ty[y].reduce((a, [j, w]) => a + w * mid[(j * outW + x) * C + c], 0);
  return out;
}

test('downscale by 2: four taps 1/8, 3/8, 3/8, 1/8 (fewer at the borders), fixed point', () => {
  const w = axisWeights(8, 4);
  assert.equal(w.taps, 5);
  assert.equal(w.precision, 16); // the largest weight, 3/7 (border), times 2^17 would no longer fit int16
  const one = 2 ** w.precision;
  assert.deepEqual([w.start[1], w.count[1]], [1, 4]);
  assert.deepEqual([...w.weights.subarray(w.taps, w.taps + 4)], [0.125, 0.375, 0.375, 0.125].map((x) => x * one));
  // the first output's window is cut at 0: taps 0, 1, 2 with weights 3/8, 3/8, 1/8 renormalised
  assert.deepEqual([w.start[0], w.count[0]], [0, 3]);
  assert.deepEqual([...w.weights.subarray(0, 3)], [3 / 7, 3 / 7, 1 / 7].map((x) => Math.trunc(0.5 + x * one)));
});

test('upscale uses plain bilinear taps (support 1)', () => {
  const w = axisWeights(2, 4);
  assert.equal(w.taps, 3);
  // output 1: center 1.0 → input 0 weight tri(-0.25)… normalised 0.75/0.25 on inputs 0 and 1
  const one = 2 ** w.precision;
  assert.deepEqual([w.start[1], w.count[1]], [0, 2]);
  assert.deepEqual([...w.weights.subarray(w.taps, w.taps + 2)], [0.75 * one, 0.25 * one]);
});

test('agrees with a floating-point separable reference within 1 level', () => {
  const cases: [number, number, number, number][] = [
    [300, 140, 240, 112],
    [90, 260, 38, 112],
    [50, 37, 112, 82],
    [300, 140, 112, 112],
    [17, 1000, 5, 33],
    [64, 64, 64, 20],
    [7, 9, 100, 3],
  ];
  for (const [w, h, ow, oh] of cases) {
    const src = randomImage(w, h, 3, w * 1000 + h);
    const got = resizeBilinearAntialias(src, ow, oh);
    const ref = floatReference(src, ow, oh);
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(got.data[i] - ref[i]));
    assert.ok(max <= 1.0001, `${w}×${h} → ${ow}×${oh}: max diff ${max}`);
    assert.deepEqual([got.width, got.height, got.channels], [ow, oh, 3]);
  }
});

test('a constant image stays constant', () => {
  for (const v of [0, 1, 128, 254, 255]) {
    const src: PixelBuffer = { data: new Uint8Array(123 * 45 * 3).fill(v), width: 123, height: 45, channels: 3 };
    for (const [ow, oh] of [[7, 3], [400, 200], [123, 10], [1, 1]]) {
      const out = resizeBilinearAntialias(src, ow, oh);
      assert.ok(out.data.every((x) => x === v), `value ${v} → ${ow}×${oh}`);
    }
  }
});

test('RGBA input resized to RGB equals resizing the RGB image (alpha dropped, not composited)', () => {
  const rgba = randomImage(61, 29, 4, 7);
  const rgb = keepChannels(rgba, 3);
  assert.deepEqual(resizeBilinearAntialias(rgba, 20, 50, 3), resizeBilinearAntialias(rgb, 20, 50));
  // same size: a copy with the requested channels
  const same = resizeBilinearAntialias(rgba, 61, 29, 3);
  assert.deepEqual(same, rgb);
  assert.notEqual(same.data, rgba.data);
});

test('only the axes that change are resampled', () => {
  const src = randomImage(40, 30, 3, 3);
  const out = resizeBilinearAntialias(src, 40, 15); // vertical only
  const ref = floatReference(src, 40, 15);
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(out.data[i] - ref[i]) <= 0.5 + 1e-9);
});

test('bad sizes are rejected', () => {
  const src = randomImage(4, 4, 3, 1);
  assert.throws(() => resizeBilinearAntialias(src, 0, 4), RangeError);
  assert.throws(() => resizeBilinearAntialias(src, 4, 2.5), RangeError);
  assert.throws(() => resizeBilinearAntialias(src, 4, 4, 4), RangeError);
  assert.throws(() => resizeBilinearAntialias({ ...src, width: 0 }, 4, 4), RangeError);
  assert.throws(() => resizeBilinearAntialias({ ...src, data: new Uint8Array(10) }, 2, 2), /too few/);
});
