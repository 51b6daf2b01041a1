// The engine's model manager in Node: import from a Hub-like server into the weight store (fake-indexeddb), list,
// load the stored model with paged experts and chat with it, delete.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeGpu } from '../cli/node-gpu.ts';
import { Reference } from '../cli/reference.ts';
import { Engine } from './engine.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { HubServer } from '../testing/hub-server.ts';
import { fakeStorage, testStore } from '../testing/stores.ts';
import type { ImportProgress } from '../protocol/api.ts';

let hub: HubServer | null = null;
after(() => hub?.close());

test('import from a Hub repo, list, load with paged experts, chat, delete', async () => {
  const fixture = join(fixturesDir(), 'tiny-scout');
  hub = await HubServer.start({ repos: { 'meta-llama/tiny-scout': { main: join(fixture, 'model') } } });
  const gpu = await createNodeGpu();
  const t = testStore({ storage: fakeStorage(1e9) });
  const engine = new Engine(async () => gpu.ctx.device, undefined, undefined, () => t.store);
  const progress: ImportProgress[] = [];
  const info = await engine.importModel({ kind: 'hub', repo: 'meta-llama/tiny-scout', endpoint: hub.url, weights: 'q4', vision: false }, (p) => progress.push(p));
  assert.equal(info.status, 'complete');
  assert.ok(progress.length > 0 && progress.at(-1)!.bytesDone > 0, 'import progress was reported');
  assert.deepEqual((await engine.listModels()).map((m) => m.id), [info.id]);

  await engine.loadStored(info.id, { contextLength: 128, expertSlots: 1, vision: false });
  const ref = await Reference.load(join(fixture, 'reference'));
  const c = ref.cases.find((x) => x.name === 'chat')!;
  const messages = c.messages!.map((m) => ({ role: m.role as 'system' | 'user', content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text ?? '').join('') }));
  const expected = ref.ids('chat.q4.generated_ids').slice(0, 10);
  const result = await engine.generate(messages, { maxNewTokens: 10, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true }, () => {});
  assert.deepEqual(result.tokenIds, expected, 'stored q4 model with paged experts streams the reference greedy tokens');
  assert.ok(result.stats.experts && result.stats.experts.misses > 0, 'experts were paged in from the store');
  assert.equal(await engine.countTokens(messages), result.stats.promptTokens, 'countTokens counts the prompt that generate() ran');
  assert.ok((await engine.countTokens(messages.slice(-1))) < result.stats.promptTokens, 'fewer messages, fewer tokens');

  await assert.rejects(engine.deleteModel(info.id), /in use/);
  await engine.unload();
  await engine.deleteModel(info.id);
  assert.deepEqual(await engine.listModels(), []);
});
