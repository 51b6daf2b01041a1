// The conversation's KV cache across turns (worker/session.ts): a turn reuses what the cache holds of its prompt and
// prefills only the rest, with logits identical to a from-scratch prefill of the same prompt; images already in the
// kept prefix are neither decoded nor encoded again; a cut (Edit, Regenerate) in an earlier attention chunk than the
// newest written one restarts at that chunk's start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { createNodeGpu } from '../cli/node-gpu.ts';
import { FsModelFiles } from '../cli/fs-model-files.ts';
import { maxAbsDiff } from '../testing/gpu.ts';
import { reusablePrefix } from './model/llama4.ts';
import type { TextConfig } from './model/config.ts';
import { ModelSession, type Prompt, type PromptImage, type PromptMessage } from './session.ts';
import { imageKey } from './chat-input.ts';
import { decodePng } from './image/png.ts';
import { fixturesDir } from '../testing/fixtures.ts';

const greedy = { maxNewTokens: 12, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true };
const CHUNK = 16; // tiny-scout's attention_chunk_size

test('reusablePrefix: any cut on NoPE-only models; on chunked layers a cut before the newest chunk goes back to its chunk start', () => {
  const chunked = { usesRope: [true, true, true, false], attentionChunkSize: 16 } as TextConfig;
  const nope = { usesRope: [false, false], attentionChunkSize: 16 } as TextConfig;
  assert.equal(reusablePrefix(nope, 100, 37), 37);
  assert.equal(reusablePrefix(chunked, 0, 0), 0);
  assert.equal(reusablePrefix(chunked, 100, 100), 100, 'extending the cache keeps all of it');
  assert.equal(reusablePrefix(chunked, 100, 97), 97, 'a cut in the newest chunk (96..99) keeps the cut');
  assert.equal(reusablePrefix(chunked, 100, 96), 96, 'a cut at a chunk boundary keeps the cut');
  assert.equal(reusablePrefix(chunked, 100, 37), 32, 'a cut in an earlier chunk restarts at its start');
  assert.equal(reusablePrefix(chunked, 100, 15), 0);
  assert.equal(reusablePrefix(chunked, 32, 31), 31, 'the newest written position 31 is in chunk 16..31');
  assert.equal(reusablePrefix(chunked, 10, 50), 10, 'never more than the cache holds');
});

/** Logit rows [from, to) of a prefill with every row's logits. */
async function rows(session: ModelSession, prompt: Prompt, reuse: boolean, onTile?: (done: number, total: number) => void): Promise<{ logits: Float32Array; reused: number }> {
  const { reused } = await session.prefill(prompt, { reuse, allLogits: true, onTile });
  const V = session.config.text.vocabSize;
  const logits = await session.ctx.readF32(session.model.state.logits, 0, prompt.ids.length * V);
  return { logits: logits.subarray(reused * V), reused };
}

/** Counts decodes and pixel requests of an image, to show what a turn did again. */
function counted(image: PromptImage, counts: { pixels: number }): PromptImage {
  return { ...image, pixels: () => (counts.pixels++, image.pixels()) };
}

for (const weights of ['f32', 'q4'] as const) {
  for (const expertSlots of [undefined, 1]) {
    const mode = `${weights}${expertSlots ? ', experts paged through 1 slot' : ''}`;
    test(`tiny-scout ${mode}: turn 2 after an image turn reuses the cache, logits equal a from-scratch prefill; cuts across chunks`, async () => {
      const { ctx } = await createNodeGpu();
      const dir = join(fixturesDir(), 'tiny-scout');
      const session = await ModelSession.load(ctx, new FsModelFiles(join(dir, 'model')), { weights, contextLength: 512, expertSlots });
      const png = await readFile(join(dir, 'reference', 'images', 'wide.png'));
      const key = await imageKey(png);
      let decodes = 0;
      const decode = async () => (decodes++, decodePng(png, inflateSync));
      const counts = { pixels: 0 };
      const image = counted(await session.image(key, decode), counts);
      assert.equal(decodes, 1);

      // Turn 1: an image and a question, a greedy reply.
      const turn1: PromptMessage[] = [
        { role: 'system', content: 'You describe screenshots.' },
        { role: 'user', content: 'What is in this screenshot?', images: [image] },
      ];
      const prompt1 = session.prompt(turn1);
      const tiles: number[] = [];
      const reply = await session.generate(prompt1, greedy, () => {}, undefined, { onTile: (done) => tiles.push(done) });
      assert.equal(reply.stats.cachedPromptTokens, 0, 'nothing to reuse on the first turn');
      assert.deepEqual(tiles, [0, 1, 2, 3, 4], 'turn 1 says it starts reading, then encodes the 4 tiles');
      assert.equal(counts.pixels, 1);
      assert.equal(session.cachedTokens, prompt1.ids.length + greedy.maxNewTokens - 1, 'the reply joined the cache (the last sampled token is not run)');

      // Turn 2: the same picture (recognised by its bytes, not decoded again) and the reply in the history.
      const again = counted(await session.image(key, decode), counts);
      assert.equal(decodes, 1, 'an image already seen is not decoded to lay out the prompt');
      const turn2: PromptMessage[] = [
        { role: 'system', content: 'You describe screenshots.' },
        { role: 'user', content: 'What is in this screenshot?', images: [again] },
        { role: 'assistant', content: reply.text },
        { role: 'user', content: 'And what colour is it?' },
      ];
      const prompt2 = session.prompt(turn2);
      const held = session.cachedTokens;
      const tiles2: number[] = [];
      const reusedRun = await rows(session, prompt2, true, (done) => tiles2.push(done));
      // The cache held turn 1's prompt and the reply's tokens; turn 2's prompt agrees with them up to where the
      // template's text of the reply tokenizes differently from the sampled tokens (at the latest).
      const heldIds = [...prompt1.ids, ...reply.tokenIds.slice(0, -1)];
      let common = 0;
      while (common < heldIds.length && heldIds[common] === prompt2.ids[common]) common++;
      assert.ok(common >= prompt1.ids.length - 1, `turn 2 agrees with turn 1's prompt up to its last token or further (${common} of ${prompt1.ids.length})`);
      assert.equal(reusedRun.reused, reusablePrefix(session.config.text, held, common), `kept ${reusedRun.reused} of ${prompt2.ids.length}, common prefix ${common}, cache held ${held}`);
      assert.ok(reusedRun.reused < prompt2.ids.length);
      assert.equal(counts.pixels, 1, 'the image in the kept prefix is not encoded again');
      assert.deepEqual(tiles2, [], 'turn 2 reports no image reading (the UI shows "Reading image" only on a report)');
      const scratch = await rows(session, prompt2, false);
      assert.equal(scratch.reused, 0);
      const d = maxAbsDiff(reusedRun.logits, scratch.logits.subarray(reusedRun.reused * session.config.text.vocabSize));
      console.log(`${mode}: turn 2 reused ${reusedRun.reused} of ${prompt2.ids.length} prompt tokens, max |Δlogit| vs from scratch ${d}`);
      assert.ok(d <= 1e-6, `turn 2 logits with reuse vs from scratch: max |Δ| ${d}`);
      assert.equal(counts.pixels, 2, 'from scratch encodes the image again');

      // generate() on the same prompt again (Regenerate): everything but the last token is kept, same tokens.
      const regen = await session.generate(prompt2, greedy, () => {});
      assert.equal(regen.stats.cachedPromptTokens, prompt2.ids.length - 1);
      const regenScratch = await session.generate(prompt2, greedy, () => {}, undefined, { reuse: false });
      assert.equal(regenScratch.stats.cachedPromptTokens, 0);
      assert.deepEqual(regen.tokenIds, regenScratch.tokenIds);

      // Cuts (Edit): the cache holds exactly prompt2; the prompt changes from `at` on.
      const ids = prompt2.ids;
      const L = ids.length;
      for (const at of [L - 3, Math.floor((L - 1) / CHUNK) * CHUNK, Math.floor((L - 1) / CHUNK) * CHUNK - 5]) {
        await session.prefill(prompt2, { reuse: false }); // cache: exactly prompt2
        const edited: Prompt = { ids: [...ids.slice(0, at), 7, 8, 9], images: prompt2.images };
        const expected = at % CHUNK === 0 || Math.floor(at / CHUNK) === Math.floor((ids.length - 1) / CHUNK) ? at : Math.floor(at / CHUNK) * CHUNK;
        const cut = await rows(session, edited, true);
        assert.equal(cut.reused, expected, `cut at ${at} of ${ids.length}: keeps ${cut.reused}`);
        const fresh = await rows(session, edited, false);
        const V = session.config.text.vocabSize;
        const dc = maxAbsDiff(cut.logits, fresh.logits.subarray(cut.reused * V));
        assert.ok(dc <= 1e-6, `cut at ${at}: max |Δ| ${dc}`);
      }

      // The restart matters: running from a cut in an earlier chunk as if its slots were intact gives other logits.
      const at = Math.floor((ids.length - 1) / CHUNK) * CHUNK - 5;
      await session.prefill(prompt2, { reuse: false });
      const tail = Uint32Array.from([...ids.slice(at, ids.length - 3), 7, 8, 9]);
      await session.model.forward(tail, at);
      const naive = await ctx.readF32(session.model.state.logits, 0, session.config.text.vocabSize);
      await session.prefill({ ids: [...ids.slice(0, ids.length - 3), 7, 8, 9], images: prompt2.images }, { reuse: false });
      const right = await ctx.readF32(session.model.state.logits, 0, session.config.text.vocabSize);
      assert.ok(maxAbsDiff(naive, right) > 1e-3, `overwritten chunk slots change the logits (max |Δ| ${maxAbsDiff(naive, right)})`);
      session.destroy();
    });
  }
}

test('a different picture with the same tile grid is not taken from the cache', async () => {
  const { ctx } = await createNodeGpu();
  const dir = join(fixturesDir(), 'tiny-scout');
  const session = await ModelSession.load(ctx, new FsModelFiles(join(dir, 'model')), { weights: 'f32', contextLength: 256 });
  const png = await readFile(join(dir, 'reference', 'images', 'wide.png'));
  const decoded = decodePng(png, inflateSync);
  const inverted = { ...decoded, data: decoded.data.map((v, i) => (i % 4 === 3 ? v : 255 - v)) };
  const a = await session.image('a', async () => decoded);
  const b = await session.image('b', async () => inverted);
  assert.deepEqual(a.grid, b.grid);
  const pa = session.prompt([{ role: 'user', content: 'Describe.', images: [a] }]);
  const pb = session.prompt([{ role: 'user', content: 'Describe.', images: [b] }]);
  assert.deepEqual(pa.ids, pb.ids, 'same token ids');
  await session.prefill(pa, { reuse: false });
  const { reused } = await session.prefill(pb, { reuse: true });
  const firstPatch = pb.images[0].tileRows[0];
  assert.ok(firstPatch > 0);
  assert.equal(reused, reusablePrefix(session.config.text, pa.ids.length, firstPatch), 'the cache is kept only up to the first patch of the other picture');
  assert.ok(ctx.cachedBindGroups > 0);
  session.destroy();
  assert.equal(ctx.cachedBindGroups, 0, 'a destroyed session leaves no bind groups holding its buffers');
});

test('an edit before an image (known by its key) decodes it again only when its tiles must be encoded, and logits match', async () => {
  const { ctx } = await createNodeGpu();
  const dir = join(fixturesDir(), 'tiny-scout');
  const session = await ModelSession.load(ctx, new FsModelFiles(join(dir, 'model')), { weights: 'q4', contextLength: 256 });
  const png = await readFile(join(dir, 'reference', 'images', 'wide.png'));
  let decodes = 0;
  const decode = async () => (decodes++, decodePng(png, inflateSync));
  const key = await imageKey(png);
  const turn = async (system: string) => session.prompt([{ role: 'system', content: system }, { role: 'user', content: 'Describe.', images: [await session.image(key, decode)] }]);
  const first = await turn('Be brief.');
  await session.prefill(first, { reuse: true });
  assert.equal(decodes, 1);
  const edited = await turn('Be very detailed.');
  assert.equal(decodes, 1, 'laying out the prompt of a known image decodes nothing');
  const tiles: number[] = [];
  const kept = await session.prefill(edited, { reuse: true, allLogits: true, onTile: (done, total) => tiles.push(total) });
  assert.ok(kept.reused < edited.images[0].tileRows[0], 'the edit comes before the image');
  assert.equal(decodes, 2, 'its tiles are encoded again, so it is decoded again');
  assert.deepEqual(new Set(tiles), new Set([4]), 'all 4 tiles (3 raster + global) are encoded again');
  const V = session.config.text.vocabSize;
  const reused = await ctx.readF32(session.model.state.logits, kept.reused * V * 4, (edited.ids.length - kept.reused) * V);
  await session.prefill(edited, { reuse: false, allLogits: true });
  const scratch = await ctx.readF32(session.model.state.logits, kept.reused * V * 4, (edited.ids.length - kept.reused) * V);
  assert.equal(maxAbsDiff(reused, scratch), 0);
  session.destroy();
});
