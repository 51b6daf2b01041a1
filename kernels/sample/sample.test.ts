import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray } from '../../testing/gpu.ts';
import { SAMPLE_CHUNK, sampleToken, seededRandom, type SampleParams } from './sample.ts';
import { sampleRef } from './sample.ref.ts';

async function gpuSample(logits: Float32Array, banned: number[], p: SampleParams, offset = 0): Promise<number> {
  const ctx = await testGpu();
  const out = ctx.createBuffer(4, 'out');
  const bannedBuf = banned.length ? ctx.upload(new Uint32Array(banned), 'banned') : null;
  const padded = new Float32Array(offset + logits.length).fill(1e9); // the logits of other rows must not count
  padded.set(logits, offset);
  sampleToken(ctx, ctx.upload(padded, 'logits'), offset, logits.length, bannedBuf, banned.length, out, p);
  return (await ctx.readU32(out, 0, 1))[0];
}

async function assertSameAsRef(logits: Float32Array, banned: number[], p: SampleParams, what = ''): Promise<void> {
  assert.equal(await gpuSample(logits, banned, p), sampleRef(logits, banned, p), `${what} ${JSON.stringify(p)}`);
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

// Scout's vocabulary: 99 chunks, the last one partial
test("a vocabulary of Scout's size (202048): greedy, top-k and top-p sampling pick the CPU reference's tokens", async () => {
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
  // the app's sampling (temperature 0.6, top-p 0.9), on these flat logits and on peaked ones like a model's
  for (let draw = 0; draw < 3; draw++) await assertSameAsRef(logits, [3], { temperature: 0.6, topK: 0, topP: 0.9, u: r() }, `draw ${draw}`);
  for (let i = 0; i < 30; i++) logits[(i * 7919) % 202048] = 12 + (i % 7) * 0.5;
  for (let draw = 0; draw < 3; draw++) await assertSameAsRef(logits, [3], { temperature: 0.6, topK: 0, topP: 0.9, u: r() }, `draw ${draw}`);
});

test('top-k 1 is greedy whatever the random number', async () => {
  const logits = randomArray(500, 3, 4);
  const greedy = sampleRef(logits, [], { temperature: 0, topK: 0, topP: 1, u: 0 });
  for (const u of [0, 0.5, 0.999]) assert.equal(await gpuSample(logits, [], { temperature: 1, topK: 1, topP: 1, u }), greedy);
});

// Several chunks of SAMPLE_CHUNK logits (one workgroup each), the last one partial: every pass and both selects
// cross chunk boundaries.
const V = 3 * SAMPLE_CHUNK + 777;

test('greedy over several chunks: ties across chunks go to the lowest index, banned ids and partial chunks', async () => {
  const greedy = { temperature: 0, topK: 0, topP: 1, u: 0 };
  const logits = randomArray(V, 21, 4);
  logits[SAMPLE_CHUNK - 1] = 9; logits[SAMPLE_CHUNK] = 9; logits[3 * SAMPLE_CHUNK + 5] = 9;
  assert.equal(await gpuSample(logits, [], greedy), SAMPLE_CHUNK - 1);
  assert.equal(await gpuSample(logits, [SAMPLE_CHUNK - 1], greedy), SAMPLE_CHUNK);
  assert.equal(await gpuSample(logits, [SAMPLE_CHUNK - 1, SAMPLE_CHUNK], greedy), 3 * SAMPLE_CHUNK + 5);
  logits[V - 1] = 10; // the only token of its kind, the last one
  assert.equal(await gpuSample(logits, [], greedy), V - 1);
  const one = randomArray(SAMPLE_CHUNK + 1, 22, 4); // a chunk of one logit
  one[SAMPLE_CHUNK] = 5;
  assert.equal(await gpuSample(one, [], greedy), SAMPLE_CHUNK);
  assert.equal(await gpuSample(one, [SAMPLE_CHUNK], greedy), sampleRef(one, [SAMPLE_CHUNK], greedy));
  assert.equal(await gpuSample(logits, [3], greedy, 1000), V - 1, 'at an offset');
});

for (const [name, topK, topP] of [['temperature only', 0, 1], ['top-k 50', 50, 1], ['top-p 0.9', 0, 0.9], ['top-k 300 + top-p 0.7', 300, 0.7], ['top-k ≥ vocab + top-p 0.95', V + 5, 0.95]] as const) {
  test(`sampling over several chunks (${name}), banned ids: the CPU reference's tokens`, async () => {
    const logits = randomArray(V, 23, 4);
    const banned = [0, SAMPLE_CHUNK, V - 1];
    logits[SAMPLE_CHUNK] = 20; // banned: must not count, nor its mass
    const r = seededRandom(7);
    for (let draw = 0; draw < 8; draw++) await assertSameAsRef(logits, banned, { temperature: 0.6, topK, topP, u: r() }, `draw ${draw}`);
    for (const u of [0, 1e-6, 0.999999]) await assertSameAsRef(logits, banned, { temperature: 0.6, topK, topP, u });
  });
}

test('u at the ends, all the mass in one token, very small and very large temperatures, over several chunks', async () => {
  const logits = randomArray(V, 24, 4);
  logits[V - 1] = 3.99; // a heavy last token: u just below 1 picks it (rounding may leave no chunk past the goal)
  for (const p of [{ topK: 0, topP: 1 }, { topK: 40, topP: 1 }, { topK: 0, topP: 0.9 }, { topK: 40, topP: 0.5 }]) {
    for (const u of [0, 2 ** -24, 0.5, 1 - 2 ** -24]) await assertSameAsRef(logits, [], { temperature: 0.6, ...p, u });
    // (not u = 0 at T = 1e-4: the first token of any weight, e^-700 in the reference's doubles, 0 in f32)
    for (const temperature of [1e-4, 1e4]) {
      for (const u of [1e-3, 0.3, 0.999]) await assertSameAsRef(logits, [], { temperature, ...p, u });
    }
  }
  const peaked = randomArray(V, 25, 4);
  peaked[SAMPLE_CHUNK + 3] = 200; // every other weight underflows
  for (const p of [{ topK: 0, topP: 1 }, { topK: 10, topP: 1 }, { topK: 0, topP: 0.9 }]) {
    for (const u of [0, 0.5, 1 - 2 ** -24]) assert.equal(await gpuSample(peaked, [], { temperature: 0.6, ...p, u }), SAMPLE_CHUNK + 3);
  }
});

test('ties across chunks: top-k keeps every logit equal to the k-th, top-p every token whose strictly-larger mass is below top_p', async () => {
  const r = seededRandom(26);
  const logits = Float32Array.from({ length: V }, () => Math.round(r() * 16) / 4); // 65 distinct values
  for (const p of [{ topK: 100, topP: 1 }, { topK: 0, topP: 0.3 }, { topK: 0, topP: 0.9 }, { topK: 500, topP: 0.6 }]) {
    for (let draw = 0; draw < 4; draw++) await assertSameAsRef(logits, [7], { temperature: 0.8, ...p, u: r() }, `draw ${draw}`);
  }
  // top-p below the top token's share (it alone is kept), then just above it (its two tied runners-up too)
  const two = new Float32Array(V).fill(-50);
  two[4000] = 1; two[100] = 0; two[6000] = 0;
  const w = Math.exp(-1); // the two tied runners-up's weight each, the top token's 1
  for (const topP of [0.5, 1 / (1 + 2 * w) + 1e-3]) {
    for (const u of [0.1, 0.6, 0.95]) await assertSameAsRef(two, [], { temperature: 1, topK: 0, topP, u });
  }
});

// More than 256 chunks: the selects' threads take two chunks each
test("a vocabulary of more than 256 chunks: greedy and sampling pick the CPU reference's tokens", async () => {
  const n = 257 * SAMPLE_CHUNK + 100;
  const logits = randomArray(n, 28, 4);
  logits[SAMPLE_CHUNK + 9] = 9; logits[257 * SAMPLE_CHUNK + 9] = 9; // a tie between chunks 1 and 257, one thread's two
  const greedy = { temperature: 0, topK: 0, topP: 1, u: 0 };
  assert.equal(await gpuSample(logits, [], greedy), SAMPLE_CHUNK + 9);
  assert.equal(await gpuSample(logits, [SAMPLE_CHUNK + 9], greedy), 257 * SAMPLE_CHUNK + 9);
  const r = seededRandom(29);
  for (const [topK, topP] of [[0, 1], [0, 0.9], [1000, 1]]) {
    for (let draw = 0; draw < 2; draw++) await assertSameAsRef(logits, [], { temperature: 0.6, topK, topP, u: r() }, `draw ${draw}`);
  }
});

test('the number of dispatches depends only on greedy or not and on top-k and top-p being on', async () => {
  const ctx = await testGpu();
  const logits = ctx.upload(randomArray(V, 27, 4), 'logits');
  const out = ctx.createBuffer(4, 'out');
  const count = (p: Partial<SampleParams>) => {
    const before = ctx.dispatchCount;
    sampleToken(ctx, logits, 0, V, null, 0, out, { temperature: 0.6, topK: 0, topP: 1, u: 0.5, ...p });
    return ctx.dispatchCount - before;
  };
  assert.equal(count({ temperature: 0, topK: 5, topP: 0.5 }), 2);
  assert.equal(count({}), 3);
  assert.equal(count({ topK: 5 }), 7);
  assert.equal(count({ topK: V }), 3);
  assert.equal(count({ topP: 0.9 }), 7);
  assert.equal(count({ topK: 5, topP: 0.9 }), 11);
  assert.equal(count({ topK: 5, topP: 0.9, u: 0.1, temperature: 1 }), 11);
  await ctx.readU32(out, 0, 1);
});

test('the seeded generator repeats for a seed and differs between seeds', () => {
  const a = seededRandom(1), b = seededRandom(1), c = seededRandom(2);
  const xs = [a(), a(), a()];
  assert.deepEqual(xs, [b(), b(), b()]);
  assert.notDeepEqual(xs, [c(), c(), c()]);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
