import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { Reference } from '../../cli/reference.ts';
import { ModelSession } from '../session.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { ExpertPager, TRAFFIC_HISTORY, type ExpertSource } from './pager.ts';
import { createLinearPool } from '../../kernels/linear/pool.ts';
import type { MatrixPart } from '../model/engine-tensors.ts';

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  for (const weights of ['f32', 'q4'] as const) {
    test(`${fixture} ${weights}: paged experts (1 slot per layer) give bit-identical logits and greedy tokens`, async () => {
      const { ctx } = await createNodeGpu();
      const dir = join(fixturesDir(), fixture);
      const ref = await Reference.load(join(dir, 'reference'));
      const files = new FsModelFiles(join(dir, 'model'));
      const resident = await ModelSession.load(ctx, files, { weights, contextLength: 256, vision: false });
      const paged = await ModelSession.load(ctx, files, { weights, contextLength: 256, vision: false, expertSlots: 1 });
      for (const name of ['chat', 'long']) {
        const ids = ref.ids(`${name}.input_ids`);
        const a = await resident.logitsFor(ids);
        const b = await paged.logitsFor(ids);
        assert.ok(a.every((v, i) => Object.is(v, b[i])), `${name}: logits differ`);
      }
      const prompt = ref.ids('chat.input_ids');
      const opts = { maxNewTokens: 20, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true };
      const r1 = await resident.generate(prompt, opts, () => {});
      const r2 = await paged.generate(prompt, opts, () => {});
      assert.deepEqual(r2.tokenIds, r1.tokenIds);
      const s = paged.model.pager!.stats;
      assert.ok(s.misses > 0 && s.hits > 0 && s.bytesRead > 0, JSON.stringify(s));
      assert.ok(s.prefetchAccuracy !== null && s.prefetchAccuracy >= 0 && s.prefetchAccuracy <= 1);
      assert.equal(resident.model.pager, null);
      resident.destroy();
      paged.destroy();
    });
  }
}

test('the pager evicts the least recently used slot and counts hits, misses and predictions', async () => {
  const { ctx } = await createNodeGpu();
  const reads: number[] = [];
  const part = (rows: number, cols: number): MatrixPart => ({ part: 'p', format: 'f32', rows, cols, data: new Float32Array(rows * cols) });
  const source: ExpertSource = {
    async read(_l, e) {
      reads.push(e);
      return [part(4, 8), part(8, 4)];
    },
    bytesOf: () => 256,
  };
  const pager = new ExpertPager(ctx, 2, source);
  pager.accept(0, 0, [part(4, 8), part(8, 4)], { gateUp: createLinearPool(ctx, 'gu', 'f32', 2, 4, 8), down: createLinearPool(ctx, 'd', 'f32', 2, 8, 4) });
  await pager.ensure(0, [1]); // miss → slot 0
  await pager.ensure(0, [2]); // miss → slot 1
  await pager.ensure(0, [1]); // hit
  const slots = await pager.ensure(0, [3]); // evicts expert 2 (least recently used)
  assert.equal(slots.get(3), 1);
  assert.deepEqual(reads, [1, 2, 3]);
  pager.predict(0, [1, 5]); // starts reads of the predicted experts
  await pager.ensure(0, [1, 3]); // both resident; 1 of 2 predicted
  assert.deepEqual(reads.slice(3).sort(), [1, 5]);
  assert.equal(pager.stats.misses, 3);
  assert.equal(pager.stats.hits, 3);
  assert.equal(pager.stats.prefetchAccuracy, 0.5);
  await assert.rejects(pager.ensure(0, [1, 2, 3]), /do not fit/);

  // the traffic plot's history: the experts of the latest steps, oldest first, at most TRAFFIC_HISTORY of them
  assert.deepEqual(pager.traffic()[0].recent, [[1], [2], [1], [3], [1, 3]]);
  for (let i = 0; i < TRAFFIC_HISTORY; i++) await pager.ensure(0, [i % 2 ? 1 : 3]);
  const recent = pager.traffic()[0].recent;
  assert.equal(recent.length, TRAFFIC_HISTORY);
  assert.deepEqual(recent.at(-1), [1]);
  assert.deepEqual(pager.traffic()[0].used, [1]);
});

test('a GPU budget for experts becomes slots per layer (Scout q4: 67.5 MiB per expert, 48 MoE layers)', async () => {
  const { readFileSync } = await import('node:fs');
  const { parseConfig } = await import('../model/config.ts');
  const { slotsForBudget } = await import('../session.ts');
  const scout = parseConfig(JSON.parse(readFileSync(join(fixturesDir(), 'configs/Llama-4-Scout-17B-16E-Instruct.config.json'), 'utf8')));
  const perLayerExpert = 70_778_880;
  assert.equal(slotsForBudget(scout, 'q4', 48 * perLayerExpert * 4), 4);
  assert.equal(slotsForBudget(scout, 'q4', 48 * perLayerExpert * 4 - 1), 3);
  assert.equal(slotsForBudget(scout, 'q4', 1), 1);
  assert.equal(slotsForBudget(scout, 'q4', 1e15), 16);
});

test('the RAM tier keeps recently read experts up to its budget and shares concurrent reads', async () => {
  const { CachedExperts } = await import('./pager.ts');
  let reads = 0;
  const part: MatrixPart = { part: 'p', format: 'f32', rows: 1, cols: 4, data: new Float32Array(4) };
  const slow: ExpertSource = {
    read: async () => {
      reads++;
      await new Promise((r) => setTimeout(r, 5));
      return [part];
    },
    bytesOf: () => 100,
  };
  const tier = new CachedExperts(slow, 250); // room for two experts
  await Promise.all([tier.read(0, 1), tier.read(0, 1)]);
  assert.equal(reads, 1, 'one request for two concurrent reads');
  await tier.read(0, 2);
  await tier.read(0, 1); // hit, now most recent
  await tier.read(0, 3); // evicts expert 2
  await tier.read(0, 1); // still cached
  assert.equal(reads, 3);
  await tier.read(0, 2); // was evicted
  assert.equal(reads, 4);
});

test('speculative paged steps (one id read-back per pass, re-run from the first miss) equal the resident model: prefill pieces, decode, several misses in a token, wrong guesses', async () => {
  const { ctx } = await createNodeGpu();
  const dir = join(fixturesDir(), 'tiny-scout'); // 4 MoE layers of 4 experts, top-1
  const ref = await Reference.load(join(dir, 'reference'));
  const files = new FsModelFiles(join(dir, 'model'));
  const resident = await ModelSession.load(ctx, files, { weights: 'q4', contextLength: 256, vision: false });
  const prompt = ref.ids('chat.input_ids');
  const opts = { maxNewTokens: 16, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true };
  const want = await resident.generate(prompt, opts, () => {});
  for (const [slots, guesses] of [[1, true], [2, true], [2, false]] as const) {
    const paged = await ModelSession.load(ctx, files, { weights: 'q4', contextLength: 256, vision: false, expertSlots: slots });
    const pager = paged.model.pager!;
    pager.prefetchGuesses = guesses;
    // misses per speculative step, seen through the pager's own entry points
    const perStep: number[] = [];
    const begin = pager.beginStep.bind(pager), end = pager.endStep.bind(pager);
    let at = 0;
    pager.beginStep = (...a) => ((at = pager.stats.misses), begin(...a));
    pager.endStep = async () => {
      const from = await end();
      if (from < 0) perStep.push(pager.stats.misses - at);
      return from;
    };
    // prefill pieces that fit the slots run speculatively too (2 tokens × top-1 in 2 slots), from cold slots
    const short = prompt.slice(0, slots);
    const a = await resident.logitsFor(short);
    const b = await paged.logitsFor(short);
    assert.ok(a.every((v, i) => Object.is(v, b[i])), `${slots} slots: logits of a ${slots}-token piece differ`);
    assert.ok(perStep.length === 1 && perStep[0] >= 2, `the cold piece misses in several layers: ${perStep}`);
    const s = pager.stats;
    assert.ok(s.reruns >= 1 && s.readbacks === s.reruns + 1, `one read-back per pass: ${JSON.stringify(s)}`);
    const got = await paged.generate(prompt, opts, () => {});
    assert.deepEqual(got.tokenIds, want.tokenIds, `${slots} slots, guesses ${guesses}: paged decode differs`);
    assert.ok(s.speculativeSteps >= opts.maxNewTokens, `decode steps ran speculatively: ${s.speculativeSteps}`);
    assert.ok(perStep.some((m) => m >= 2), `some decoded token missed in several layers: ${perStep}`);
    assert.ok(s.rerunLayers > 0 && s.rerunLayers <= 4 * s.reruns);
    if (slots === 1) assert.ok(s.wastedUploads > 0 || (s.prefetchAccuracy ?? 1) < 1, `a re-run guessed wrong at least once: ${JSON.stringify(s)}`);
    paged.destroy();
  }
  resident.destroy();
});
