// The decode loop that feeds each sampled token to the next step on the GPU (decode.ts): it gives exactly the tokens
// of a step-by-step loop that reads every token back before recording the next step, paged or resident; stopping
// after a token leaves the speculative step unused; a turn that ends on an end-of-turn token keeps the cache
// consistent (the next turn's logits equal a from-scratch prefill).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { sampleToken } from '../../kernels/sample/sample.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { maxAbsDiff } from '../../testing/gpu.ts';
import { ModelSession } from '../session.ts';
import { decodeTokens } from './decode.ts';

const greedy = { temperature: 0, topK: 0, topP: 1, u: 0 };
const prompt = [1, 17, 99, 230, 41, 5, 77, 300];

async function load(expertSlots?: number, pinnedTierBytes?: number) {
  const { ctx } = await createNodeGpu();
  const dir = join(fixturesDir(), 'tiny-scout', 'model');
  return ModelSession.load(ctx, new FsModelFiles(dir), { weights: 'q4', contextLength: 128, expertSlots, pinnedTierBytes });
}

/** The loop before decode.ts: sample, read the token back, then record its step with the id written by the CPU. */
async function serialDecode(session: ModelSession, n: number): Promise<number[]> {
  const { ctx, model } = session;
  const V = session.config.text.vocabSize;
  const out = ctx.createBuffer(4, 'token');
  await model.forward(Uint32Array.from(prompt), 0);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    sampleToken(ctx, model.state.logits, 0, V, null, 0, out, greedy);
    const id = (await ctx.readU32(out, 0, 1))[0];
    ids.push(id);
    if (i + 1 < n) await model.forward(Uint32Array.of(id), prompt.length + i, { defer: true });
  }
  out.destroy();
  return ids;
}

async function pipelinedDecode(session: ModelSession, n: number, stopAfter = Infinity): Promise<{ ids: number[]; stepped: boolean[] }> {
  const { ctx, model } = session;
  const V = session.config.text.vocabSize;
  const out = ctx.createBuffer(4, 'token');
  await model.forward(Uint32Array.from(prompt), 0);
  const ids: number[] = [];
  const stepped: boolean[] = [];
  await decodeTokens(model, {
    startPos: prompt.length,
    count: n,
    sampled: out,
    sample: () => sampleToken(ctx, model.state.logits, 0, V, null, 0, out, greedy),
    take: (id, i, s) => {
      ids.push(id);
      stepped.push(s);
      return i + 1 < stopAfter;
    },
  });
  ctx.flush();
  out.destroy();
  return { ids, stepped };
}

for (const expertSlots of [undefined, 1]) {
  test(`decodeTokens gives the step-by-step loop's tokens${expertSlots ? ' (experts paged through 1 slot)' : ''}`, async () => {
    const session = await load(expertSlots);
    try {
      const serial = await serialDecode(session, 10);
      const { ids, stepped } = await pipelinedDecode(session, 10);
      assert.deepEqual(ids, serial);
      assert.deepEqual(stepped, [...Array(9).fill(true), false], 'every token but the last has its step recorded before it is read');
      const cut = await pipelinedDecode(session, 10, 4);
      assert.deepEqual(cut.ids, serial.slice(0, 4), 'take() returning false ends the loop');
    } finally {
      session.destroy();
    }
  });
}

test('experts paged in from a pinned tier give the resident tokens; a tier smaller than an expert pins nothing', async () => {
  const resident = await load();
  const expected = await serialDecode(resident, 10);
  resident.destroy();
  for (const [tierBytes, fullTier] of [[64 * 2 ** 20, true], [1, false]] as const) {
    const session = await load(1, tierBytes);
    try {
      const tier = session.model.pager!.uploader.tier!;
      assert.deepEqual((await pipelinedDecode(session, 10)).ids, expected);
      const { misses } = session.model.pager!.stats;
      if (fullTier) {
        assert.ok(tier.fills > 0 && tier.fills < misses, `each expert written once (${tier.fills} writes for ${misses} page-ins)`);
        assert.equal(session.model.pager!.uploader.pinnedBytes, session.model.pager!.uploader.bytes);
      } else {
        assert.equal(tier.fills, 0, 'an expert larger than the tier is not pinned');
        assert.equal(session.model.pager!.uploader.pinnedBytes, 0);
      }
    } finally {
      session.destroy();
    }
  }
});

test('a reply that ends on an end-of-turn token leaves the cache as the conversation: turn 2 logits equal a fresh prefill', async () => {
  const session = await load();
  try {
    const c = session.config.text;
    const sampling = { maxNewTokens: 12, temperature: 0, topK: 0, topP: 1, seed: 0 };
    // make the third greedy token of this prompt an end-of-turn token, so the reply stops there with a step in flight
    const probe = await session.generate(prompt, { ...sampling, ignoreEos: true }, () => {}, () => false, { reuse: false });
    const eos = probe.tokenIds[2];
    c.eosTokenIds.push(eos);
    const stopped = await session.generate(prompt, sampling, () => {}, () => false, { reuse: false });
    assert.equal(stopped.stopReason, 'eos');
    assert.deepEqual(stopped.tokenIds, probe.tokenIds.slice(0, 2));
    const turn2 = [...prompt, ...stopped.tokenIds, eos, 12, 13, 14];
    const { reused } = await session.prefill(session.promptFromIds(turn2), { reuse: true, allLogits: true });
    assert.equal(reused, prompt.length + 2, 'the cache keeps the prompt and the two reply tokens, not the end-of-turn step');
    const V = c.vocabSize;
    const kept = await session.ctx.readF32(session.model.state.logits, reused * V * 4, (turn2.length - reused) * V);
    await session.prefill(session.promptFromIds(turn2), { reuse: false, allLogits: true });
    const fresh = await session.ctx.readF32(session.model.state.logits, reused * V * 4, (turn2.length - reused) * V);
    assert.ok(maxAbsDiff(kept, fresh) < 1e-5, `turn 2 logits: max |Δ| ${maxAbsDiff(kept, fresh)}`);
  } finally {
    session.destroy();
  }
});
