import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray } from '../../testing/gpu.ts';
import { sampleToken, seededRandom, type SampleParams } from './sample.ts';
import { sampleRef } from './sample.ref.ts';

async function gpuSample(logits: Float32Array, banned: number[], p: SampleParams): Promise<number> {
  const ctx = await testGpu();
  const out = ctx.createBuffer(4, 'out');
  const bannedBuf = banned.length ? ctx.upload(new Uint32Array(banned), 'banned') : null;
  sampleToken(ctx, ctx.upload(logits, 'logits'), 0, logits.length, bannedBuf, banned.length, out, p);
  return (await ctx.readU32(out, 0, 1))[0];
}

test('greedy picks the argmax (lowest index on ties) and honours banned ids', async () => {
  const logits = randomArray(1000, 1, 5);
  logits[700] = 9; logits[300] = 9; logits[10] = 12;
  const p = { temperature: 0, topK: 0, topP: 1, u: 0 };
  assert.equal(await gpuSample(logits, [], p), 10);
  assert.equal(await gpuSample(logits, [10], p), 300);
  assert.equal(await gpuSample(logits, [10], p), sampleRef(logits, [10], p));
});

for (const [name, topK, topP] of [['temperature only', 0, 1], ['top-k 5', 5, 1], ['top-p 0.8', 0, 0.8], ['top-k 20 + top-p 0.5', 20, 0.5]] as const) {
  test(`sampling (${name}) picks the same token as the CPU reference for many draws`, async () => {
    const logits = randomArray(3000, 7, 4);
    const r = seededRandom(42);
    for (let draw = 0; draw < 12; draw++) {
      const p = { temperature: 0.7, topK, topP, u: r() };
      assert.equal(await gpuSample(logits, [1, 2], p), sampleRef(logits, [1, 2], p), `draw ${draw} u=${p.u}`);
    }
  });
}

// Scout's vocabulary: ~790 logits per thread, many batches of loads per thread in every pass, a ragged last batch
test("a vocabulary of Scout's size (202048): greedy and top-k sampling pick the CPU reference's tokens", async () => {
  const logits = randomArray(202048, 11, 4);
  logits[150001] = 30; logits[7] = 30; // a tie: the lowest index wins
  const greedy = { temperature: 0, topK: 0, topP: 1, u: 0 };
  assert.equal(await gpuSample(logits, [], greedy), 7);
  assert.equal(await gpuSample(logits, [7], greedy), 150001);
  logits[7] = logits[150001] = 0;
  assert.equal(await gpuSample(logits, [], greedy), sampleRef(logits, [], greedy));
  const r = seededRandom(5);
  for (let draw = 0; draw < 6; draw++) {
    const p = { temperature: 0.8, topK: 40, topP: 1, u: r() };
    assert.equal(await gpuSample(logits, [3, 202047], p), sampleRef(logits, [3, 202047], p), `draw ${draw} u=${p.u}`);
  }
});

test('top-k 1 is greedy whatever the random number', async () => {
  const logits = randomArray(500, 3, 4);
  const greedy = sampleRef(logits, [], { temperature: 0, topK: 0, topP: 1, u: 0 });
  for (const u of [0, 0.5, 0.999]) assert.equal(await gpuSample(logits, [], { temperature: 1, topK: 1, topP: 1, u }), greedy);
});

test('the seeded generator repeats for a seed and differs between seeds', () => {
  const a = seededRandom(1), b = seededRandom(1), c = seededRandom(2);
  const xs = [a(), a(), a()];
  assert.deepEqual(xs, [b(), b(), b()]);
  assert.notDeepEqual(xs, [c(), c(), c()]);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
