// A small PNG decoder (for Node tests and as a fallback where createImageBitmap is unavailable): non-interlaced PNGs
// of every colour type — grey (1/2/4/8/16-bit), RGB, palette (1/2/4/8-bit), grey+alpha, RGBA (8/16-bit; 16-bit
// samples keep their high byte) — decoded to RGBA, with tRNS transparency. The zlib inflater is injected: in Node
// pass `zlib.inflateSync`. Every malformed input gives an ImageError that says what is wrong.
import { ImageError } from './errors.ts';

/** Inflates a zlib stream (RFC 1950), e.g. Node's `zlib.inflateSync`. */
export type Inflate = (data: Uint8Array) => Uint8Array;

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row-major */
  data: Uint8Array;
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

export interface DecodePngOptions {
  /** refuse images with more pixels than this (default 2^27, about 134 megapixels: 512 MiB of RGBA) */
  maxPixels?: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

const bad = (what: string) => new ImageError(`not a valid PNG file: ${what}`);

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Reads and checks the IHDR chunk only (cheap: lets a caller refuse huge images before decoding). */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  if (!isPng(bytes)) throw new ImageError(bytes.length < 8 ? 'the file is too short to be an image' : 'not a PNG file (the signature is wrong)');
  if (bytes.length < 8 + 8 + 13 + 4) throw bad('the file is truncated (no complete IHDR chunk)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = dv.getUint32(8);
  const type = chunkType(bytes, 12);
  if (type !== 'IHDR' || length !== 13) throw bad('the first chunk is not a 13-byte IHDR');
  checkCrc(bytes, dv, 8, length, type);
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const bitDepth = bytes[24];
  const colorType = bytes[25];
  const compression = bytes[26];
  const filter = bytes[27];
  const interlace = bytes[28];
  if (width === 0 || height === 0) throw new ImageError(`the image is empty (${width}×${height} pixels)`);
  if (width > 0x7fffffff || height > 0x7fffffff) throw bad(`the size ${width}×${height} is out of range`);
  if (!(colorType in CHANNELS)) throw bad(`unknown colour type ${colorType}`);
  if (!DEPTHS[colorType].includes(bitDepth)) throw bad(`bit depth ${bitDepth} is not allowed for colour type ${colorType}`);
  if (compression !== 0) throw bad(`unknown compression method ${compression}`);
  if (filter !== 0) throw bad(`unknown filter method ${filter}`);
  if (interlace > 1) throw bad(`unknown interlace method ${interlace}`);
  return { width, height, bitDepth, colorType, interlaced: interlace === 1 };
}

/** Decodes a PNG file to RGBA. */
export function decodePng(bytes: Uint8Array, inflate: Inflate, options: DecodePngOptions = {}): DecodedImage {
  const header = readPngHeader(bytes);
  const { width, height, bitDepth, colorType } = header;
  if (header.interlaced) throw new ImageError('interlaced (Adam7) PNG files are not supported; save the image without interlacing');
  const maxPixels = options.maxPixels ?? 2 ** 27;
  if (width * height > maxPixels) {
    throw new ImageError(`the image is too large to decode (${width}×${height} pixels; at most ${maxPixels} are allowed)`);
  }

  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  let ended = false;
  let pos = 8 + 12 + 13;
  while (pos < bytes.length) {
    if (pos + 8 > bytes.length) throw bad('the file is truncated (in a chunk header)');
    const length = dv.getUint32(pos);
    const type = chunkType(bytes, pos + 4);
    if (!/^[A-Za-z]{4}$/.test(type)) throw bad(`corrupt chunk type at byte ${pos + 4}`);
    if (length > 0x7fffffff || pos + 12 + length > bytes.length) throw bad(`the file is truncated (in the ${type} chunk)`);
    checkCrc(bytes, dv, pos, length, type);
    const body = bytes.subarray(pos + 8, pos + 8 + length);
    pos += 12 + length;
    if (type === 'IEND') {
      ended = true;
      break;
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'PLTE') {
      if (length === 0 || length % 3 !== 0 || length > 256 * 3) throw bad(`the palette has ${length} bytes`);
      palette = body;
    } else if (type === 'tRNS') {
      trns = body;
    } else if (type === 'IHDR') {
      throw bad('a second IHDR chunk');
    } else if ((type.charCodeAt(0) & 0x20) === 0) {
      throw bad(`unknown critical chunk ${type}`);
    }
  }
  if (!ended) throw bad('the file is truncated (no IEND chunk)');
  if (idat.length === 0) throw bad('there is no image data (IDAT chunk)');
  if (colorType === 3 && !palette) throw bad('a palette image without a PLTE chunk');

  const compressed = concat(idat);
  let raw: Uint8Array;
  try {
    raw = inflate(compressed);
  } catch (e) {
    throw bad(`the compressed image data is corrupt (${(e as Error).message})`);
  }
  const channels = CHANNELS[colorType];
  const bitsPerPixel = channels * bitDepth;
  const rowBytes = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const expected = height * (rowBytes + 1);
  if (raw.length < expected) throw bad(`the image data is too short (${raw.length} bytes after decompression, ${expected} needed)`);

  unfilter(raw, height, rowBytes, bpp);
  return { width, height, data: toRgba(raw, header, rowBytes, palette, trns) };
}

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

let crcTable: Uint32Array | null = null;

function crc32(bytes: Uint8Array, begin: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = begin; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function checkCrc(bytes: Uint8Array, dv: DataView, pos: number, length: number, type: string): void {
  const stored = dv.getUint32(pos + 8 + length);
  if (crc32(bytes, pos + 4, pos + 8 + length) !== stored) throw bad(`the ${type} chunk is corrupt (CRC mismatch)`);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reverses the per-row filters in place; row r's bytes end up at raw[r·(rowBytes+1)+1 …]. */
function unfilter(raw: Uint8Array, height: number, rowBytes: number, bpp: number): void {
  const stride = rowBytes + 1;
  for (let y = 0; y < height; y++) {
    const at = y * stride + 1;
    const prev = at - stride; // previous row's data (only read when y > 0)
    const filter = raw[at - 1];
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++) raw[at + i] = (raw[at + i] + raw[at + i - bpp]) & 0xff;
        break;
      case 2:
        if (y > 0) for (let i = 0; i < rowBytes; i++) raw[at + i] = (raw[at + i] + raw[prev + i]) & 0xff;
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? raw[at + i - bpp] : 0;
          const up = y > 0 ? raw[prev + i] : 0;
          raw[at + i] = (raw[at + i] + ((left + up) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? raw[at + i - bpp] : 0;
          const b = y > 0 ? raw[prev + i] : 0;
          const c = i >= bpp && y > 0 ? raw[prev + i - bpp] : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          raw[at + i] = (raw[at + i] + pred) & 0xff;
        }
        break;
      default:
        throw bad(`unknown row filter type ${filter} in row ${y}`);
    }
  }
}

function toRgba(raw: Uint8Array, h: PngHeader, rowBytes: number, palette: Uint8Array | null, trns: Uint8Array | null): Uint8Array {
  const { width, height, bitDepth, colorType } = h;
  const out = new Uint8Array(width * height * 4);
  const stride = rowBytes + 1;
  const wide = bitDepth === 16;
  const step = wide ? 2 : 1; // bytes per sample at depth ≥ 8
  const sample16 = (at: number) => (raw[at] << 8) | raw[at + 1];
  for (let y = 0; y < height; y++) {
    const row = y * stride + 1;
    let o = y * width * 4;
    if (colorType === 0 || colorType === 3) {
      const max = (1 << bitDepth) - 1;
      const trnsGray = colorType === 0 && trns && trns.length >= 2 ? (trns[0] << 8) | trns[1] : -1;
      for (let x = 0; x < width; x++, o += 4) {
        let v: number;
        if (bitDepth < 8) {
          const bit = x * bitDepth;
          v = (raw[row + (bit >> 3)] >> (8 - bitDepth - (bit & 7))) & max;
        } else {
          v = wide ? sample16(row + x * 2) : raw[row + x];
        }
        if (colorType === 3) {
          if (v * 3 + 2 >= palette!.length) throw bad(`palette index ${v} is out of range (${palette!.length / 3} colours)`);
          out[o] = palette![v * 3];
          out[o + 1] = palette![v * 3 + 1];
          out[o + 2] = palette![v * 3 + 2];
          out[o + 3] = trns && v < trns.length ? trns[v] : 255;
        } else {
          const g = wide ? v >> 8 : bitDepth < 8 ? Math.round((v * 255) / max) : v;
          out[o] = out[o + 1] = out[o + 2] = g;
          out[o + 3] = v === trnsGray ? 0 : 255;
        }
      }
    } else if (colorType === 2) {
      const key = trns && trns.length >= 6 ? [(trns[0] << 8) | trns[1], (trns[2] << 8) | trns[3], (trns[4] << 8) | trns[5]] : null;
      for (let x = 0; x < width; x++, o += 4) {
        const at = row + x * 3 * step;
        if (wide) {
          const r = sample16(at);
          const g = sample16(at + 2);
          const b = sample16(at + 4);
          out[o] = r >> 8;
          out[o + 1] = g >> 8;
          out[o + 2] = b >> 8;
          out[o + 3] = key && r === key[0] && g === key[1] && b === key[2] ? 0 : 255;
        } else {
          out[o] = raw[at];
          out[o + 1] = raw[at + 1];
          out[o + 2] = raw[at + 2];
          out[o + 3] = key && raw[at] === key[0] && raw[at + 1] === key[1] && raw[at + 2] === key[2] ? 0 : 255;
        }
      }
    } else if (colorType === 4) {
      for (let x = 0; x < width; x++, o += 4) {
        const at = row + x * 2 * step;
        out[o] = out[o + 1] = out[o + 2] = raw[at];
        out[o + 3] = raw[at + step];
      }
    } else {
      // colour type 6: RGBA
      for (let x = 0; x < width; x++, o += 4) {
        const at = row + x * 4 * step;
        out[o] = raw[at];
        out[o + 1] = raw[at + step];
        out[o + 2] = raw[at + 2 * step];
        out[o + 3] = raw[at + 3 * step];
      }
    }
  }
  return out;
}
