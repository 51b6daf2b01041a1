// The library's chat completions over a real engine (tiny-scout q4 on this machine's WebGPU: SwiftShader here):
// OpenAI's response and chunk shapes, streaming = non-streaming, stop sequences, AbortSignal, images as content
// parts, typed errors with the engine's codes, one request at a time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeGpu } from '../cli/node-gpu.ts';
import { FsModelFiles } from '../cli/fs-model-files.ts';
import { Reference } from '../cli/reference.ts';
import { Engine } from '../worker/engine.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import type { ChatImage } from '../protocol/api.ts';
import { ChatCompletions, StopGate } from './completions.ts';
import { TabScoutError } from './errors.ts';
import type { ChatCompletionChunk, ChatCompletionMessageParam } from './types.ts';

const fixture = join(fixturesDir(), 'tiny-scout');
let engine: Engine;
let completions: ChatCompletions;
let messages: ChatCompletionMessageParam[];
let expectedIds: number[];

/** Test images are raw RGBA with an 8-byte header (width, height): the browser decodes real files instead. */
async function decodeRaw(image: ChatImage) {
  const bytes = new Uint8Array(await image.data.arrayBuffer());
  const view = new DataView(bytes.buffer);
  return { width: view.getUint32(0, true), height: view.getUint32(4, true), data: bytes.subarray(8) };
}

function rawImage(width: number, height: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(8 + width * height * 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, width, true);
  view.setUint32(4, height, true);
  for (let i = 0; i < width * height; i++) bytes.set([(i * 7) % 256, (i * 13) % 256, (i >> 4) % 256, 255], 8 + i * 4);
  return bytes;
}

const GREEDY = { temperature: 0, ignore_eos: true } as const;

before(async () => {
  const gpu = await createNodeGpu();
  engine = new Engine(async () => gpu.ctx.device, (url) => new FsModelFiles(url), decodeRaw);
  await engine.load(join(fixture, 'model'), { weights: 'q4', contextLength: 256 });
  completions = new ChatCompletions(() => engine, () => 'tiny-scout');
  const ref = await Reference.load(join(fixture, 'reference'));
  const c = ref.cases.find((x) => x.name === 'chat')!;
  messages = c.messages!.map((m) => ({ role: m.role as 'system' | 'user', content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text ?? '').join('') }));
  expectedIds = ref.ids('chat.q4.generated_ids').slice(0, 12);
});
after(() => engine?.unload());

test('non-streaming: the OpenAI response shape, the reference greedy tokens, usage', async () => {
  const reply = await completions.create({ messages, max_tokens: 12, ...GREEDY });
  assert.match(reply.id, /^chatcmpl-/);
  assert.equal(reply.object, 'chat.completion');
  assert.equal(reply.model, 'tiny-scout');
  assert.ok(Number.isInteger(reply.created) && Math.abs(reply.created - Date.now() / 1000) < 600, 'created is Unix seconds');
  assert.equal(reply.choices.length, 1);
  const [choice] = reply.choices;
  assert.equal(choice.index, 0);
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(choice.message.content.length > 0);
  assert.equal(choice.finish_reason, 'length');
  assert.equal(choice.logprobs, null);
  assert.deepEqual(choice.token_ids, expectedIds, 'greedy tokens match the HF reference');
  assert.equal(reply.usage.completion_tokens, 12);
  assert.ok(reply.usage.prompt_tokens > 5);
  assert.equal(reply.usage.total_tokens, reply.usage.prompt_tokens + 12);
  assert.ok(reply.usage.extra.decode_tokens_per_s > 0 && reply.usage.extra.time_to_first_token_s > 0);
  assert.equal(reply.usage.extra.expert_hit_rate, null, 'every expert resident: no hit rate');
  assert.equal(reply.stats.generatedTokens, 12);
  assert.deepEqual(JSON.parse(JSON.stringify(reply)), reply, 'a plain, JSON-serialisable object');
});

test('streaming: chunks add up to the non-streaming reply and end with finish_reason, then usage', async () => {
  const whole = await completions.create({ messages, max_tokens: 12, ...GREEDY });
  const stream = await completions.create({ messages, max_tokens: 12, stream: true, ...GREEDY });
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
  const usageChunk = chunks.at(-1)!;
  const finish = chunks.at(-2)!;
  const content = chunks.slice(0, -2);
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, chunks[0].id, 'one id for the whole stream');
    assert.equal(c.model, 'tiny-scout');
  }
  assert.equal(content[0].choices[0].delta.role, 'assistant', 'the first chunk names the role');
  assert.ok(content.slice(1).every((c) => c.choices[0].delta.role === undefined));
  assert.ok(content.every((c) => c.choices[0].finish_reason === null && typeof c.choices[0].delta.content === 'string' && c.usage === undefined));
  assert.equal(content.map((c) => c.choices[0].delta.content).join(''), whole.choices[0].message.content);
  assert.deepEqual(content.flatMap((c) => c.choices[0].token_ids), whole.choices[0].token_ids);
  assert.deepEqual(finish.choices[0].delta, {});
  assert.equal(finish.choices[0].finish_reason, 'length');
  assert.deepEqual(usageChunk.choices, []);
  assert.equal(usageChunk.usage!.completion_tokens, 12);
  assert.equal(usageChunk.usage!.prompt_tokens, whole.usage.prompt_tokens);
  assert.equal(usageChunk.stats!.generatedTokens, 12);
});

test('stop sequences end the reply before them, streaming or not', async () => {
  const whole = (await completions.create({ messages, max_tokens: 12, ...GREEDY })).choices[0].message.content;
  // a stop string from the middle of the greedy reply
  const at = Math.floor(whole.length / 2);
  const stop = whole.slice(at, at + 3);
  const expected = whole.slice(0, whole.indexOf(stop));
  const reply = await completions.create({ messages, max_tokens: 12, stop: ['\u0000never', stop], ...GREEDY });
  assert.equal(reply.choices[0].message.content, expected);
  assert.equal(reply.choices[0].finish_reason, 'stop');
  const stream = await completions.create({ messages, max_tokens: 12, stop, stream: true, ...GREEDY });
  let text = '';
  let finish: string | null = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, expected, 'the stop string is never streamed');
  assert.equal(finish, 'stop');
});

test('StopGate holds back a possible start of a stop sequence and cuts at the first one', () => {
  const gate = new StopGate(['END', 'xyz']);
  assert.equal(gate.push('abc E'), 'abc ');
  assert.equal(gate.push('N'), '');
  assert.equal(gate.push('o more'), 'ENo more');
  assert.equal(gate.push(' x'), ' ');
  assert.equal(gate.push('yz and END'), '');
  assert.ok(gate.stopped);
  assert.equal(gate.text, 'abc ENo more ');
  const open = new StopGate(['END']);
  assert.equal(open.push('the E'), 'the ');
  assert.equal(open.flush(), 'E');
});

test('an AbortSignal stops the reply: AbortError with code cancelled and the partial reply with usage', async () => {
  const abort = new AbortController();
  const stream = await completions.create({ messages, max_tokens: 200, stream: true, signal: abort.signal, ...GREEDY });
  let text = '';
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        abort.abort();
      }
    })(),
    (error: unknown) => {
      assert.ok(error instanceof TabScoutError);
      assert.equal(error.name, 'AbortError');
      assert.equal(error.code, 'cancelled');
      assert.ok(error.partial, 'carries the partial reply');
      assert.ok(error.partial.usage.completion_tokens < 200, `stopped early (${error.partial.usage.completion_tokens} tokens)`);
      assert.ok(error.partial.choices[0].message.content.startsWith(text));
      return true;
    },
  );
  // already aborted: refused before anything runs
  await assert.rejects(completions.create({ messages, signal: AbortSignal.abort() }), { name: 'AbortError', code: 'cancelled' });
  // the engine is free again
  const after = await completions.create({ messages, max_tokens: 3, ...GREEDY });
  assert.deepEqual(after.choices[0].token_ids, expectedIds.slice(0, 3));
});

test('images as content parts (data: URL or Blob) go before the text', async () => {
  const raw = rawImage(112, 112);
  const url = `data:application/octet-stream;base64,${Buffer.from(raw).toString('base64')}`;
  const plain = await completions.create({ messages: [{ role: 'user', content: 'Describe it.' }], max_tokens: 4, ...GREEDY });
  const progress: number[] = [];
  const withUrl = await completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: 'Describe it.' }] }],
    max_tokens: 4,
    onProgress: (p) => progress.push(p.tile),
    ...GREEDY,
  });
  assert.ok(withUrl.usage.prompt_tokens > plain.usage.prompt_tokens + 10, `the image's patches are in the prompt (${plain.usage.prompt_tokens} → ${withUrl.usage.prompt_tokens})`);
  assert.ok(progress.length > 0, 'image progress was reported');
  const withBlob = await completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: new Blob([raw]) } }, { type: 'text', text: 'Describe it.' }] }],
    max_tokens: 4,
    ...GREEDY,
  });
  assert.deepEqual(withBlob.choices[0].token_ids, withUrl.choices[0].token_ids, 'a Blob reads the same as its data: URL');
});

test('errors are typed with the engine codes and say what to do', async () => {
  const refuse = async (request: object, code: string, message: RegExp) =>
    assert.rejects(completions.create(request as never), (error: unknown) => {
      assert.ok(error instanceof TabScoutError, String(error));
      assert.equal(error.code, code);
      assert.match(error.message, message);
      return true;
    });
  await refuse({ messages: [] }, 'invalid-request', /non-empty array/);
  await refuse({ messages, tools: [{ type: 'function' }] }, 'invalid-request', /does not support tools/);
  await refuse({ messages, n: 2 }, 'invalid-request', /n must be 1/);
  await refuse({ messages, temperature: 3 }, 'invalid-request', /temperature must be a number from 0 to 2/);
  await refuse({ messages: [{ role: 'tool', content: 'x' }] }, 'invalid-request', /does not support tools/);
  await refuse({ messages: [{ role: 'assistant', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }] }, 'invalid-request', /only user messages/);
  await refuse({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'blob:nowhere' } }] }] }, 'bad-image', /Image 1 could not be fetched/);
  await refuse({ messages: [{ role: 'user', content: 'word '.repeat(400) }] }, 'context-too-long', /Start a new chat or shorten the message/);
});

test('requests run one at a time instead of failing as busy', async () => {
  const [a, b] = await Promise.all([
    completions.create({ messages, max_tokens: 4, ...GREEDY }),
    completions.create({ messages, max_tokens: 4, ...GREEDY }),
  ]);
  assert.deepEqual(a.choices[0].token_ids, expectedIds.slice(0, 4));
  assert.deepEqual(b.choices[0].token_ids, expectedIds.slice(0, 4));
});
