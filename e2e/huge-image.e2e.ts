// A huge screenshot (12000×9000) is decoded with downscaling in the worker, never as a full-size float buffer,
// and the model answers about it; the page stays usable.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import type { Browser } from './support/browser.ts';
import { composer, LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, replyTokenIds, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import type { StaticServer } from './support/static-server.ts';
import { closeApp, openApp } from './support/app.ts';
import { TEST_MODEL } from './support/build.ts';
import { paste } from './support/transfer.ts';

/** A 1-bit grayscale PNG with diagonal stripes: 13.5 MB of pixels that deflate to a few kB. */
function hugePng(width: number, height: number): Uint8Array {
  const rowBytes = Math.ceil(width / 8);
  const raw = Buffer.alloc((rowBytes + 1) * height);
  for (let y = 0; y < height; y++) raw.fill(y % 64 < 32 ? 0xf0 : 0x0f, y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
}

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

test('a 12000×9000 screenshot is decoded downscaled and answered', { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS }, async () => {
  await browser.page.goto(`${server.url}?${new URLSearchParams({ temperature: '0', maxNewTokens: '3', ignoreEos: '1', weights: 'q4', model: TEST_MODEL })}`);
  await waitForModel(browser);
  const png = hugePng(12000, 9000);
  const box = composer(browser);
  await paste(box, { files: [{ name: 'huge.png', type: 'image/png', bytes: png }] });
  await box.fill('What is in this screenshot?');
  await box.press('Enter');
  const end = await waitForReplyEnd(browser);
  assert.notEqual(end, null, withLog(browser, 'the reply did not finish'));
  assert.equal((await replyTokenIds(browser)).length, 3, withLog(browser, 'expected three tokens'));
  assert.equal(await browser.page.getByRole('alert').filter({ hasText: /\S/ }).count(), 0, withLog(browser, 'an error was shown'));
});
