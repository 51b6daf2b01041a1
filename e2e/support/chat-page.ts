// Steps of the chat page that journeys share, with failure messages that carry the browser log.
import assert from 'node:assert/strict';
import type { Browser } from './browser.ts';

export const LOAD_TIMEOUT_MS = 120_000;
export const REPLY_TIMEOUT_MS = 240_000;

export function withLog(browser: Browser, what: string): string {
  return `${what}\n--- browser log ---\n${browser.log.join('\n')}`;
}

/** Waits until the model status leaves starting/loading and asserts it is ready; returns the status text. */
export async function waitForModel(browser: Browser): Promise<string> {
  const { page } = browser;
  await page
    .waitForFunction(
      () => !['starting', 'loading'].includes(document.querySelector('[role=status]')?.getAttribute('data-state') ?? 'starting'),
      null,
      { timeout: LOAD_TIMEOUT_MS },
    )
    .catch(async (error: Error) => {
      const status = await page.getByRole('status').textContent().catch(() => '?');
      const notice = await page.locator('[data-notice]').textContent().catch(() => '');
      assert.fail(withLog(browser, `model did not finish loading: ${error.message}\nstatus: ${status}\nnotice: ${notice}`));
    });
  const status = page.getByRole('status');
  const state = await status.getAttribute('data-state');
  const text = (await status.textContent()) ?? '';
  assert.equal(state, 'ready', withLog(browser, `model status is "${state}": ${text}`));
  return text;
}

export function composer(browser: Browser) {
  return browser.page.getByRole('textbox', { name: 'Message' });
}

export function lastReply(browser: Browser) {
  return browser.page.getByRole('article', { name: /^Assistant/ }).last();
}

/** Waits until the last assistant reply stops streaming; returns its final data-state. */
export async function waitForReplyEnd(browser: Browser): Promise<string | null> {
  await lastReply(browser).waitFor({ timeout: 10_000 });
  await browser.page
    .waitForFunction(
      () => {
        const replies = [...document.querySelectorAll('article')].filter((a) => a.getAttribute('aria-label')?.startsWith('Assistant'));
        return replies.at(-1)?.getAttribute('data-state') !== 'streaming';
      },
      null,
      { timeout: REPLY_TIMEOUT_MS },
    )
    .catch((error: Error) => assert.fail(withLog(browser, `reply did not finish: ${error.message}`)));
  return lastReply(browser).getAttribute('data-state');
}

export async function replyTokenIds(browser: Browser): Promise<number[]> {
  const attribute = (await lastReply(browser).getAttribute('data-token-ids')) ?? '';
  return attribute.split(',').filter(Boolean).map(Number);
}

/** The last reply's text as the model wrote it (the page shows it rendered as Markdown). */
export async function replyText(browser: Browser): Promise<string> {
  return (await lastReply(browser).getAttribute('data-text')) ?? '';
}
