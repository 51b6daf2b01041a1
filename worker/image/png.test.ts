// PNG decoder: the fixture images, every colour type / bit depth and row filter (through a small encoder here),
// transparency, and bad input (0×0, corrupt, truncated, not a PNG, interlaced, too large) → clear ImageErrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { fixturesDir } from '../../testing/fixtures.ts';
import { ImageError } from './errors.ts';
import { decodePng, isPng, readPngHeader } from './png.ts';

const inflate = (d: Uint8Array) => inflateSync(d);

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface EncodeOptions {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** packed rows without filter bytes */
  rows: Uint8Array[];
  filters?: number[];
  palette?: Uint8Array;
  trns?: Uint8Array;
  interlace?: number;
  /** split the compressed data into this many IDAT chunks */
  idatParts?: number;
}

function ihdr(width: number, height: number, bitDepth: number, colorType: number, interlace = 0): Uint8Array {
  const b = new Uint8Array(13);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  b.set([bitDepth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', b);
}

/** A PNG with the given packed rows, each row filtered with filters[y % filters.length]. */
function encodePng(o: EncodeOptions): Uint8Array {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[o.colorType]!;
  const bpp = Math.max(1, (channels * o.bitDepth) >> 3);
  const filters = o.filters ?? [0];
  const raw: number[] = [];
  o.rows.forEach((row, y) => {
    const prev = y > 0 ? o.rows[y - 1] : new Uint8Array(row.length);
    const f = filters[y % filters.length];
    raw.push(f);
    for (let i = 0; i < row.length; i++) {
      const a = i >= bpp ? row[i - bpp] : 0;
      const b = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw.push((row[i] - pred) & 0xff);
    }
  });
  const z = deflateSync(new Uint8Array(raw));
  const parts = o.idatParts ?? 1;
  const step = Math.ceil(z.length / parts);
  const idats: Uint8Array[] = [];
  for (let i = 0; i < z.length; i += step) idats.push(chunk('IDAT', z.subarray(i, i + step)));
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    ihdr(o.width, o.height, o.bitDepth, o.colorType, o.interlace),
    ...(o.palette ? [chunk('PLTE', o.palette)] : []),
    ...(o.trns ? [chunk('tRNS', o.trns)] : []),
    chunk('tEXt', new TextEncoder().encode('Comment\0ignored')),
    ...idats,
    chunk('IEND', new Uint8Array(0)),
  ]);
}

function rgbaRows(width: number, height: number, f: (x: number, y: number) => number[]): number[][][] {
  return Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => f(x, y)));
}

const pattern = (x: number, y: number, c: number) => (x * 37 + y * 11 + c * 71 + ((x * y) % 13) * 9) & 255;

function assertImageError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected an ImageError, got ${String(e)}`);
    assert.equal(e.code, 'bad-image');
    assert.match(e.message, re);
    return true;
  });
}

test('decodes the fixture images (8-bit RGB) at their sizes, opaque', () => {
  const sizes: Record<string, [number, number]> = { wide: [300, 140], tall: [90, 260], small: [50, 37] };
  for (const fixture of ['tiny-scout', 'tiny-maverick']) {
    for (const [name, [w, h]] of Object.entries(sizes)) {
      const bytes = readFileSync(join(fixturesDir(), fixture, 'reference', 'images', `${name}.png`));
      assert.ok(isPng(bytes));
      const img = decodePng(bytes, inflate);
      assert.deepEqual([img.width, img.height, img.data.length], [w, h, w * h * 4], `${fixture}/${name}`);
      for (let i = 3; i < img.data.length; i += 4) assert.equal(img.data[i], 255);
    }
  }
  // small.png: a grey (200) background with a blue rectangle from (5,5) to (30,20)
  const small = decodePng(readFileSync(join(fixturesDir(), 'tiny-scout', 'reference', 'images', 'small.png')), inflate);
  const px = (x: number, y: number) => [...small.data.subarray((y * 50 + x) * 4, (y * 50 + x) * 4 + 4)];
  assert.deepEqual(px(0, 0), [200, 200, 200, 255]);
  assert.deepEqual(px(10, 10), [0, 0, 255, 255]);
});

test('RGB and RGBA, 8 and 16 bit, every row filter, several IDAT chunks', () => {
  const W = 13, H = 10;
  for (const colorType of [2, 6]) {
    for (const bitDepth of [8, 16]) {
      const ch = colorType === 2 ? 3 : 4;
      const px = rgbaRows(W, H, (x, y) => Array.from({ length: ch }, (_, c) => pattern(x, y, c)));
      const rows = px.map((r) => {
        const bytes: number[] = [];
        for (const p of r) for (const v of p) bytes.push(...(bitDepth === 16 ? [v, (v * 7) & 255] : [v]));
        return new Uint8Array(bytes);
      });
      const png = encodePng({ width: W, height: H, bitDepth, colorType, rows, filters: [0, 1, 2, 3, 4], idatParts: 3 });
      const img = decodePng(png, inflate);
      const expected = px.flat().flatMap((p) => (ch === 3 ? [...p, 255] : p));
      assert.deepEqual([...img.data], expected, `colour type ${colorType}, ${bitDepth}-bit`);
    }
  }
});

test('grey 1/2/4/8/16-bit, grey+alpha, with tRNS', () => {
  const W = 11, H = 3;
  for (const bitDepth of [1, 2, 4, 8, 16]) {
    const max = 2 ** Math.min(bitDepth, 8) - 1;
    const values = Array.from({ length: H }, (_, y) => Array.from({ length: W }, (_, x) => (x + y * 5) % (max + 1)));
    const rows = values.map((r) => {
      if (bitDepth === 16) return new Uint8Array(r.flatMap((v) => [v, 0x5a]));
      const out = new Uint8Array(Math.ceil((W * bitDepth) / 8));
      r.forEach((v, x) => (out[(x * bitDepth) >> 3] |= v << (8 - bitDepth - ((x * bitDepth) & 7))));
      return out;
    });
    const trnsValue = 1;
    const trns = bitDepth === 16 ? new Uint8Array([1, 0x5a]) : new Uint8Array([0, trnsValue]);
    const img = decodePng(encodePng({ width: W, height: H, bitDepth, colorType: 0, rows, filters: [4, 1], trns }), inflate);
    const expected = values.flat().flatMap((v) => {
      const g = bitDepth === 16 ? v : Math.round((v * 255) / max);
      return [g, g, g, v === trnsValue ? 0 : 255];
    });
    assert.deepEqual([...img.data], expected, `${bitDepth}-bit grey`);
  }
  const la = rgbaRows(5, 4, (x, y) => [pattern(x, y, 0), pattern(x, y, 3)]);
  const img = decodePng(encodePng({ width: 5, height: 4, bitDepth: 8, colorType: 4, rows: la.map((r) => new Uint8Array(r.flat())), filters: [3] }), inflate);
  assert.deepEqual([...img.data], la.flat().flatMap(([g, a]) => [g, g, g, a]));
});

test('palette 1/2/4/8-bit with per-entry alpha; out-of-range index is an error', () => {
  for (const bitDepth of [1, 2, 4, 8]) {
    const n = 2 ** bitDepth;
    const colours = Math.min(n, 20);
    const palette = new Uint8Array(colours * 3).map((_, i) => (i * 53) & 255);
    const trns = new Uint8Array([10, 20]);
    const W = 9, H = 4;
    const idx = Array.from({ length: H }, (_, y) => Array.from({ length: W }, (_, x) => (x * 3 + y) % colours));
    const rows = idx.map((r) => {
      const out = new Uint8Array(Math.ceil((W * bitDepth) / 8));
      r.forEach((v, x) => (out[(x * bitDepth) >> 3] |= v << (8 - bitDepth - ((x * bitDepth) & 7))));
      return out;
    });
    const img = decodePng(encodePng({ width: W, height: H, bitDepth, colorType: 3, rows, palette, trns, filters: [2] }), inflate);
    const expected = idx.flat().flatMap((v) => [palette[v * 3], palette[v * 3 + 1], palette[v * 3 + 2], v < trns.length ? trns[v] : 255]);
    assert.deepEqual([...img.data], expected, `${bitDepth}-bit palette`);
  }
  const palette = new Uint8Array([1, 2, 3, 4, 5, 6]);
  const png = encodePng({ width: 2, height: 1, bitDepth: 8, colorType: 3, rows: [new Uint8Array([0, 2])], palette });
  assertImageError(() => decodePng(png, inflate), /palette index 2 is out of range/);
});

test('0×0 (and 0-height) images give a clear error', () => {
  for (const [w, h] of [[0, 0], [5, 0], [0, 5]]) {
    const png = concat([
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      ihdr(w, h, 8, 2),
      chunk('IDAT', deflateSync(new Uint8Array(0))),
      chunk('IEND', new Uint8Array(0)),
    ]);
    assertImageError(() => decodePng(png, inflate), new RegExp(`the image is empty \\(${w}×${h} pixels\\)`));
  }
});

test('corrupt files give clear errors', () => {
  const good = readFileSync(join(fixturesDir(), 'tiny-scout', 'reference', 'images', 'wide.png'));
  // not a PNG at all
  assertImageError(() => decodePng(new TextEncoder().encode('hello, this is not an image'), inflate), /not a PNG file/);
  assertImageError(() => decodePng(new Uint8Array([1, 2, 3]), inflate), /too short/);
  // a flipped byte inside the IDAT data: CRC mismatch
  const flipped = new Uint8Array(good);
  flipped[good.length - 40] ^= 0x55;
  assertImageError(() => decodePng(flipped, inflate), /IDAT chunk is corrupt \(CRC mismatch\)/);
  // a flipped byte in IHDR
  const badHeader = new Uint8Array(good);
  badHeader[17] ^= 1;
  assertImageError(() => decodePng(badHeader, inflate), /IHDR chunk is corrupt/);
  // compressed data that is not zlib, with a valid CRC
  const garbage = concat([good.subarray(0, 33), chunk('IDAT', new Uint8Array(64).fill(7)), chunk('IEND', new Uint8Array(0))]);
  assertImageError(() => decodePng(garbage, inflate), /compressed image data is corrupt/);
  // valid zlib, but too little data for the image
  const short = concat([good.subarray(0, 33), chunk('IDAT', deflateSync(new Uint8Array(100))), chunk('IEND', new Uint8Array(0))]);
  assertImageError(() => decodePng(short, inflate), /image data is too short/);
  // an unknown row filter
  const badFilter = encodePng({ width: 2, height: 2, bitDepth: 8, colorType: 0, rows: [new Uint8Array(2), new Uint8Array(2)], filters: [0, 9] });
  assertImageError(() => decodePng(badFilter, inflate), /unknown row filter type 9 in row 1/);
  // a bad bit depth / colour type combination
  const badDepth = concat([good.subarray(0, 8), ihdr(2, 2, 4, 2), chunk('IEND', new Uint8Array(0))]);
  assertImageError(() => decodePng(badDepth, inflate), /bit depth 4 is not allowed for colour type 2/);
  // an unknown critical chunk
  const critical = concat([good.subarray(0, 33), chunk('ABCD', new Uint8Array(1)), good.subarray(33)]);
  assertImageError(() => decodePng(critical, inflate), /unknown critical chunk ABCD/);
  // palette image without PLTE
  const noPalette = encodePng({ width: 1, height: 1, bitDepth: 8, colorType: 3, rows: [new Uint8Array(1)] });
  assertImageError(() => decodePng(noPalette, inflate), /without a PLTE chunk/);
  // no IDAT
  assertImageError(() => decodePng(concat([good.subarray(0, 33), chunk('IEND', new Uint8Array(0))]), inflate), /no image data/);
});

test('truncated files give clear errors', () => {
  const good = readFileSync(join(fixturesDir(), 'tiny-scout', 'reference', 'images', 'tall.png'));
  for (const cut of [10, 30, 40, Math.floor(good.length / 2), good.length - 12, good.length - 1]) {
    assertImageError(() => decodePng(good.subarray(0, cut), inflate), /truncated/);
  }
});

test('interlaced files are refused with a clear message; huge ones before decoding', () => {
  const interlaced = encodePng({ width: 1, height: 1, bitDepth: 8, colorType: 0, rows: [new Uint8Array(1)], interlace: 1 });
  assert.equal(readPngHeader(interlaced).interlaced, true);
  assertImageError(() => decodePng(interlaced, inflate), /interlaced \(Adam7\) PNG files are not supported/);
  // a 12000×9000 header: refused from the header alone (the inflater is never called)
  const huge = concat([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr(12000, 9000, 8, 6), chunk('IEND', new Uint8Array(0))]);
  assert.deepEqual(readPngHeader(huge), { width: 12000, height: 9000, bitDepth: 8, colorType: 6, interlaced: false });
  assertImageError(
    () => decodePng(huge, () => assert.fail('inflate must not run'), { maxPixels: 50_000_000 }),
    /too large to decode \(12000×9000 pixels; at most 50000000/,
  );
});
