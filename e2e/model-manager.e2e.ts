// Journey: the model manager. A Hub-like server on another origin (127.0.0.1, another port, with CORS) serves the
// tiny-scout checkpoint; the page imports it through the import form (?hubEndpoint= points the form at it), the
// progress bar reaches 100 % and the model is listed; it is loaded with a small expert budget (?expertBudgetMiB=:
// 2 of 4 expert slots a layer, so experts page from the store) from the "Load … now" the manager offers, answers
// greedily, and the stats panel shows the expert cache hit rate and the traffic plot; a reload loads it again (the
// last model that loaded), and with a pinned tier (?pinnedTierMiB=) it gives the same reply from GPU copies; then
// the built-in model is loaded and the installed one is deleted. The plot's legend and
// cells stand out from the page (≥ 3:1, light and dark). A folder picked in the form names its model after the folder.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, type Browser } from './support/browser.ts';
import { builtApp } from './support/build.ts';
import { composer, LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, replyTokenIds, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import { contrast, over, pageBackground, parseColour } from './support/contrast.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { HubServer } from '../testing/hub-server.ts';

const REPO = 'meta-llama/tiny-scout';
const TOKENS = 5;
// tiny-scout q4: 6912 bytes an expert × 4 MoE layers = 27 KiB a slot; 0.06 MiB = 2 slots of 4 experts
const BUDGET_MIB = '0.06';

let server: StaticServer;
let hub: HubServer;
let browser: Browser;
before(async () => {
  server = await serveStatic(builtApp());
  hub = await HubServer.start({ repos: { [REPO]: { main: join(fixturesDir(), 'tiny-scout', 'model') } } });
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await hub?.close();
  await server?.close();
});

test('import from the Hub with progress, load with experts paged, chat, expert stats, delete', { timeout: 2 * LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS + 60_000 }, async () => {
  const { page } = browser;
  const query = new URLSearchParams({ temperature: '0', maxNewTokens: String(TOKENS), ignoreEos: '1', expertBudgetMiB: BUDGET_MIB, hubEndpoint: hub.url });
  await page.goto(`${server.url}?${query}`);
  await waitForModel(browser);
  const installed = page.getByRole('list', { name: 'Installed models' });
  await page.locator('[data-empty]').waitFor({ timeout: 30_000 });
  assert.match((await page.locator('[data-storage]').textContent()) ?? '', /used · .* available/);

  // import through the form: the progress bar reaches 100 % and the model is listed as complete
  const form = page.getByRole('form', { name: 'Import a model' });
  await form.getByLabel('Hugging Face repo').check();
  await form.getByLabel('Repository id').fill(REPO);
  assert.equal(await form.getByLabel(/^Access token/).getAttribute('type'), 'password');
  await form.getByRole('button', { name: 'Import', exact: true }).click();
  const bar = page.getByRole('progressbar', { name: 'Import progress' });
  await bar.waitFor({ timeout: 10_000 });
  await page
    .waitForFunction(() => document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow') === '100', null, { timeout: LOAD_TIMEOUT_MS })
    .catch((error: Error) => assert.fail(withLog(browser, `import did not reach 100 %: ${error.message}; ${hub.log.map((l) => `${l.path} ${l.status}`).join(', ')}`)));
  // the bar reaches 100 % with the last byte; the line says "done" once the import has finished writing (a moment later)
  await page
    .waitForFunction(() => /done/.test(document.querySelector('[data-import-progress]')?.textContent ?? ''), null, { timeout: 10_000 })
    .catch(() => undefined);
  assert.match((await page.locator('[data-import-progress]').textContent()) ?? '', /100 % · .* of .*done/);
  const item = installed.locator('[data-status=complete]');
  await item.waitFor({ timeout: 10_000 });
  assert.match((await item.textContent()) ?? '', /Hugging Face: meta-llama\/tiny-scout/);
  assert.ok(hub.log.some((l) => l.path.endsWith('/model.safetensors') && l.status === 206), 'the weights came from the hub server in ranges');

  // install, then load: the manager offers the model it just installed (the expert budget applies: experts page)
  await page.getByRole('button', { name: 'Load tiny-scout now' }).click();
  await page
    .waitForFunction(
      () => !['starting', 'loading'].includes(document.querySelector('[role=status]')?.getAttribute('data-state') ?? '') && document.body.textContent!.includes('installed in this browser'),
      null,
      { timeout: LOAD_TIMEOUT_MS },
    )
    .catch(async (error: Error) => assert.fail(withLog(browser, `the installed model did not load: ${error.message}; status: ${await page.getByRole('status').textContent()}`)));
  await waitForModel(browser);
  await composer(browser).fill('Hello from the store');
  await composer(browser).press('Enter');
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'reply with experts paged'));
  const pagedIds = await replyTokenIds(browser);
  assert.equal(pagedIds.length, TOKENS);

  // the stats panel shows the expert cache and the traffic plot
  const hitRate = (await page.locator('[data-stat="Expert cache hit rate"]').textContent()) ?? '';
  assert.match(hitRate, /^\d+(\.\d)? % \(\d+ hits, \d+ misses\)$/, withLog(browser, `hit rate: ${hitRate}`));
  assert.match((await page.locator('[data-stat="Expert slots"]').textContent()) ?? '', /^2 per layer of 4 experts/);
  assert.match((await page.locator('[data-stat="Paged in"]').textContent()) ?? '', /\d/);
  const plot = page.getByRole('img', { name: /Expert traffic/ });
  assert.equal(await plot.getAttribute('data-traffic-layers'), '4');
  assert.equal(await plot.locator('rect.used').count(), 4, 'one expert a token in each of 4 layers');
  assert.equal(await plot.locator('rect.resident').count(), 8, '2 resident slots in each of 4 layers');
  assert.match((await plot.locator('desc').textContent()) ?? '', /layer \d+: used \d/);
  // a short history: each layer's cells say how many of the latest steps used them
  assert.match((await plot.locator('desc').textContent()) ?? '', /uses in the last \d+ steps/);
  assert.ok((await plot.locator('text.traffic-count').count()) >= 4, 'every layer shows its recent expert uses');
  assert.match((await page.locator('.traffic figcaption').textContent()) ?? '', /\(2 slots a layer\)/);
  // the legend's swatches and the plot's cells stand out from the page (≥ 3:1), in the light and the dark scheme
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    // a script string: functions compiled by tsx carry helper calls (__name) that do not exist in the page
    const colours = (await page.evaluate(`(() => {
      const style = (selector) => getComputedStyle(document.querySelector(selector));
      return {
        page: getComputedStyle(document.body).backgroundColor,
        'legend used': style('.legend.used').backgroundColor,
        'legend resident': style('.legend.resident').backgroundColor,
        'cell used': style('rect.used').fill,
        'cell resident': style('rect.resident').fill,
      };
    })()`)) as Record<string, string>;
    const background = pageBackground(colours.page, scheme === 'dark');
    for (const [what, css] of Object.entries(colours)) {
      if (what === 'page') continue;
      const ratio = contrast(over(parseColour(css), background), background);
      assert.ok(ratio >= 3, `${scheme}: ${what} ${css} on ${background}: contrast ${ratio.toFixed(2)}:1`);
    }
  }
  await page.emulateMedia({ colorScheme: null });

  // the installed model loaded last is loaded again at start-up
  await page.reload();
  await page
    .waitForFunction(() => document.querySelector('[role=status]')?.getAttribute('data-state') === 'ready' && document.body.textContent!.includes('installed in this browser'), null, {
      timeout: LOAD_TIMEOUT_MS,
    })
    .catch(async (error: Error) => assert.fail(withLog(browser, `the installed model was not loaded at start-up: ${error.message}; status: ${await page.getByRole('status').textContent()}`)));
  assert.match((await page.locator('[data-model-size]').textContent()) ?? '', /stored .*B/);

  // with a pinned tier (?pinnedTierMiB=) experts page in as GPU copies from host memory (MAP_WRITE buffers in
  // Chromium): the same greedy reply, and the stats say what came from it
  await page.goto(`${server.url}?${new URLSearchParams({ ...Object.fromEntries(query), pinnedTierMiB: '1' })}`);
  await page
    .waitForFunction(() => document.querySelector('[role=status]')?.getAttribute('data-state') === 'ready' && document.body.textContent!.includes('installed in this browser'), null, {
      timeout: LOAD_TIMEOUT_MS,
    })
    .catch(async (error: Error) => assert.fail(withLog(browser, `the installed model did not load with a pinned tier: ${error.message}; status: ${await page.getByRole('status').textContent()}`)));
  await page.getByRole('button', { name: 'New chat', exact: true }).click();
  await composer(browser).fill('Hello from the store');
  await composer(browser).press('Enter');
  assert.equal(await waitForReplyEnd(browser), 'done', withLog(browser, 'reply with a pinned tier'));
  assert.deepEqual(await replyTokenIds(browser), pagedIds, 'the pinned tier gives the paged reply');
  assert.match((await page.locator('[data-stat="Paged in"]').textContent()) ?? '', /\(.*B copied from pinned memory\)$/, withLog(browser, 'pinned copies'));

  // a loaded model cannot be deleted: go back to the built-in one, then delete with confirmation
  await page.getByRole('button', { name: 'Use the built-in model' }).click();
  await page.waitForFunction(
    () => document.querySelector('[role=status]')?.getAttribute('data-state') === 'ready' && !document.body.textContent!.includes('installed in this browser'),
    null,
    { timeout: LOAD_TIMEOUT_MS },
  );
  await item.getByRole('button', { name: /^Delete / }).click();
  await page.getByRole('group', { name: /^Confirm deleting/ }).getByRole('button', { name: 'Yes, delete' }).click();
  await page.locator('[data-empty]').waitFor({ timeout: 10_000 });
  assert.equal(await installed.count(), 0);

  // a local folder picked in the form (webkitdirectory): the model is named after the folder
  const parent = mkdtempSync(join(tmpdir(), 'tabscout-folder-'));
  try {
    const folder = join(parent, 'tiny-scout');
    cpSync(join(fixturesDir(), 'tiny-scout', 'model'), folder, { recursive: true });
    await form.getByLabel('Local folder').check();
    await form.getByLabel(/^Folder/).setInputFiles(folder);
    await form.getByRole('button', { name: 'Import', exact: true }).click();
    const picked = installed.locator('[data-status=complete]');
    await picked.waitFor({ timeout: LOAD_TIMEOUT_MS }).catch(async (error: Error) => assert.fail(withLog(browser, `the folder import did not complete: ${error.message}; ${await page.locator('[data-import-progress]').textContent().catch(() => '')}`)));
    const listed = (await picked.textContent()) ?? '';
    assert.match(listed, /tiny-scout/, `the folder's name names the model: ${listed}`);
    assert.doesNotMatch(listed, /picked folder/, listed);
    await page.getByRole('button', { name: 'Load tiny-scout now' }).waitFor({ timeout: 10_000 });
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
