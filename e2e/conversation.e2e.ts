// Journeys of a conversation: regenerate, edit and ask again, settings and history kept across reloads, the
// conversation list, a reply cut by a reload (crash) restored as interrupted, and untrusted Markdown rendered safely.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from './support/browser.ts';
import { composer, LOAD_TIMEOUT_MS, lastReply, REPLY_TIMEOUT_MS, replyText, replyTokenIds, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import type { StaticServer } from './support/static-server.ts';
import { closeApp, openApp } from './support/app.ts';
import { TEST_MODEL } from './support/build.ts';

const SHORT = 6;
const QUERY = new URLSearchParams({ temperature: '0', maxNewTokens: String(SHORT), ignoreEos: '1', model: TEST_MODEL });
const TIMEOUT = LOAD_TIMEOUT_MS + 4 * REPLY_TIMEOUT_MS;

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

const replies = () => browser.page.getByRole('article', { name: /^Assistant/ });
const userMessages = () => browser.page.getByRole('article', { name: /^You/ });
const button = (name: string) => browser.page.getByRole('button', { name, exact: true });
const conversationLinks = () => browser.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link');

async function open(query = QUERY): Promise<void> {
  await browser.page.goto(`${server.url}?${query}`);
  await waitForModel(browser);
}

async function ask(text: string): Promise<void> {
  await composer(browser).fill(text);
  await composer(browser).press('Enter');
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, `reply to "${text}"`));
}

test('regenerate, edit and resend, settings and history survive a reload, conversation list', { timeout: TIMEOUT }, async () => {
  const { page } = browser;
  await open();
  await ask('Hello there');
  const first = await replyTokenIds(browser);
  assert.equal(first.length, SHORT);

  // Regenerate replaces the last reply (greedy: the same tokens again).
  await button('Regenerate').click();
  assert.equal(await waitForReplyEnd(browser), 'done');
  assert.equal(await replies().count(), 1, 'regenerate replaces the reply');
  assert.deepEqual(await replyTokenIds(browser), first);

  // Edit the last message and ask again: the message changes, its reply is replaced.
  await button('Edit').click();
  const editor = page.getByRole('textbox', { name: 'Edited text' });
  await editor.fill('Hi again');
  await editor.press('Enter');
  assert.equal(await waitForReplyEnd(browser), 'done');
  assert.equal(await userMessages().count(), 1);
  assert.match((await userMessages().first().textContent()) ?? '', /Hi again/);
  assert.equal(await replies().count(), 1);
  assert.notDeepEqual(await replyTokenIds(browser), first, 'another question, another greedy reply');

  // Settings: system prompt and top-p, saved in the browser.
  await page.locator('summary', { hasText: 'Settings' }).click();
  await page.getByLabel('System prompt').fill('Answer in one word.');
  await page.getByLabel('Top-p').fill('0.5');
  await page.getByLabel('GPU memory for experts (MiB, 0 = automatic)').fill('2048');
  await button('Save settings').click();
  await page.getByText('Settings saved.').waitFor({ timeout: 5_000 });

  // The stats panel shows the last reply's speed and the model's GPU memory; expert figures are not made up.
  assert.match((await page.locator('[data-stat="Decode"]').textContent()) ?? '', /tok\/s/);
  assert.match((await page.locator('[data-stat="GPU memory (model weights)"]').textContent()) ?? '', /\d+(\.\d)? (KB|MB)/);
  assert.match((await page.locator('[data-stat="expert-cache"]').textContent()) ?? '', /not available for this model/);

  // Reload: the conversation and the settings are back.
  const replyBefore = await replyText(browser);
  await open();
  await lastReply(browser).waitFor({ timeout: 10_000 });
  assert.equal(await userMessages().count(), 1, withLog(browser, 'conversation restored after reload'));
  assert.match((await userMessages().first().textContent()) ?? '', /Hi again/);
  assert.equal(await replyText(browser), replyBefore);
  assert.equal(await lastReply(browser).getAttribute('data-state'), 'done');
  await page.locator('summary', { hasText: 'Settings' }).click();
  assert.equal(await page.getByLabel('System prompt').inputValue(), 'Answer in one word.');
  assert.equal(await page.getByLabel('Top-p').inputValue(), '0.5');
  assert.equal(await page.getByLabel('GPU memory for experts (MiB, 0 = automatic)').inputValue(), '2048');

  // The system prompt is used: the same question now gets another greedy reply.
  await button('Regenerate').click();
  assert.equal(await waitForReplyEnd(browser), 'done');
  assert.notEqual(await replyText(browser), replyBefore, 'the saved system prompt changes the greedy reply');

  // A new chat, then back to the first one through the list.
  await button('New chat').click();
  assert.equal(await replies().count(), 0);
  await ask('Second chat');
  await page.waitForFunction(() => document.querySelectorAll('nav[aria-label=Conversations] a').length === 2, null, { timeout: 5_000 });
  await conversationLinks().filter({ hasText: 'Hi again' }).click();
  await page.waitForFunction(() => document.querySelector('article[aria-label^=You]')?.textContent?.includes('Hi again'), null, { timeout: 5_000 });
  assert.equal(await userMessages().count(), 1);
});

test('a reply cut off by a reload is restored as interrupted, with the text saved so far', { timeout: TIMEOUT }, async () => {
  const { page } = browser;
  await open(new URLSearchParams({ temperature: '0', maxNewTokens: '400', ignoreEos: '1', model: TEST_MODEL }));
  await button('New chat').click();
  await composer(browser).fill('Tell me a long story.');
  await composer(browser).press('Enter');
  // Saved about once a second while streaming: wait for a save with text in it.
  await page.waitForFunction(() => (document.querySelector('article[data-state=streaming]')?.getAttribute('data-token-ids') ?? '').split(',').length > 8, null, {
    timeout: REPLY_TIMEOUT_MS,
  });
  await page.waitForTimeout(1500);
  await open();
  await lastReply(browser).waitFor({ timeout: 10_000 });
  assert.equal(await lastReply(browser).getAttribute('data-state'), 'interrupted', withLog(browser, 'restored reply state'));
  assert.match((await lastReply(browser).textContent()) ?? '', /Interrupted/);
  assert.ok((await replyText(browser)).length > 0, 'the text streamed before the reload is kept');
  assert.ok((await button('Regenerate').count()) === 1, 'an interrupted reply can be regenerated');
});

test('model output is rendered as sanitized Markdown with copy buttons', { timeout: TIMEOUT }, async () => {
  const { page } = browser;
  await open();
  // A stored conversation whose reply carries HTML and script: restored as any other conversation would be.
  const evil =
    'Here is **bold** and a [link](https://example.com) and [bad](javascript:alert(1)).\n\n' +
    '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>\n\n' +
    '```js\nconsole.log("<b>hi</b>");\n```\n';
  await page.evaluate(async (text) => {
    const db = await new Promise<IDBDatabase>((done, fail) => {
      const request = indexedDB.open('tabscout-app');
      request.onsuccess = () => done(request.result);
      request.onerror = () => fail(request.error);
    });
    const now = Date.now();
    const conversation = {
      id: 'evil',
      title: 'Markdown',
      createdAt: now,
      updatedAt: now,
      turns: [
        { id: 'u', role: 'user', text: 'Show me markdown', imageKeys: [], imageNames: [] },
        { id: 'a', role: 'assistant', text, tokenIds: [], state: 'done' },
      ],
    };
    await new Promise<void>((done, fail) => {
      const tx = db.transaction('keyval', 'readwrite');
      const store = tx.objectStore('keyval');
      store.put(conversation, 'conversation:evil');
      store.put('evil', 'activeConversation');
      store.put([{ id: 'evil', title: 'Markdown', updatedAt: now }], 'conversations');
      tx.oncomplete = () => done();
      tx.onerror = () => fail(tx.error);
    });
    db.close();
  }, evil);
  await open();
  const reply = lastReply(browser);
  await reply.locator('strong').waitFor({ timeout: 10_000 });
  assert.equal(await reply.locator('strong').textContent(), 'bold');
  assert.equal(await reply.locator('img, script').count(), 0, 'no HTML from the model reaches the page');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  assert.match((await reply.textContent()) ?? '', /<img src=x/, 'raw HTML is shown as text');
  const links = reply.getByRole('link');
  assert.equal(await links.first().getAttribute('href'), 'https://example.com');
  assert.equal(await links.first().getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await reply.locator('a[href^="javascript"]').count(), 0, 'javascript: links are dropped');
  assert.equal(await reply.locator('pre code').textContent(), 'console.log("<b>hi</b>");\n');
  assert.equal(await reply.getByRole('button', { name: 'Copy code block 1' }).count(), 1);
  assert.equal(await reply.getByRole('button', { name: 'Copy reply' }).count(), 1);
});
