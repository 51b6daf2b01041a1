// Journey: the page loads the embedded tiny model in the worker through WebGPU and, with greedy sampling,
// streams exactly the Hugging Face reference's greedy tokens for the `chat` case.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { launch, type Browser } from './support/browser.ts';
import { builtApp } from './support/build.ts';
import { decodeTokens, readInt32Tensor } from './support/reference.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';

const FIXTURE = new URL('../../shared/fixtures/tiny-scout/', import.meta.url);
const REFERENCE = new URL('reference/', FIXTURE);
const TENSORS = new URL('tensors.safetensors', REFERENCE).pathname;
const TOKENIZER = readFileSync(new URL('public/models/tiny-scout/tokenizer.json', new URL('..', import.meta.url)), 'utf8');

interface Case {
  name: string;
  messages?: { role: 'system' | 'user' | 'assistant'; content: { type: string; text?: string }[] }[];
}
const cases = (JSON.parse(readFileSync(new URL('cases.json', REFERENCE), 'utf8')) as { cases: Case[] }).cases;
const chat = cases.find((c) => c.name === 'chat');
if (!chat?.messages) throw new Error('cases.json has no chat case with messages');
const textOf = (role: string) =>
  chat.messages!.filter((m) => m.role === role).map((m) => m.content.map((part) => part.text ?? '').join('')).join('\n');
const SYSTEM = textOf('system');
const USER = textOf('user');

const LOAD_TIMEOUT_MS = 120_000;
const REPLY_TIMEOUT_MS = 240_000;

let server: StaticServer;
before(async () => {
  server = await serveStatic(builtApp());
});
after(async () => {
  await server?.close();
});

for (const weights of ['f32', 'q4'] as const) {
  describe(`chat case, ${weights} weights`, () => {
    let browser: Browser;
    before(async () => {
      browser = await launch({ webgpu: true });
    });
    after(async () => {
      await browser?.close();
    });

    test('streams exactly the reference greedy tokens', { timeout: LOAD_TIMEOUT_MS + REPLY_TIMEOUT_MS + 30_000 }, async () => {
      const { page, log } = browser;
      const failure = (what: string) => `${what}\n--- browser log ---\n${log.join('\n')}`;
      const expectedIds = readInt32Tensor(TENSORS, weights === 'f32' ? 'chat.generated_ids' : 'chat.q4.generated_ids');
      const expectedText = decodeTokens(TOKENIZER, expectedIds);

      const query = new URLSearchParams({
        temperature: '0',
        maxNewTokens: String(expectedIds.length),
        ignoreEos: '1',
        weights,
        system: SYSTEM,
      });
      await page.goto(`${server.url}?${query}`);

      // The model must load: WebGPU missing here (with --enable-unsafe-webgpu) is a failure, never a skip.
      const status = page.getByRole('status');
      await page
        .waitForFunction(() => !['starting', 'loading'].includes(document.querySelector('[role=status]')?.getAttribute('data-state') ?? 'starting'), null, {
          timeout: LOAD_TIMEOUT_MS,
        })
        .catch((error: Error) => assert.fail(failure(`model did not finish loading: ${error.message}`)));
      const state = await status.getAttribute('data-state');
      const statusText = await status.textContent();
      assert.equal(state, 'ready', failure(`model status is "${state}": ${statusText}`));
      assert.match(statusText ?? '', new RegExp(`\\b${weights}\\b`), failure(`status does not name the ${weights} weight mode`));

      const composer = page.getByRole('textbox', { name: 'Message' });
      await composer.fill(USER);
      await composer.press('Enter');

      const reply = page.getByRole('article', { name: /^Assistant/ }).last();
      await reply.waitFor({ timeout: 10_000 });
      await page
        .waitForFunction(
          () => {
            const articles = [...document.querySelectorAll('[role=article], article')].filter((a) => a.getAttribute('aria-label')?.startsWith('Assistant'));
            return articles.at(-1)?.getAttribute('data-state') !== 'streaming';
          },
          null,
          { timeout: REPLY_TIMEOUT_MS },
        )
        .catch((error: Error) => assert.fail(failure(`reply did not finish: ${error.message}`)));

      assert.equal(await reply.getAttribute('data-state'), 'done', failure(`reply failed: ${await reply.textContent()}`));
      const ids = ((await reply.getAttribute('data-token-ids')) ?? '').split(',').filter(Boolean).map(Number);
      assert.deepEqual(ids, expectedIds, failure(`${weights}: streamed token ids differ from the reference greedy ids`));
      const text = await reply.locator('.turn-text').textContent();
      assert.equal(text, expectedText, failure(`${weights}: streamed text differs from the decode of the reference ids`));
      assert.equal(await composer.inputValue(), '', 'composer is cleared after sending');
    });
  });
}
