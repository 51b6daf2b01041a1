// Reading OpenAI-style requests (no engine needed): defaults, validation, and messages with content parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TabScoutError } from './errors.ts';
import { checkRequest, DEFAULT_TEMPERATURE, DEFAULT_TOP_P, toEngineMessages } from './request.ts';

const user = [{ role: 'user' as const, content: 'Hi' }];

test('defaults: Llama 4 sampling, a random seed, no limit but the context, no stop strings', () => {
  const a = checkRequest({ messages: user });
  const b = checkRequest({ messages: user });
  assert.equal(a.sampling.temperature, DEFAULT_TEMPERATURE);
  assert.equal(a.sampling.topP, DEFAULT_TOP_P);
  assert.equal(a.sampling.topK, 0);
  assert.equal(a.sampling.ignoreEos, false);
  assert.equal(a.sampling.maxNewTokens, Number.MAX_SAFE_INTEGER);
  assert.notEqual(a.sampling.seed, b.sampling.seed, 'a new seed per request');
  assert.deepEqual(a.stops, []);
});

test('options map onto the engine sampling', () => {
  const { sampling, stops } = checkRequest({ messages: user, temperature: 0, top_p: 0.5, top_k: 40, max_completion_tokens: 9, seed: 7, stop: 'END', ignore_eos: true });
  assert.deepEqual(sampling, { maxNewTokens: 9, temperature: 0, topK: 40, topP: 0.5, seed: 7, ignoreEos: true });
  assert.deepEqual(stops, ['END']);
  assert.equal(checkRequest({ messages: user, max_tokens: 3, max_completion_tokens: 9 }).sampling.maxNewTokens, 3);
});

test('what TabScout does not do is refused, not ignored', () => {
  const refused = (request: object, message: RegExp) =>
    assert.throws(() => checkRequest(request as never), (error: unknown) => error instanceof TabScoutError && error.code === 'invalid-request' && message.test(error.message));
  refused({ messages: user, logprobs: true }, /logprobs/);
  refused({ messages: user, response_format: { type: 'json_object' } }, /response_format/);
  refused({ messages: user, presence_penalty: 0.5 }, /presence_penalty/);
  refused({ messages: user, stop: ['a', 'b', 'c', 'd', 'e'] }, /up to 4/);
  refused({ messages: user, max_tokens: 0 }, /max_tokens/);
  refused({ messages: user, seed: 1.5 }, /seed/);
  refused({ messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }, /'text' or 'image_url'/);
  refused({ messages: [{ role: 'system' }] }, /content is missing/);
  // accepted as OpenAI's clients send them
  checkRequest({ messages: [{ role: 'assistant', content: null }, ...user], frequency_penalty: 0, n: 1, stream_options: { include_usage: true }, logprobs: false });
});

test('messages: developer is system, text parts joined, images fetched in order before the text', async () => {
  const png = new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' });
  const messages = await toEngineMessages([
    { role: 'developer', content: 'Be brief.' },
    { role: 'assistant', content: null },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'first' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AAEC' } },
        { type: 'image_url', image_url: { url: png } },
        { type: 'text', text: 'second' },
      ],
    },
  ]);
  assert.deepEqual(messages.map((m) => [m.role, m.content]), [['system', 'Be brief.'], ['assistant', ''], ['user', 'first\nsecond']]);
  const images = messages[2].images!;
  assert.deepEqual(images.map((i) => i.name), ['Image 1', 'Image 2']);
  assert.deepEqual([...new Uint8Array(await images[0].data.arrayBuffer())], [0, 1, 2]);
  assert.equal(images[1].data, png, 'a Blob is passed as it is');
});
