// Journey: the page at 1280×800 and on a phone (390×844). Desktop: no 404 or console error on load, the first-run
// note, the model size with its breakdown (download, stored, GPU), statistics above the install form, settings pinned
// by the URL shown as in force, input borders ≥ 3:1, Esc stops a reply, each chat's delete button names its chat, the
// last reply fully visible after a reload. Phone: the composer is pinned to the bottom of one screen, the chat list
// and the panels open as drawers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from './support/browser.ts';
import { closeApp, openApp } from './support/app.ts';
import { composer, lastReply, LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import { contrast, over, pageBackground, parseColour } from './support/contrast.ts';
import type { StaticServer } from './support/static-server.ts';

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

async function startStoppedReply(text: string): Promise<void> {
  const { page } = browser;
  await composer(browser).fill(text);
  await composer(browser).press('Enter');
  await page.waitForFunction(() => (document.querySelector('article[data-state=streaming]')?.getAttribute('data-token-ids') ?? '').split(',').filter(Boolean).length >= 2, null, {
    timeout: REPLY_TIMEOUT_MS,
  });
  await page.keyboard.press('Escape');
  assert.equal(await waitForReplyEnd(browser), 'done');
  assert.equal(await lastReply(browser).getAttribute('data-stop-reason'), 'cancelled', withLog(browser, 'Esc did not stop the reply'));
}

test('desktop 1280×800: clean load, first-run note, panel order, pinned settings, contrast, Esc, delete labels, reload', { timeout: LOAD_TIMEOUT_MS * 2 + REPLY_TIMEOUT_MS * 2 }, async () => {
  const { page } = browser;
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${server.url}?${new URLSearchParams({ temperature: '0', maxNewTokens: '400', ignoreEos: '1' })}`);
  await waitForModel(browser);
  await page.waitForTimeout(1000);
  const bad = browser.log.filter((line) => /^\[http 4\d\d\]|^\[console\.error\]|^\[pageerror\]/.test(line));
  assert.deepEqual(bad, [], withLog(browser, 'errors or 404s in the console on load'));

  const note = page.locator('[data-first-run]');
  assert.match((await note.textContent()) ?? '', /tabscout-tiny.*cannot read long screenshots reliably.*meta-llama\/Llama-4-Scout-17B-16E-Instruct.*62\.4 GB of browser storage.*67\.5 MiB each/s);

  const statsTop = (await page.getByRole('group').filter({ hasText: /^Statistics/ }).boundingBox())?.y ?? (await page.locator('summary', { hasText: 'Statistics' }).boundingBox())!.y;
  const importTop = (await page.getByRole('form', { name: 'Import a model' }).boundingBox())!.y;
  assert.ok(statsTop < importTop, `statistics (${statsTop}) come before the install form (${importTop})`);

  // one size with its breakdown: what a load downloads, what is stored (nothing: a URL model), what the GPU holds
  await page.waitForFunction(() => /at each load/.test(document.querySelector('[data-model-size]')?.textContent ?? ''), null, { timeout: 10_000 }).catch(() => {});
  const size = (await page.locator('[data-model-size]').textContent()) ?? '';
  assert.match(size, /^[\d.]+ [KMG]?Bdownload [\d.]+ [KMG]?B at each load · stored: not installed · GPU [\d.]+ [KMG]?B \(q4\)$/, size);

  // long text (the model's source URL) wraps inside the panels: nothing sticks out sideways
  const overflow = await page.locator('.panels').evaluate((el) => el.scrollWidth - el.clientWidth);
  assert.ok(overflow <= 0, `the panels scroll sideways by ${overflow} px`);
  // ...and so does a long URL without a break in it, here in an import's error
  const importForm = page.getByRole('form', { name: 'Import a model' });
  await importForm.getByLabel('URL', { exact: true }).check();
  const longUrl = `${server.url}/${'a-long-folder-name-without-any-break-'.repeat(8)}/`;
  await importForm.getByLabel('Model folder URL').fill(longUrl);
  await importForm.getByRole('button', { name: 'Import', exact: true }).click();
  const importError = page.locator('.manager-error');
  await importError.waitFor({ timeout: 30_000 });
  assert.ok(((await importError.textContent()) ?? '').includes('a-long-folder-name-without-any-break-'.repeat(8)), `the error names the URL: ${await importError.textContent()}`);
  const wrapped = await page.locator('.panels').evaluate((el) => el.scrollWidth - el.clientWidth);
  assert.ok(wrapped <= 0, `with a long URL on screen the panels scroll sideways by ${wrapped} px`);

  // ?temperature=0 is what is in force: the settings form shows it, read-only
  await page.locator('summary', { hasText: 'Settings' }).click();
  const temperature = page.getByRole('form', { name: 'Settings' }).getByLabel(/^Temperature/);
  assert.equal(await temperature.inputValue(), '0');
  assert.equal(await temperature.evaluate((el: HTMLInputElement) => el.readOnly), true);

  // input borders ≥ 3:1 against the page
  // (the page function is kept free of named helpers: tsx would wrap them in a __name() the page does not have)
  const raw = await page.getByLabel('Model URL').evaluate((el) => [getComputedStyle(el).borderTopColor, getComputedStyle(document.body).backgroundColor]);
  // the border is a translucent mix of the text colour: blend it over the page background
  const pageBg = pageBackground(raw[1]);
  const border = over(parseColour(raw[0]), pageBg);
  assert.ok(contrast(border, pageBg) >= 3, `input border contrast ${contrast(border, pageBg).toFixed(2)}:1 (${raw[0]} on ${pageBg})`);

  // Esc stops a reply; two chats, each delete button names its own chat
  await startStoppedReply('First chat about kernels');
  await page.getByRole('button', { name: 'New chat', exact: true }).click();
  await startStoppedReply('Second chat about tokens');
  const labels = await page.locator('.conversation-delete').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label')));
  assert.equal(labels.length, 2);
  assert.notEqual(labels[0], labels[1], `delete buttons: ${labels.join(' / ')}`);
  assert.ok(labels.every((l) => /^Delete chat: .*chat about/.test(l ?? '')), labels.join(' / '));

  // after a reload the last reply is fully in view
  await page.reload();
  await waitForModel(browser);
  await lastReply(browser).waitFor();
  await page.waitForTimeout(500);
  const [logBox, replyBox] = [await page.getByRole('log', { name: 'Conversation' }).boundingBox(), await lastReply(browser).boundingBox()];
  assert.ok(replyBox!.y >= logBox!.y - 1 && replyBox!.y + replyBox!.height <= logBox!.y + logBox!.height + 1, `last reply ${JSON.stringify(replyBox)} inside the log ${JSON.stringify(logBox)}`);
});

test('phone 390×844: composer pinned to the bottom, chat list and panels in drawers', { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS }, async () => {
  const { page } = browser;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${server.url}?${new URLSearchParams({ temperature: '0', maxNewTokens: '60', ignoreEos: '1' })}`);
  await waitForModel(browser);
  for (const text of ['One more message for the phone', 'And another one to fill the screen']) {
    await composer(browser).fill(text);
    await composer(browser).press('Enter');
    assert.equal(await waitForReplyEnd(browser), 'done');
  }
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height <= 845, `the page is one screen tall, not a long column (${height} px)`);
  const box = (await composer(browser).boundingBox())!;
  assert.ok(box.y > 844 / 2 && box.y + box.height <= 844, `the composer sits at the bottom of the screen: ${JSON.stringify(box)}`);
  assert.equal(await page.getByRole('navigation', { name: 'Conversations' }).isVisible(), false, 'the chat list is folded away');
  assert.equal(await page.getByRole('complementary', { name: /Model, statistics and settings/ }).isVisible(), false, 'the panels are folded away');

  await page.getByRole('button', { name: 'Chats' }).click();
  assert.equal(await page.getByRole('navigation', { name: 'Conversations' }).isVisible(), true, 'Chats opens the chat list');
  assert.equal(await page.getByRole('button', { name: 'Chats' }).getAttribute('aria-expanded'), 'true');
  await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: 'Back to the chat' }).click();
  assert.equal(await page.getByRole('navigation', { name: 'Conversations' }).isVisible(), false);

  await page.getByRole('button', { name: 'Model & settings' }).click();
  const panels = page.getByRole('complementary', { name: /Model, statistics and settings/ });
  assert.equal(await panels.isVisible(), true, 'the panels open as a drawer');
  assert.equal(await panels.getByLabel('Model URL').isVisible(), true);
  await page.keyboard.press('Escape');
  assert.equal(await panels.isVisible(), false, 'Esc closes the drawer');
});
