// Journeys: the main thread stays responsive while a reply streams (no long task), and the app recovers from a
// lost GPU device and from a crashed worker in the middle of a reply: the engine comes back, the conversation and
// settings are intact, the cut reply is marked interrupted, the user is told, and the next question is answered.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from './support/browser.ts';
import { composer, LOAD_TIMEOUT_MS, lastReply, REPLY_TIMEOUT_MS, replyTokenIds, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import { deprioritizeGpuAndWorkers } from './support/cpu-priority.ts';
import type { StaticServer } from './support/static-server.ts';
import { closeApp, openApp } from './support/app.ts';
import { TEST_MODEL } from './support/build.ts';

const TIMEOUT = LOAD_TIMEOUT_MS + 3 * REPLY_TIMEOUT_MS;

let server: StaticServer;
let browser: Browser;
before(async () => ({ server, browser } = await openApp()));
after(() => closeApp(server, browser));

const button = (name: string) => browser.page.getByRole('button', { name, exact: true });

async function open(maxNewTokens: number): Promise<void> {
  const query = new URLSearchParams({ temperature: '0', maxNewTokens: String(maxNewTokens), ignoreEos: '1', testHooks: '1', model: TEST_MODEL });
  await browser.page.goto(`${server.url}?${query}`);
  await waitForModel(browser);
  await button('New chat').click();
}

/** Sends a message and waits until the reply has streamed `tokens` tokens. */
async function startReply(text: string, tokens: number): Promise<void> {
  await composer(browser).fill(text);
  await composer(browser).press('Enter');
  await browser.page
    .waitForFunction(
      (n) => (document.querySelector('article[data-state=streaming]')?.getAttribute('data-token-ids') ?? '').split(',').filter(Boolean).length >= n,
      tokens,
      { timeout: REPLY_TIMEOUT_MS },
    )
    .catch((error: Error) => assert.fail(withLog(browser, `the reply did not stream: ${error.message}`)));
}

test('no long task on the main thread while a reply streams', { timeout: TIMEOUT }, async () => {
  const { page } = browser;
  const TOKENS = 120;
  await open(TOKENS);
  // SwiftShader computes the "GPU" work on the same two cores as the page, and the engine's worker shares them too:
  // give the main thread the CPU first, as a user's machine (a real GPU, more cores) would.
  const reniced = deprioritizeGpuAndWorkers();
  assert.ok(reniced.gpuThreads > 0 && reniced.workerThreads > 0, `found this test's GPU process and engine worker: ${JSON.stringify(reniced)}`);
  assert.ok(await page.evaluate(() => PerformanceObserver.supportedEntryTypes.includes('longtask')), 'this Chromium reports long tasks');
  await page.evaluate(() => {
    const tasks: { start: number; duration: number }[] = [];
    (window as unknown as { longTasks: typeof tasks }).longTasks = tasks;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) tasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: 'longtask' });
    // Long animation frames name the scripts that ran in them: printed when the test fails.
    const frames: unknown[] = [];
    (window as unknown as { longFrames: unknown[] }).longFrames = frames;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as (PerformanceEntry & { blockingDuration: number; scripts: { invoker: string; sourceURL: string; sourceCharPosition: number; duration: number }[] })[]) {
        if (entry.blockingDuration > 0) {
          const scripts = entry.scripts.map((x) => `${x.invoker} ${x.sourceURL}:${x.sourceCharPosition} ${Math.round(x.duration)} ms`);
          frames.push({ start: Math.round(entry.startTime), duration: Math.round(entry.duration), scripts });
        }
      }
    }).observe({ type: 'long-animation-frame' });
  });
  const from = await page.evaluate(() => performance.now());
  await composer(browser).fill('Write a long answer with some *markdown* in it.');
  // Wait inside the page with a MutationObserver: Playwright's own polling (a script run every animation frame)
  // would add main-thread tasks of its own to what is measured.
  const ended = page.evaluate(
    () =>
      new Promise<string>((done) => {
        new MutationObserver((_, observer) => {
          const state = document.querySelector('article[aria-label^=Assistant]:last-of-type')?.getAttribute('data-state');
          if (state && state !== 'streaming') {
            observer.disconnect();
            done(state);
          }
        }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'], childList: true });
      }),
  );
  await composer(browser).press('Enter');
  assert.equal(await ended, 'done', withLog(browser, 'streamed reply'));
  assert.equal((await replyTokenIds(browser)).length, TOKENS);
  const to = await page.evaluate(() => performance.now());
  await page.waitForTimeout(200); // let the observer deliver the last entries
  const tasks = await page.evaluate(() => (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks);
  const during = tasks.filter((t) => t.start >= from && t.start <= to);
  const frames = await page.evaluate(() => (window as unknown as { longFrames: unknown[] }).longFrames);
  assert.deepEqual(during, [], `long tasks (over 50 ms) on the main thread during ${Math.round(to - from)} ms of generation: ${JSON.stringify(during)}; long animation frames: ${JSON.stringify(frames)}`);
});

for (const failure of ['device-lost', 'worker-crashed'] as const) {
  test(`recovers from ${failure === 'device-lost' ? 'a lost GPU device' : 'a crashed worker'} mid-reply`, { timeout: TIMEOUT }, async () => {
    const { page } = browser;
    await open(400);
    // A setting that must survive the recovery.
    await page.locator('summary', { hasText: 'Settings' }).click();
    await page.getByLabel('System prompt').fill('Be brief.');
    await button('Save settings').click();
    await page.getByText('Settings saved.').waitFor({ timeout: 5_000 });

    await startReply('Tell me a long story.', 5);
    const workersBefore = browser.log.filter((line) => line.startsWith('[worker] ')).length;
    await page.evaluate((kind) => {
      const hooks = (window as unknown as { __tabscoutTest: { loseDevice(): void; crashWorker(): void } }).__tabscoutTest;
      if (kind === 'device-lost') void hooks.loseDevice();
      else hooks.crashWorker();
    }, failure);

    // The reply is marked interrupted, the user is told, the engine comes back.
    assert.equal(await waitForReplyEnd(browser), 'interrupted', withLog(browser, 'state of the cut reply'));
    assert.match((await lastReply(browser).textContent()) ?? '', /Interrupted/);
    const notice = page.locator(`[role=alert][data-notice=${failure}]`);
    await notice.waitFor({ timeout: 10_000 });
    assert.match((await notice.textContent()) ?? '', failure === 'device-lost' ? /GPU device was lost/ : /worker stopped/);
    await waitForModel(browser);
    await page.waitForFunction(() => /reloaded the model/.test(document.querySelector('[data-notice]')?.textContent ?? ''), null, { timeout: 10_000 });
    if (failure === 'worker-crashed') {
      const workersAfter = browser.log.filter((line) => line.startsWith('[worker] ')).length;
      assert.equal(workersAfter, workersBefore + 1, withLog(browser, 'a new worker was started'));
    }

    // Conversation and settings intact; the next question is answered.
    assert.equal(await page.getByRole('article', { name: /^You/ }).count(), 1);
    assert.ok((await replyTokenIds(browser)).length >= 5, 'the interrupted reply keeps its text');
    assert.equal(await page.getByLabel('System prompt').inputValue(), 'Be brief.');
    await startReply('Are you back?', 3);
    await button('Stop').click();
    assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'reply after recovery'));
    assert.equal(await page.getByRole('article', { name: /^Assistant/ }).count(), 2);
    await button('Dismiss').click();
  });
}
