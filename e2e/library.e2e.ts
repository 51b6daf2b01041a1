// The ES-module library (dist/lib/tabscout.js) as a web developer uses it: a page on one origin imports the module
// from another origin (served with CORS, as a CDN would) with a <script type="module">, creates the engine with a
// model URL on the library's origin (the tiny-scout test model: the first test takes 3 s on SwiftShader with it,
// 14 s with the built-in model, whose image prompt is a 336-pixel tile of 144 tokens), streams a reply about an image, aborts a reply, reads usage, lists models,
// reads stats, unloads. A page under a sub-path creates it with no options: the built-in model (tabscout-tiny) next
// to the library. The built type declarations compile a consumer under strict settings.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import ts from 'typescript';
import { BUILT_IN_MODEL_PATH } from '../lib/default-model.ts';
import { launch, type Browser } from './support/browser.ts';
import { builtApp, TEST_MODEL } from './support/build.ts';
import { LOAD_TIMEOUT_MS, REPLY_TIMEOUT_MS, withLog } from './support/chat-page.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';

let cdn: StaticServer; // origin A: the build, served with CORS
let site: StaticServer; // origin B: the developer's page
let pages: string;
let browser: Browser;

/** The developer's page: everything the journey does, with its results on window.journey. */
function pageSource(libraryUrl: string, modelUrl: string): string {
  return `<!doctype html><meta charset="utf-8"><title>My page with TabScout</title>
<canvas id="picture" width="96" height="64"></canvas>
<script type="module">
import { createEngine, TabScoutError } from ${JSON.stringify(libraryUrl)};
const journey = (window.journey = { steps: [] });
try {
  const phases = [];
  const engine = await createEngine({ model: ${JSON.stringify(modelUrl)}, onProgress: (p) => phases.push(p.phase) });
  journey.phases = phases;
  journey.steps.push('loaded');

  // a picture drawn here, sent as a data: URL content part
  const canvas = document.getElementById('picture');
  const g = canvas.getContext('2d');
  g.fillStyle = '#1976d2'; g.fillRect(0, 0, 96, 64); g.fillStyle = '#fbc02d'; g.beginPath(); g.arc(48, 32, 20, 0, 7); g.fill();
  const url = canvas.toDataURL('image/png');
  const imageProgress = [];
  const stream = await engine.chat.completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: 'What is in this picture?' }] }],
    stream: true, temperature: 0, max_tokens: 8, ignore_eos: true, onProgress: (p) => imageProgress.push(p.tile),
  });
  journey.chunks = [];
  for await (const chunk of stream) journey.chunks.push(chunk);
  journey.imageProgress = imageProgress;
  journey.steps.push('streamed');

  // abort a long reply after its second piece
  const abort = new AbortController();
  let pieces = 0;
  try {
    const long = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Tell me a long story.' }], stream: true, max_tokens: 400, ignore_eos: true, signal: abort.signal });
    for await (const chunk of long) if (chunk.choices[0]?.delta.content !== undefined && ++pieces === 2) abort.abort();
    journey.aborted = { error: null };
  } catch (error) {
    journey.aborted = { pieces, isTabScoutError: error instanceof TabScoutError, name: error.name, code: error.code, message: error.message, usage: error.partial?.usage };
  }
  journey.steps.push('aborted');

  // not streaming: the reply and its usage
  journey.reply = await engine.chat.completions.create({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello!' }], max_tokens: 5, temperature: 0 });
  journey.models = await engine.models.list();
  journey.stats = engine.stats();
  await engine.unload();
  try {
    await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Still there?' }] });
  } catch (error) {
    journey.afterUnload = { code: error.code, message: error.message };
  }
  journey.steps.push('done');
} catch (error) {
  journey.error = { name: error.name, code: error.code, message: error.message, stack: error.stack };
}
</script>`;
}

before(async () => {
  pages = mkdtempSync(join(tmpdir(), 'tabscout-lib-host-'));
  cdn = await serveStatic(builtApp(), '/', { cors: true });
  site = await serveStatic(pages);
  writeFileSync(join(pages, 'index.html'), pageSource(`${cdn.url}lib/tabscout.js`, new URL(TEST_MODEL, cdn.url).href));
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await cdn?.close();
  await site?.close();
  rmSync(pages, { recursive: true, force: true });
});

interface Journey {
  steps: string[];
  error?: { name: string; code?: string; message: string; stack?: string };
  phases: string[];
  chunks: { id: string; object: string; model: string; choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[]; usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } }[];
  imageProgress: number[];
  aborted: { pieces?: number; isTabScoutError?: boolean; name?: string; code?: string; message?: string; usage?: { completion_tokens: number }; error?: null };
  reply: { object: string; choices: { message: { role: string; content: string }; finish_reason: string }[]; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } };
  models: { object: string; data: { id: string; object: string; loaded: boolean }[] };
  stats: { model: string | null; lastReply: { completionTokens: number; decodeTokensPerSecond: number } | null; experts: unknown };
  afterUnload?: { code: string; message: string };
}

test('a page on another origin imports dist/lib/tabscout.js, streams about an image, aborts, reads usage', { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS }, async () => {
  const { page } = browser;
  const A = new URL(cdn.url).origin;
  assert.notEqual(new URL(site.url).origin, A, 'two origins');
  await page.goto(site.url);
  await page
    .waitForFunction(() => {
      const j = (window as unknown as { journey?: Journey }).journey;
      return j && (j.error || j.steps.includes('done'));
    }, null, { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS - 30_000, polling: 500 })
    .catch((error: Error) => assert.fail(withLog(browser, `the page did not finish: ${error.message}`)));
  const j = await page.evaluate(() => (window as unknown as { journey: Journey }).journey);
  assert.equal(j.error, undefined, withLog(browser, `the page failed: ${JSON.stringify(j.error)}`));

  // loaded the model from the library's origin, with progress
  assert.equal(j.phases.at(-1), 'ready');
  assert.ok(j.phases.includes('weights'));
  assert.ok(browser.log.some((line) => line.startsWith('[worker] blob:')), withLog(browser, 'the worker starts from a same-origin blob: trampoline'));

  // the streamed reply about the image
  const content = j.chunks.filter((c) => c.choices.length && c.choices[0].finish_reason === null);
  assert.ok(content.length >= 2, `streamed in pieces (${content.length})`);
  assert.ok(j.chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === j.chunks[0].id));
  assert.equal(content[0].choices[0].delta.role, 'assistant');
  assert.ok(content.map((c) => c.choices[0].delta.content).join('').length > 0);
  assert.equal(j.chunks.at(-2)!.choices[0].finish_reason, 'length');
  const usage = j.chunks.at(-1)!.usage!;
  assert.deepEqual(j.chunks.at(-1)!.choices, [], 'the last chunk carries only usage');
  assert.equal(usage.completion_tokens, 8);
  assert.ok(usage.prompt_tokens > 30, `the image's patches are in the prompt (${usage.prompt_tokens} tokens)`);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  assert.ok(j.imageProgress.length > 0, 'image tiles were reported');

  // the aborted reply
  assert.equal(j.aborted.isTabScoutError, true, JSON.stringify(j.aborted));
  assert.equal(j.aborted.name, 'AbortError');
  assert.equal(j.aborted.code, 'cancelled');
  assert.equal(j.aborted.pieces, 2);
  assert.ok(j.aborted.usage && j.aborted.usage.completion_tokens >= 2 && j.aborted.usage.completion_tokens < 400, `stopped early: ${JSON.stringify(j.aborted.usage)}`);

  // not streaming
  assert.equal(j.reply.object, 'chat.completion');
  assert.equal(j.reply.choices[0].message.role, 'assistant');
  assert.equal(typeof j.reply.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(j.reply.choices[0].finish_reason));
  assert.ok(j.reply.usage.prompt_tokens > 0 && j.reply.usage.completion_tokens > 0 && j.reply.usage.completion_tokens <= 5);

  // models, stats, unload
  assert.equal(j.models.object, 'list');
  assert.equal(j.models.data[0].id, new URL(TEST_MODEL, cdn.url).href);
  assert.equal(j.models.data[0].loaded, true);
  assert.equal(j.stats.model, 'tiny-scout');
  assert.equal(j.stats.lastReply?.completionTokens, j.reply.usage.completion_tokens);
  assert.ok(j.stats.lastReply!.decodeTokensPerSecond > 0);
  assert.equal(j.stats.experts, null, 'every expert resident');
  assert.equal(j.afterUnload?.code, 'not-loaded');
  assert.match(j.afterUnload!.message, /createEngine\(\) again/);
});

test('a page of the same origin, under a sub-path: the worker starts directly, experts page within a budget, the KV cache in f16', { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS }, async () => {
  // a copy of the build with the developer's page in it, served under /site/
  const root = mkdtempSync(join(tmpdir(), 'tabscout-lib-same-'));
  cpSync(builtApp(), root, { recursive: true });
  writeFileSync(
    join(root, 'my-page.html'),
    `<!doctype html><meta charset="utf-8"><title>Same origin</title><script type="module">
import { createEngine } from './lib/tabscout.js';
try {
  const engine = await createEngine({ expertBudgetBytes: 1, kvCache: 'f16' });
  const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 6, ignore_eos: true, temperature: 0 });
  window.result = { reply, stats: engine.stats(), models: await engine.models.list() };
} catch (error) {
  window.result = { error: { code: error.code, message: error.message } };
}
</script>`,
  );
  const server = await serveStatic(root, '/site/');
  const plain = await launch({ webgpu: true });
  try {
    await plain.page.goto(`${server.url}my-page.html`);
    await plain.page
      .waitForFunction(() => 'result' in window, null, { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS - 30_000, polling: 500 })
      .catch((error: Error) => assert.fail(withLog(plain, `the page did not finish: ${error.message}`)));
    const result = await plain.page.evaluate(() => (window as unknown as { result: { error?: unknown; reply: Journey['reply']; stats: { model: string | null; experts: { slotsPerLayer: number; hitRate: number; misses: number } | null }; models: Journey['models'] } }).result);
    assert.equal(result.error, undefined, withLog(plain, JSON.stringify(result.error)));
    assert.equal(result.models.data[0].id, `${server.url}${BUILT_IN_MODEL_PATH}`, 'the built-in model next to the library, under the sub-path');
    assert.equal(result.stats.model, 'tabscout-tiny');
    assert.ok(plain.log.some((line) => line.startsWith(`[worker] ${server.url}lib/assets/worker-`)), withLog(plain, 'same origin: the worker script itself, no trampoline'));
    assert.equal(result.reply.usage.completion_tokens, 6);
    const experts = result.stats.experts;
    assert.ok(experts && experts.slotsPerLayer >= 1 && experts.misses > 0 && experts.hitRate >= 0 && experts.hitRate <= 1, `experts paged: ${JSON.stringify(experts)}`);
  } finally {
    await plain.close();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('without WebGPU, createEngine rejects with a typed error that says what to do', { timeout: 60_000 }, async () => {
  const plain = await launch({ webgpu: false });
  try {
    await plain.page.goto(`${site.url}none.html`).catch(() => undefined); // a 404 page of origin B is enough
    const error = await plain.page.evaluate(async (url) => {
      const { createEngine, TabScoutError } = await import(url);
      try {
        await createEngine();
        return null;
      } catch (error) {
        return { isTabScoutError: error instanceof TabScoutError, code: (error as { code?: string }).code, message: (error as Error).message };
      }
    }, `${cdn.url}lib/tabscout.js`);
    assert.ok(error, withLog(plain, 'createEngine() resolved without WebGPU'));
    assert.equal(error.isTabScoutError, true);
    assert.equal(error.code, 'no-webgpu');
    assert.match(error.message, /WebGPU/);
    assert.match(error.message, /Chrome|enable/);
  } finally {
    await plain.close();
  }
});

test('the built type declarations compile a strict TypeScript consumer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabscout-lib-types-'));
  try {
    const main = join(dir, 'main.ts');
    writeFileSync(
      main,
      `import { createEngine, TabScoutError, type ChatCompletionChunk, type EngineStats } from ${JSON.stringify(join(builtApp(), 'lib', 'tabscout.js'))};
const engine = await createEngine({ weights: 'q4', expertBudgetBytes: 64 << 20, kvCache: 'f16', onProgress: (p) => console.log(p.phase, p.loaded / p.total) });
const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 });
const text: string = reply.choices[0].message.content;
const tokens: number = reply.usage.completion_tokens;
const stream = await engine.chat.completions.create({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: new Blob() } }, { type: 'text', text: '?' }] }], stream: true });
for await (const chunk of stream) { const piece: string | undefined = chunk.choices[0]?.delta.content; const c: ChatCompletionChunk = chunk; console.log(piece, c.usage?.total_tokens); }
try { await engine.unload(); } catch (error) { if (error instanceof TabScoutError && error.code === 'cancelled') console.log(error.partial?.usage.prompt_tokens); }
const stats: EngineStats = engine.stats();
console.log(text, tokens, stats.lastReply?.decodeTokensPerSecond, (await engine.models.list()).data[0].id);
// @ts-expect-error: unknown options are refused by the types
await engine.chat.completions.create({ messages: [], temprature: 1 });
`,
    );
    const program = ts.createProgram([main], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: [],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    assert.equal(diagnostics.length, 0, ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
