// Antialiased bilinear resize of interleaved uint8 images, reproducing torchvision's
// `resize(uint8 tensor, size, BILINEAR, antialias=True)` on CPU (PyTorch's uint8 path, which follows Pillow's
// ImagingResample): separable, horizontal pass then vertical pass, each through a uint8 intermediate.
//
// Per output index i along an axis (input n, output m, scale = n/m):
//   support = scale ≥ 1 ? scale : 1 (the triangle filter widens with the downscale factor; plain bilinear when
//   upscaling), center = scale·(i + ½), taps j ∈ [xmin, xmin + xsize) with xmin = max(trunc(center − support + ½), 0)
//   and xmin + xsize = min(trunc(center + support + ½), n), weight = tri((j − center + ½)/max(scale, 1)),
//   normalised to sum 1.
// The weights are then turned into fixed point like PyTorch: a precision p (largest ≤ 22 such that the largest
// weight · 2^(p+1) still fits int16), w_int = trunc(w·2^p + ½), and each output value is
// clamp((2^(p−1) + Σ w_int·pixel) >> p, 0, 255) — i.e. rounded, in integers, exactly like the reference.

export interface PixelBuffer {
  /** interleaved, row-major: data[(y·width + x)·channels + c] */
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}

interface AxisWeights {
  /** first input index per output index */
  start: Int32Array;
  /** number of taps per output index */
  count: Int32Array;
  /** fixed-point weights, `taps` slots per output index */
  weights: Int32Array;
  taps: number;
  precision: number;
}

/** Triangle filter of PIL / PyTorch bilinear. */
function triangle(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** Per-axis taps and fixed-point weights (exported for tests). */
export function axisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const real = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    start[i] = xmin;
    count[i] = xsize;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = triangle((j + xmin - center + 0.5) * invscale);
      real[i * taps + j] = w;
      total += w;
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) real[i * taps + j] /= total;
  }
  let wMax = real[0];
  for (let k = 0; k < real.length; k++) if (real[k] > wMax) wMax = real[k];
  let precision = 0;
  for (; precision < 22; precision++) {
    if (Math.trunc(0.5 + wMax * 2 ** (precision + 1)) >= 1 << 15) break;
  }
  const weights = new Int32Array(real.length);
  const one = 2 ** precision;
  for (let k = 0; k < real.length; k++) {
    const v = real[k];
    weights[k] = v < 0 ? Math.trunc(-0.5 + v * one) : Math.trunc(0.5 + v * one);
  }
  return { start, count, weights, taps, precision };
}

/**
 * Resizes to width × height. The output keeps the first `channels` channels of the input (default: all), so an
 * RGBA buffer can be resized straight to RGB without a copy of the full-size image.
 */
export function resizeBilinearAntialias(src: PixelBuffer, width: number, height: number, channels = src.channels): PixelBuffer {
  checkBuffer(src);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`resize: the output size must be positive integers (got ${width}×${height})`);
  }
  if (!(Number.isInteger(channels) && channels >= 1 && channels <= src.channels)) {
    throw new RangeError(`resize: cannot keep ${channels} channels of a ${src.channels}-channel image`);
  }
  let cur: PixelBuffer = src;
  if (width !== src.width) cur = horizontal(cur, width, channels);
  if (height !== src.height) cur = vertical(cur, height, channels);
  if (cur === src) cur = keepChannels(src, channels);
  return cur;
}

/** A copy holding only the first `channels` channels (e.g. RGBA → RGB, dropping alpha as PIL's convert('RGB')). */
export function keepChannels(src: PixelBuffer, channels: number): PixelBuffer {
  checkBuffer(src);
  const n = src.width * src.height;
  const out = new Uint8Array(n * channels);
  const s = src.data;
  const sc = src.channels;
  if (sc === channels) out.set(s.subarray(0, n * channels));
  else for (let p = 0; p < n; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = s[p * sc + c];
  return { data: out, width: src.width, height: src.height, channels };
}

function horizontal(src: PixelBuffer, outW: number, channels: number): PixelBuffer {
  const { start, count, weights, taps, precision } = axisWeights(src.width, outW);
  const inW = src.width;
  const h = src.height;
  const sc = src.channels;
  const s = src.data;
  const out = new Uint8Array(h * outW * channels);
  const half = precision > 0 ? 1 << (precision - 1) : 0;
  for (let y = 0; y < h; y++) {
    const rowIn = y * inW * sc;
    const rowOut = y * outW * channels;
    for (let x = 0; x < outW; x++) {
      const k0 = x * taps;
      const n = count[x];
      const p0 = rowIn + start[x] * sc;
      for (let c = 0; c < channels; c++) {
        let acc = half;
        for (let j = 0, p = p0 + c; j < n; j++, p += sc) acc += weights[k0 + j] * s[p];
        const v = acc >> precision;
        out[rowOut + x * channels + c] = v > 255 ? 255 : v < 0 ? 0 : v;
      }
    }
  }
  return { data: out, width: outW, height: h, channels };
}

function vertical(src: PixelBuffer, outH: number, channels: number): PixelBuffer {
  const { start, count, weights, taps, precision } = axisWeights(src.height, outH);
  const w = src.width;
  const sc = src.channels;
  const s = src.data;
  const rowStride = w * sc;
  const out = new Uint8Array(outH * w * channels);
  const half = precision > 0 ? 1 << (precision - 1) : 0;
  const acc = new Int32Array(w * channels);
  for (let y = 0; y < outH; y++) {
    acc.fill(half);
    const k0 = y * taps;
    const n = count[y];
    for (let j = 0; j < n; j++) {
      const k = weights[k0 + j];
      if (k === 0) continue;
      const row = (start[y] + j) * rowStride;
      if (sc === channels) {
        for (let i = 0; i < acc.length; i++) acc[i] += k * s[row + i];
      } else {
        for (let x = 0, i = 0; x < w; x++) for (let c = 0; c < channels; c++, i++) acc[i] += k * s[row + x * sc + c];
      }
    }
    const rowOut = y * w * channels;
    for (let i = 0; i < acc.length; i++) {
      const v = acc[i] >> precision;
      out[rowOut + i] = v > 255 ? 255 : v < 0 ? 0 : v;
    }
  }
  return { data: out, width: w, height: outH, channels };
}

function checkBuffer(src: PixelBuffer): void {
  const { width, height, channels, data } = src;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`resize: the image size must be positive integers (got ${width}×${height})`);
  }
  if (!(Number.isInteger(channels) && channels >= 1)) throw new RangeError(`resize: bad channel count ${channels}`);
  if (data.length < width * height * channels) {
    throw new RangeError(`resize: ${data.length} bytes is too few for ${width}×${height}×${channels}`);
  }
}
