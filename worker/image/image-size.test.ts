import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../testing/fixtures.ts';
import { readImageSize } from './image-size.ts';

test('reads PNG sizes of the fixture images without decoding', () => {
  const dir = join(fixturesDir(), 'tiny-scout/reference/images');
  assert.deepEqual(readImageSize(readFileSync(join(dir, 'wide.png'))), { width: 300, height: 140 });
  assert.deepEqual(readImageSize(readFileSync(join(dir, 'small.png'))), { width: 50, height: 37 });
});

test('reads JPEG, GIF, BMP and WebP (VP8X) headers; unknown bytes give null', () => {
  const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0, 0, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x23, 0x28, 0x2e, 0xe0, 0x03, 0, 0, 0, 0]);
  assert.deepEqual(readImageSize(jpeg), { width: 12000, height: 9000 });
  const gif = new Uint8Array([...'GIF89a'].map((c) => c.charCodeAt(0)).concat([0x2c, 0x01, 0x8c, 0x00]));
  assert.deepEqual(readImageSize(gif), { width: 300, height: 140 });
  const bmp = new Uint8Array(26);
  bmp.set([0x42, 0x4d]);
  new DataView(bmp.buffer).setInt32(18, 640, true);
  new DataView(bmp.buffer).setInt32(22, -480, true);
  assert.deepEqual(readImageSize(bmp), { width: 640, height: 480 });
  const webp = new Uint8Array(30);
  webp.set([...'RIFF'].map((c) => c.charCodeAt(0)));
  webp.set([...'WEBPVP8X'].map((c) => c.charCodeAt(0)), 8);
  webp.set([0x2b, 0x01, 0x00, 0x8b, 0x00, 0x00], 24);
  assert.deepEqual(readImageSize(webp), { width: 300, height: 140 });
  assert.equal(readImageSize(new Uint8Array([1, 2, 3, 4])), null);
});
