// Journeys with images: a screenshot pasted into the composer through a real paste event is read by the vision
// tower tile by tile (progress in the status line) and, with greedy sampling and f32 weights, the reply streams
// exactly the Hugging Face reference's greedy tokens for the `image_wide` case. Bad input (text, non-image files,
// a corrupt or 0×0 PNG, a model loaded without its vision tower) gives a clear message, the message is not lost,
// and the chat keeps working.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fixturesDir } from '../testing/fixtures.ts';
import type { Browser } from './support/browser.ts';
import { TEST_MODEL } from './support/build.ts';
import { composer, LOAD_TIMEOUT_MS, lastReply, REPLY_TIMEOUT_MS, replyText, replyTokenIds, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import { decodeTokens, readInt32Tensor } from './support/reference.ts';
import type { StaticServer } from './support/static-server.ts';
import { closeApp, openApp } from './support/app.ts';
import { drop, paste } from './support/transfer.ts';

const REFERENCE = join(fixturesDir(), 'tiny-scout', 'reference');
const TENSORS = join(REFERENCE, 'tensors.safetensors');
const TOKENIZER = readFileSync(join(fixturesDir(), 'tiny-scout', 'model', 'tokenizer.json'), 'utf8');

interface Case {
  name: string;
  image?: string;
  num_tiles?: number;
  messages?: { role: string; content: { type: string; text?: string }[] }[];
}
const cases = (JSON.parse(readFileSync(join(REFERENCE, 'cases.json'), 'utf8')) as { cases: Case[] }).cases;
const wide = cases.find((c) => c.name === 'image_wide');
if (!wide?.messages || !wide.image || !wide.num_tiles) throw new Error(`${REFERENCE}/cases.json has no image_wide case with messages, image and num_tiles`);
assert.deepEqual(
  wide.messages.map((m) => [m.role, m.content.map((part) => part.type)]),
  [['user', ['image', 'text']]],
  'image_wide is one user message: the image, then the text, no system prompt',
);
const QUESTION = wide.messages[0].content[1].text ?? '';
const TILES = wide.num_tiles;
const WIDE_PNG = new Uint8Array(readFileSync(join(REFERENCE, wide.image)));
const WIDE_FILE = { name: 'wide.png', type: 'image/png', bytes: WIDE_PNG };

const MAX_NEW_TOKENS = 12;
const QUERY = new URLSearchParams({ temperature: '0', maxNewTokens: String(MAX_NEW_TOKENS), ignoreEos: '1', weights: 'f32', model: TEST_MODEL });
const TIMEOUT = LOAD_TIMEOUT_MS + 2 * REPLY_TIMEOUT_MS;

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

/** Opens the page (the previous test's conversation is restored from IndexedDB) and starts a new chat. */
async function openChat(query = QUERY): Promise<void> {
  await browser.page.goto(`${server.url}?${query}`);
  await waitForModel(browser);
  await browser.page.getByRole('button', { name: 'New chat', exact: true }).click();
}

/** Starts recording every text the status line shows (read back with statusTexts). */
async function recordStatus(): Promise<void> {
  await browser.page.evaluate(() => {
    const status = document.querySelector('[role=status]')!;
    const seen: string[] = [status.textContent ?? ''];
    (window as unknown as { statusTexts: string[] }).statusTexts = seen;
    new MutationObserver(() => {
      const text = status.textContent ?? '';
      if (seen.at(-1) !== text) seen.push(text);
    }).observe(status, { subtree: true, childList: true, characterData: true });
  });
}

/** Starts recording what the pending reply says before its first token (read back with pendingTexts). */
async function recordPending(): Promise<void> {
  await browser.page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { pendingTexts: string[] }).pendingTexts = seen;
    new MutationObserver(() => {
      const text = document.querySelector('[data-reply-pending]')?.textContent;
      if (text && seen.at(-1) !== text) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

const pendingTexts = () => browser.page.evaluate(() => (window as unknown as { pendingTexts: string[] }).pendingTexts);
const statusTexts = () => browser.page.evaluate(() => (window as unknown as { statusTexts: string[] }).statusTexts);
const alert = () => browser.page.getByRole('alert');
const removeButtons = () => browser.page.getByRole('button', { name: /^Remove image \d+$/ });
const userMessages = () => browser.page.getByRole('article', { name: /^You/ });

async function waitForAlert(pattern: RegExp, what: string): Promise<string> {
  await alert()
    .filter({ hasText: pattern })
    .waitFor({ timeout: 60_000 })
    .catch(async (error: Error) => assert.fail(withLog(browser, `${what}: no alert matching ${pattern} (alert: "${await alert().textContent()}"): ${error.message}`)));
  return (await alert().textContent()) ?? '';
}

test('a pasted screenshot is read tile by tile and the reply is the reference greedy tokens (f32)', { timeout: TIMEOUT }, async () => {
  const { page } = browser;
  const expectedIds = readInt32Tensor(TENSORS, 'image_wide.generated_ids');
  assert.equal(expectedIds.length, MAX_NEW_TOKENS);
  await openChat();
  await recordStatus();
  await recordPending();

  const box = composer(browser);
  await box.focus();
  const pasted = await paste(box, { files: [WIDE_FILE] });
  assert.equal(pasted.defaultPrevented, true, 'an image paste is taken by the page, not pasted as text');
  await page.getByRole('button', { name: 'Remove image 1' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByRole('list', { name: 'Attached images' }).getByRole('img').count(), 1, 'one thumbnail in the composer');
  assert.equal(await alert().textContent(), '', 'no error after pasting a PNG');

  await box.fill(QUESTION);
  await box.press('Enter');
  const state = await waitForReplyEnd(browser);
  assert.equal(state, 'done', withLog(browser, `reply ended in state ${state}: ${await lastReply(browser).textContent()}`));

  const ids = await replyTokenIds(browser);
  assert.deepEqual(ids, expectedIds, withLog(browser, 'image_wide: streamed token ids differ from the reference greedy ids'));
  const text = await replyText(browser);
  assert.equal(text, decodeTokens(TOKENIZER, expectedIds), 'streamed text is the decode of the reference ids');

  const seen = await statusTexts();
  const tiles = seen.filter((s) => /^Reading image: tile \d+ of \d+$/.test(s));
  assert.ok(tiles.length > 0, `the status line showed tile progress; it showed: ${JSON.stringify(seen)}`);
  for (const s of tiles) assert.match(s, new RegExp(`of ${TILES}$`), `progress counts the ${TILES} tiles of image_wide`);
  assert.match(seen.at(-1) ?? '', /^Ready: /, `the status line is back to the model summary: ${JSON.stringify(seen)}`);
  const pending = (await pendingTexts()).filter((s) => /^Reading image: tile \d+ of \d+$/.test(s));
  assert.ok(pending.length > 0, `the pending reply showed the tiles being read; it showed: ${JSON.stringify(await pendingTexts())}`);
  // the engine says when it starts reading the new image (before its first tile is done)
  assert.ok((await pendingTexts()).includes('Reading image…'), `the pending reply said the image is being read; it showed: ${JSON.stringify(await pendingTexts())}`);

  // The sent message keeps its image, and the composer is empty again.
  const sent = userMessages().last();
  assert.match((await sent.textContent()) ?? '', new RegExp(QUESTION.replace(/[?]/g, '\\?')));
  const image = sent.getByRole('img');
  assert.equal(await image.count(), 1, 'the sent message shows its image');
  await page.waitForFunction((img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0, await image.elementHandle(), { timeout: 10_000 });
  assert.deepEqual(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]), [300, 140]);
  assert.equal(await box.inputValue(), '', 'the composer is cleared after sending');
  assert.equal(await removeButtons().count(), 0, 'no thumbnails left in the composer');
});

test('bad input gives a clear message, keeps the message and the chat keeps working', { timeout: TIMEOUT }, async () => {
  const { page } = browser;
  await openChat();
  const box = composer(browser);
  const draft = 'Describe this picture.';
  await box.fill(draft);

  // Text only on the clipboard: the browser's own text paste, no attachment, no message.
  const text = await paste(box, { text: 'just words' });
  assert.equal(text.defaultPrevented, false, 'a text paste is left to the browser');
  assert.equal(await removeButtons().count(), 0);
  assert.equal(await alert().textContent(), '');

  // A non-image file, dropped or pasted: refused with a message, nothing attached.
  await drop(box, { files: [{ name: 'notes.txt', type: 'text/plain', bytes: new TextEncoder().encode('hello') }] });
  assert.match(await waitForAlert(/not an image/, 'dropped .txt'), /That file is not an image: notes\.txt/);
  await paste(box, { files: [{ name: 'report.pdf', type: 'application/pdf', bytes: new TextEncoder().encode('%PDF-1.4') }] });
  await waitForAlert(/not an image: report\.pdf/, 'pasted .pdf');
  assert.equal(await removeButtons().count(), 0, 'non-image files are not attached');

  // A corrupt PNG (cut after 100 bytes): refused when it is attached (not after Send), with the message; the text
  // stays in the composer and nothing was sent.
  await paste(box, { files: [{ name: 'broken.png', type: 'image/png', bytes: WIDE_PNG.subarray(0, 100) }] });
  const corrupt = await waitForAlert(/broken\.png/, 'corrupt PNG');
  assert.match(corrupt, /Image 1 \(broken\.png\) could not be read as an image/);
  assert.equal(await removeButtons().count(), 0, 'the unreadable image is not attached');
  assert.equal(await box.inputValue(), draft, 'the text stays in the composer');
  assert.equal(await userMessages().count(), 0, 'nothing was sent');
  assert.equal(await page.getByRole('article', { name: /^Assistant/ }).count(), 0);

  // A 0×0 PNG next to a good one: refused when attached, naming the bad image; the good one stays.
  const empty = WIDE_PNG.slice();
  empty.fill(0, 16, 24); // IHDR width and height
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach image' }).click();
  await (await chooser).setFiles({ name: 'wide.png', mimeType: 'image/png', buffer: Buffer.from(WIDE_PNG) });
  await page.getByRole('button', { name: 'Remove image 1' }).waitFor({ timeout: 10_000 });
  assert.equal(await alert().textContent(), '', 'a good attachment clears the previous message');
  await paste(box, { files: [{ name: 'empty.png', type: 'image/png', bytes: empty }] });
  assert.match(await waitForAlert(/empty\.png/, '0×0 PNG'), /Image 2 \(empty\.png\) has no pixels \(0×0\)/);
  assert.equal(await box.inputValue(), draft);
  assert.equal(await removeButtons().count(), 1, 'the picked image stays, the empty one is not attached');

  // Fixed: the same message with the good image goes through.
  await box.press('Enter');
  const state = await waitForReplyEnd(browser);
  assert.equal(state, 'done', withLog(browser, `reply after fixing the message ended in state ${state}: ${await lastReply(browser).textContent()}`));
  assert.equal((await replyTokenIds(browser)).length, MAX_NEW_TOKENS);
  assert.equal(await userMessages().count(), 1);
  assert.equal(await userMessages().last().getByRole('img').count(), 1);
  assert.equal(await alert().textContent(), '', 'sending clears the message');
});

test('a model loaded without its vision tower says so and keeps the message', { timeout: TIMEOUT }, async () => {
  const { page } = browser;
  const query = new URLSearchParams(QUERY);
  query.set('vision', '0');
  await openChat(query);
  const box = composer(browser);
  await paste(box, { files: [WIDE_FILE] });
  await box.fill(QUESTION);
  await box.press('Enter');
  assert.match(await waitForAlert(/vision tower/, 'no vision tower'), /This model has no vision tower/);
  assert.equal(await box.inputValue(), QUESTION);
  assert.equal(await removeButtons().count(), 1);

  // Without the image the same model answers.
  await page.getByRole('button', { name: 'Remove image 1' }).click();
  await box.press('Enter');
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'text reply after removing the image'));
  assert.equal((await replyTokenIds(browser)).length, MAX_NEW_TOKENS);
});
