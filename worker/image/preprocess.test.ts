// Preprocessing against Hugging Face: the three fixture images of both fixtures (tile grid, input_ids exactly,
// pixel_values max/mean abs diff), digests of HF's pixel_values for synthetic images over more shapes and settings
// (made by tools/hf_reference_digests.py with transformers 5.17.0 / torchvision 0.26.0), bfloat16 normalisation, and bad
// input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { Reference } from '../../cli/reference.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { ChatTokenizer, type TemplateMessage } from '../text/tokenizer.ts';
import { ImageError } from './errors.ts';
import { decodePng } from './png.ts';
import { normalizationTable, preprocessImage, toBf16, type PreprocessConfig } from './preprocess.ts';
import { loadImageProcessorConfig } from './processor-config.ts';
import { expandImagePlaceholders, withProcessorBos } from './prompt.ts';

interface ImageCase {
  name: string;
  image: string;
  image_size: [number, number]; // [width, height] (PIL's im.size)
  num_tiles: number;
  prompt: string;
  messages: TemplateMessage[];
}

const FIXTURES = ['tiny-scout', 'tiny-maverick'];
const IMAGE_CASES = ['image_wide', 'image_tall', 'image_small'];

for (const fixture of FIXTURES) {
  test(`${fixture}: tile grid, input_ids and pixel_values of the image cases`, async () => {
    const root = join(fixturesDir(), fixture);
    const files = new FsModelFiles(join(root, 'model'));
    const config = JSON.parse(readFileSync(join(root, 'model', 'config.json'), 'utf8'));
    const v = config.vision_config;
    const cfg = await loadImageProcessorConfig(files, { patchSize: v.patch_size, pixelShuffleRatio: v.pixel_shuffle_ratio, imageSize: v.image_size });
    const tok = await ChatTokenizer.load(files);
    const ref = await Reference.load(join(root, 'reference'));
    const cases = JSON.parse(readFileSync(join(root, 'reference', 'cases.json'), 'utf8')).cases as ImageCase[];
    const bos = tok.encode('<|begin_of_text|>');
    assert.equal(bos.length, 1);

    for (const name of IMAGE_CASES) {
      const c = cases.find((x) => x.name === name)!;
      assert.ok(c, `${name} is in cases.json`);
      const img = decodePng(readFileSync(join(root, 'reference', c.image)), inflateSync);
      assert.deepEqual([img.width, img.height], c.image_size, `${name}: image_size is [width, height]`);

      const pre = preprocessImage(img.data, img.width, img.height, cfg);
      const shape = ref.shape(`${name}.pixel_values`);
      assert.deepEqual([pre.tiles, 3, pre.tileSize, pre.tileSize], shape, `${name}: pixel_values shape`);
      assert.equal(pre.tiles, c.num_tiles);

      // pixel values
      const expected = ref.f32(`${name}.pixel_values`);
      let max = 0;
      let sum = 0;
      for (let i = 0; i < expected.length; i++) {
        const d = Math.abs(expected[i] - pre.pixelValues[i]);
        if (d > max) max = d;
        sum += d;
      }
      const mean = sum / expected.length;
      console.log(`${fixture} ${name}: grid ${pre.rows}×${pre.cols}, ${pre.tiles} tiles, pixel_values max abs diff ${max}, mean abs diff ${mean}`);
      assert.ok(mean <= 0.02, `${name}: mean abs diff ${mean}`);

      // prompt → input_ids
      const prompt = tok.applyChatTemplate(c.messages);
      assert.equal(prompt, c.prompt, `${name}: chat template output`);
      const expanded = expandImagePlaceholders(prompt, [pre], cfg.tokensPerTile);
      const ids = withProcessorBos(tok.encode(expanded), bos[0]);
      assert.deepEqual(ids, ref.ids(`${name}.input_ids`), `${name}: input_ids`);
    }
  });
}

test('fixture images: the expected grids (wide 1×3, tall 3×1, small 1×1)', async () => {
  const cfg = await loadImageProcessorConfig(new FsModelFiles(join(fixturesDir(), 'tiny-scout', 'model')), { patchSize: 14, pixelShuffleRatio: 0.5 });
  const grids: Record<string, [number, number, number]> = { wide: [1, 3, 4], tall: [3, 1, 4], small: [1, 1, 1] };
  for (const [name, grid] of Object.entries(grids)) {
    const img = decodePng(readFileSync(join(fixturesDir(), 'tiny-scout', 'reference', 'images', `${name}.png`)), inflateSync);
    const pre = preprocessImage(img.data, img.width, img.height, cfg);
    assert.deepEqual([pre.rows, pre.cols, pre.tiles], grid, name);
  }
});

// ---- HF digests: synthetic images through transformers' Llama4ImageProcessor (see tools/hf_reference_digests.py) ----

const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

interface DigestCase {
  name: string;
  h: number;
  w: number;
  tile: number;
  max: number;
  maxcanvas?: boolean;
  mean?: [number, number, number];
  std?: [number, number, number];
  rgba?: boolean;
  /** HF pixel_values shape and aspect ratio (rows, cols), and FNV-1a of its bfloat16 bytes */
  shape: number[];
  grid: [number, number];
  fnv1a: number;
}

const DIGESTS: DigestCase[] = [
  { name: 'big', h: 3000, w: 2000, tile: 336, max: 16, shape: [16, 3, 336, 336], grid: [5, 3], fnv1a: 0x556fe6a6 },
  { name: 'strip', h: 50, w: 2000, tile: 336, max: 16, shape: [7, 3, 336, 336], grid: [1, 6], fnv1a: 0x214fde5d },
  { name: 'just_over', h: 337, w: 336, tile: 336, max: 16, shape: [3, 3, 336, 336], grid: [2, 1], fnv1a: 0x21572a1b },
  { name: 'odd', h: 123, w: 457, tile: 336, max: 16, shape: [3, 3, 336, 336], grid: [1, 2], fnv1a: 0xe8259835 },
  { name: 'tiny', h: 10, w: 10, tile: 336, max: 16, shape: [1, 3, 336, 336], grid: [1, 1], fnv1a: 0x1ae07b28 },
  { name: 'tall112', h: 1000, w: 37, tile: 112, max: 4, shape: [5, 3, 112, 112], grid: [4, 1], fnv1a: 0xe13a9df0 },
  { name: 'thin112', h: 5, w: 700, tile: 112, max: 4, shape: [5, 3, 112, 112], grid: [1, 4], fnv1a: 0x314808f2 },
  { name: 'maxcanvas', h: 777, w: 555, tile: 112, max: 4, maxcanvas: true, shape: [5, 3, 112, 112], grid: [2, 2], fnv1a: 0x5c976a80 },
  { name: 'clipnorm', h: 200, w: 300, tile: 112, max: 4, mean: CLIP_MEAN, std: CLIP_STD, shape: [5, 3, 112, 112], grid: [2, 2], fnv1a: 0x12baabdc },
  { name: 'extreme', h: 60000, w: 40, tile: 112, max: 4, shape: [5, 3, 112, 112], grid: [4, 1], fnv1a: 0xd7634a30 },
  { name: 'rgba', h: 150, w: 90, tile: 112, max: 4, rgba: true, shape: [3, 3, 112, 112], grid: [2, 1], fnv1a: 0x549fdb14 },
];

/** The synthetic image of tools/hf_reference_digests.py (RGB, or RGBA with a varying alpha). */
function synthetic(h: number, w: number, rgba: boolean): Uint8Array {
  const ch = rgba ? 4 : 3;
  const px = new Uint8Array(h * w * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * ch;
      for (let c = 0; c < 3; c++) px[o + c] = (x * 31 + y * 17 + c * 85 + ((x * y) % 97) * 3 + ((x ^ y) & 15) * 8) & 255;
      if (rgba) px[o + 3] = (x * y + 7) & 255;
    }
  }
  return px;
}

/** FNV-1a 32-bit over the little-endian bfloat16 bytes of the values (each must be a bf16 value). */
function bf16Digest(values: Float32Array): number {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & 0xffff) !== 0) throw new Error(`value ${values[i]} at ${i} is not a bfloat16`);
    const hi = bits[i] >>> 16;
    h = Math.imul(h ^ (hi & 0xff), 0x01000193);
    h = Math.imul(h ^ (hi >>> 8), 0x01000193);
  }
  return h >>> 0;
}

test('bit-exact with HF on synthetic images: sizes, 336/112 px tiles, resize_to_max_canvas, CLIP mean/std, 1500× downscale, RGBA', () => {
  for (const c of DIGESTS) {
    const cfg: PreprocessConfig = {
      tileSize: c.tile,
      maxTiles: c.max,
      imageMean: c.mean ?? [0.5, 0.5, 0.5],
      imageStd: c.std ?? [0.5, 0.5, 0.5],
      rescaleFactor: 1 / 255,
      doRescale: true,
      doNormalize: true,
      resizeToMaxCanvas: c.maxcanvas ?? false,
    };
    const pre = preprocessImage(synthetic(c.h, c.w, c.rgba ?? false), c.w, c.h, cfg);
    assert.deepEqual([pre.tiles, 3, pre.tileSize, pre.tileSize], c.shape, c.name);
    assert.deepEqual([pre.rows, pre.cols], c.grid, c.name);
    assert.equal(bf16Digest(pre.pixelValues).toString(16), c.fnv1a.toString(16), `${c.name}: pixel_values differ from HF's`);
  }
});

test('bfloat16 rounding and the normalisation table', () => {
  assert.equal(toBf16(1), 1);
  assert.equal(toBf16(1 + 2 ** -8), 1); // a tie rounds to even
  assert.equal(toBf16(1 + 3 * 2 ** -8), 1 + 2 ** -6); // a tie rounds to even (up)
  assert.equal(toBf16(1 + 2 ** -8 + 2 ** -20), 1 + 2 ** -7);
  assert.equal(toBf16(-0.49609375 - 2 ** -12), -0.49609375); // below half a step (2^-10) away: rounds back
  assert.ok(Number.isNaN(toBf16(NaN)));
  const [r] = normalizationTable({ imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5], rescaleFactor: 1 / 255, doRescale: true, doNormalize: true });
  assert.equal(r[0], -1);
  assert.equal(r[255], 1);
  // HF: bf16(1·(1/255)) = 0.00392151, − 0.5 → bf16(−0.49607849) = −0.49609375, / 0.5 → −0.9921875
  assert.equal(r[1], -0.9921875);
  for (let v = 0; v < 256; v++) assert.ok(Math.abs(r[v] - (v / 127.5 - 1)) <= 2 ** -7 + 1e-9, `value ${v}`);
});

test('RGB and RGBA input give the same result; alpha is ignored', () => {
  const cfg: PreprocessConfig = { tileSize: 28, maxTiles: 4, imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5], rescaleFactor: 1 / 255, doRescale: true, doNormalize: true, resizeToMaxCanvas: false };
  const rgba = synthetic(40, 70, true);
  const rgb = new Uint8Array(40 * 70 * 3);
  for (let p = 0; p < 40 * 70; p++) rgb.set(rgba.subarray(p * 4, p * 4 + 3), p * 3);
  const a = preprocessImage(new Uint8ClampedArray(rgba), 70, 40, cfg);
  const b = preprocessImage(rgb, 70, 40, cfg);
  assert.deepEqual(a, b);
  assert.deepEqual([a.rows, a.cols, a.tiles], [2, 2, 5]);
  // padding is black: the bottom-right tile's last row/column are −1 beyond the resized image
  assert.equal(a.pixelValues[4 * 3 * 28 * 28 - 1], -1);
});

test('bad input: 0×0, empty sides, wrong buffer length', () => {
  const cfg: PreprocessConfig = { tileSize: 112, maxTiles: 4, imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5], rescaleFactor: 1 / 255, doRescale: true, doNormalize: true, resizeToMaxCanvas: false };
  const isImageError = (re: RegExp) => (e: unknown) => e instanceof ImageError && e.code === 'bad-image' && re.test(e.message);
  assert.throws(() => preprocessImage(new Uint8Array(0), 0, 0, cfg), isImageError(/the image is empty \(0×0 pixels\)/));
  assert.throws(() => preprocessImage(new Uint8Array(0), 10, 0, cfg), isImageError(/the image is empty \(10×0 pixels\)/));
  assert.throws(() => preprocessImage(new Uint8Array(10), 2, 2, cfg), isImageError(/has 10 bytes; a 2×2 image needs 16 \(RGBA\) or 12 \(RGB\)/));
  assert.throws(() => preprocessImage(new Uint8Array(16), 2.5, 2, cfg), isImageError(/not valid/));
});
