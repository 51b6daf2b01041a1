// Journey: the page loads the tiny-scout test model (?model=, e2e/support/build.ts) in the worker through WebGPU and,
// with greedy sampling, streams exactly the Hugging Face reference's greedy tokens for the `chat` case, in both
// weight modes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixturesDir } from '../testing/fixtures.ts';
import { launch, type Browser } from './support/browser.ts';
import { builtApp, TEST_MODEL } from './support/build.ts';
import { composer, LOAD_TIMEOUT_MS, lastReply, REPLY_TIMEOUT_MS, replyText, replyTokenIds, waitForModel, waitForReplyEnd, withLog } from './support/chat-page.ts';
import { decodeTokens, readInt32Tensor, referenceDir } from './support/reference.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';

const REFERENCE = referenceDir('tiny-scout');
const TENSORS = `${REFERENCE}/tensors.safetensors`;
const TOKENIZER = readFileSync(join(fixturesDir(), 'tiny-scout', 'model', 'tokenizer.json'), 'utf8');

interface Case {
  name: string;
  messages?: { role: string; content: { type: string; text?: string }[] }[];
}
const cases = (JSON.parse(readFileSync(`${REFERENCE}/cases.json`, 'utf8')) as { cases: Case[] }).cases;
const chat = cases.find((c) => c.name === 'chat');
if (!chat?.messages) throw new Error(`${REFERENCE}/cases.json has no chat case with messages`);
const textOf = (role: string) =>
  chat.messages!.filter((m) => m.role === role).map((m) => m.content.map((part) => part.text ?? '').join('')).join('\n');
const SYSTEM = textOf('system');
const USER = textOf('user');

// The q4 run serves the app from a sub-path, as a static host such as GitHub Pages would.
const servers: Partial<Record<'f32' | 'q4', StaticServer>> = {};
before(async () => {
  servers.f32 = await serveStatic(builtApp());
  servers.q4 = await serveStatic(builtApp(), '/tabscout/');
});
after(async () => {
  await servers.f32?.close();
  await servers.q4?.close();
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
      const expectedIds = readInt32Tensor(TENSORS, weights === 'f32' ? 'chat.generated_ids' : 'chat.q4.generated_ids');
      const expectedText = decodeTokens(TOKENIZER, expectedIds);
      const query = new URLSearchParams({ temperature: '0', maxNewTokens: String(expectedIds.length), ignoreEos: '1', weights, system: SYSTEM, model: TEST_MODEL });
      await browser.page.goto(`${servers[weights]!.url}?${query}`);

      // The model must load: no WebGPU here (Chromium has --enable-unsafe-webgpu) is a failure, never a skip.
      const status = await waitForModel(browser);
      assert.match(status, new RegExp(`\\b${weights}\\b`), withLog(browser, `status does not name the ${weights} weight mode: ${status}`));

      await composer(browser).fill(USER);
      await composer(browser).press('Enter');
      const state = await waitForReplyEnd(browser);
      assert.equal(state, 'done', withLog(browser, `reply ended in state ${state}: ${await lastReply(browser).textContent()}`));

      const ids = await replyTokenIds(browser);
      assert.deepEqual(ids, expectedIds, withLog(browser, `${weights}: streamed token ids differ from the reference greedy ids`));
      const text = await replyText(browser);
      assert.equal(text, expectedText, withLog(browser, `${weights}: streamed text differs from the Hugging Face decode of the reference ids (byte-level, special tokens kept, no clean_up_tokenization_spaces)`));
      assert.equal(await composer(browser).inputValue(), '', 'the composer is cleared after sending');
    });
  });
}
