// Llama 4 image preprocessing (spec §3.1, HF Llama4ImageProcessor with its torchvision backend), DOM-free:
// best-fit canvas → aspect-preserving antialiased bilinear resize (uint8) → black padding bottom/right →
// rescale + normalise in bfloat16 → raster tiles, plus a global tile (the whole image squashed to one tile)
// when there is more than one tile. Alpha is dropped, not composited (PIL's convert('RGB')).
import { ImageError } from './errors.ts';
import type { ImageProcessorConfig } from './processor-config.ts';
import { keepChannels, resizeBilinearAntialias, type PixelBuffer } from './resize.ts';
import { planTiles } from './tiling.ts';

/** A decoded image: RGBA (or RGB) pixels, row-major. */
export interface DecodedPixels {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

export interface PreprocessedImage {
  /** [tiles, 3, tileSize, tileSize]: raster tiles (row-major), then the global tile when tiles > 1 */
  pixelValues: Float32Array;
  rows: number;
  cols: number;
  /** rows·cols, plus 1 for the global tile when rows·cols > 1 */
  tiles: number;
  tileSize: number;
}

/** Settings preprocessImage reads (an ImageProcessorConfig has them all). */
export type PreprocessConfig = Pick<
  ImageProcessorConfig,
  'tileSize' | 'maxTiles' | 'imageMean' | 'imageStd' | 'rescaleFactor' | 'doRescale' | 'doNormalize' | 'resizeToMaxCanvas'
>;

/**
 * Preprocesses one decoded image. `pixels` is RGBA (4 bytes per pixel, as ImageData / the PNG decoder give) or
 * RGB (3 bytes per pixel), row-major, `width × height`.
 */
export function preprocessImage(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, cfg: PreprocessConfig): PreprocessedImage {
  const src = sourceBuffer(pixels, width, height);
  const T = cfg.tileSize;
  const plan = planTiles(height, width, { tileSize: T, maxTiles: cfg.maxTiles, resizeToMaxCanvas: cfg.resizeToMaxCanvas });
  const lut = normalizationTable(cfg);
  const tilePixels = 3 * T * T;
  const out = new Float32Array(plan.tiles * tilePixels);

  const resized =
    plan.resized.width === width && plan.resized.height === height
      ? keepChannels(src, 3)
      : resizeBilinearAntialias(src, plan.resized.width, plan.resized.height, 3);
  const rw = resized.width;
  const rh = resized.height;
  const rd = resized.data;
  for (let r = 0; r < plan.rows; r++) {
    for (let c = 0; c < plan.cols; c++) {
      const base = (r * plan.cols + c) * tilePixels;
      for (let ch = 0; ch < 3; ch++) {
        const table = lut[ch];
        const pad = table[0]; // padding is black (0) before normalisation
        const chBase = base + ch * T * T;
        for (let y = 0; y < T; y++) {
          const sy = r * T + y;
          const rowOut = chBase + y * T;
          if (sy >= rh) {
            out.fill(pad, rowOut, rowOut + T);
            continue;
          }
          const x0 = c * T;
          const inside = Math.max(0, Math.min(T, rw - x0));
          const rowIn = (sy * rw + x0) * 3 + ch;
          for (let x = 0; x < inside; x++) out[rowOut + x] = table[rd[rowIn + x * 3]];
          if (inside < T) out.fill(pad, rowOut + inside, rowOut + T);
        }
      }
    }
  }

  if (plan.tiles > 1) {
    const global = resizeBilinearAntialias(src, T, T, 3);
    const base = (plan.tiles - 1) * tilePixels;
    const gd = global.data;
    for (let ch = 0; ch < 3; ch++) {
      const table = lut[ch];
      const chBase = base + ch * T * T;
      for (let i = 0; i < T * T; i++) out[chBase + i] = table[gd[i * 3 + ch]];
    }
  }
  return { pixelValues: out, rows: plan.rows, cols: plan.cols, tiles: plan.tiles, tileSize: T };
}

function sourceBuffer(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number): PixelBuffer {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 0 && height >= 0)) {
    throw new ImageError(`the image size ${width}×${height} is not valid`);
  }
  if (width === 0 || height === 0) throw new ImageError(`the image is empty (${width}×${height} pixels)`);
  const n = width * height;
  let channels: number;
  if (pixels.length === n * 4) channels = 4;
  else if (pixels.length === n * 3) channels = 3;
  else throw new ImageError(`the pixel buffer has ${pixels.length} bytes; a ${width}×${height} image needs ${n * 4} (RGBA) or ${n * 3} (RGB)`);
  return { data: pixels, width, height, channels };
}

// ---- rescale + normalise, bit-exact with HF's bfloat16 arithmetic ---------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a number to bfloat16 (via float32, round to nearest even on the float32 bits), returned as a number. */
export function toBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return x; // NaN
  u32[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0];
}

/**
 * pixel value (0..255) → normalised value, per channel, as HF computes it. With rescale and normalise both on
 * (Llama 4), HF works in bfloat16: x = bf16(uint8); x = bf16(f32(x) · f32(rescale_factor)); then torchvision's
 * normalize with bf16 mean/std: x = bf16(x − mean); x = bf16(x / std) — each op in float32, rounded to bf16.
 * Otherwise float32: x·rescale, or (x − mean)/std.
 */
export function normalizationTable(cfg: Pick<PreprocessConfig, 'imageMean' | 'imageStd' | 'rescaleFactor' | 'doRescale' | 'doNormalize'>): Float32Array[] {
  const tables: Float32Array[] = [];
  for (let ch = 0; ch < 3; ch++) {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      if (cfg.doRescale && cfg.doNormalize) {
        const mean = toBf16(cfg.imageMean[ch]);
        const std = toBf16(cfg.imageStd[ch]);
        let x = toBf16(Math.fround(v * Math.fround(cfg.rescaleFactor)));
        x = toBf16(Math.fround(x - mean));
        x = toBf16(Math.fround(x / std));
        t[v] = x;
      } else if (cfg.doRescale) {
        t[v] = Math.fround(v * Math.fround(cfg.rescaleFactor));
      } else if (cfg.doNormalize) {
        t[v] = Math.fround(Math.fround(v - Math.fround(cfg.imageMean[ch])) / Math.fround(cfg.imageStd[ch]));
      } else {
        t[v] = v;
      }
    }
    tables.push(t);
  }
  return tables;
}
