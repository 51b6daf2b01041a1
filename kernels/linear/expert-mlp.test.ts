import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose, kernelVariants } from '../../testing/gpu.ts';
import { routeTopKWg } from '../router/router.ts';
import { routerRef } from '../router/router.ref.ts';
import { GpuContext } from '../runtime.ts';
import { uploadLinear, type MatvecShape, type WeightFormat } from './linear.ts';
import { dequantizeQ4, quantizeQ4 } from './q4-format.ts';
import { denseMlp, denseMlpFusable, expertDown, expertGateUp, expertMlpFusable, integerActivations, overrideExpertShapes } from './expert-mlp.ts';
import { denseMlpRef, expertMlpRef } from './expert-mlp.ref.ts';
import { dequantizeXRef } from './quantize-x.ref.ts';

const rowsOf = (w: Float32Array, cols: number) => (start: number, count: number) => w.subarray(start * cols, (start + count) * cols);
const NONE = 0xffffffff;

/** the weights as the GPU holds them (q4: quantized and back) */
function asStored(format: WeightFormat, w: Float32Array, rows: number, cols: number): Float32Array {
  return format === 'q4' ? dequantizeQ4(quantizeQ4(w, rows, cols), rows, cols) : w;
}

async function setup(format: WeightFormat, tokens: number, k: number, maxBindingBytes?: number, integerDot = false, E = 5, subgroups = true) {
  const base = await testGpu();
  const ctx = new GpuContext(base.device, { cpuKernels: false, maxBindingBytes, integerDot, subgroups });
  const H = 64, F = 96;
  const pgu = randomArray(E * 2 * F * H, 1 + k, 0.3), pd = randomArray(E * H * F, 2 + k, 0.3);
  const sgu = randomArray(2 * F * H, 3, 0.3), sd = randomArray(H * F, 4, 0.3);
  const pool = {
    gateUp: uploadLinear(ctx, 'pool.gu', format, E * 2 * F, H, rowsOf(pgu, H), 2 * F),
    down: uploadLinear(ctx, 'pool.down', format, E * H, F, rowsOf(pd, F), H),
  };
  const shared = { gateUp: uploadLinear(ctx, 'shared.gu', format, 2 * F, H, rowsOf(sgu, H)), down: uploadLinear(ctx, 'shared.down', format, H, F, rowsOf(sd, F)) };
  const x = randomArray(tokens * H, 7 + tokens);
  const slots = Uint32Array.from({ length: tokens * k }, (_, n) => (n * 3 + 1) % E);
  const scores = Float32Array.from({ length: tokens * k }, (_, n) => 0.2 + 0.15 * n);
  const refOf = (slots: Uint32Array, scores: Float32Array) => expertMlpRef({
    tokens, k, hidden: H, ffn: F, x, slots, scores,
    poolGateUp: asStored(format, pgu, E * 2 * F, H), poolDown: asStored(format, pd, E * H, F),
    sharedGateUp: asStored(format, sgu, 2 * F, H), sharedDown: asStored(format, sd, H, F),
  });
  const ref = refOf(slots, scores);
  const bufs = {
    x: ctx.upload(x, 'x'),
    scores: ctx.upload(scores, 'scores'),
    act: ctx.createBuffer((tokens * k + tokens) * F * 4, 'act'),
    out: ctx.createBuffer(tokens * H * 4, 'out'),
    rest: ctx.createBuffer(Math.max(1, tokens * (k - 1)) * H * 4, 'rest'),
  };
  return { ctx, E, H, F, pool, shared, slots, ref, refOf, bufs };
}

// q4 twice: x as f32, and x in integer form with the 4×8-bit dot product (quantize-x.ts)
for (const [format, integerDot] of [['f32', false], ['q4', false], ['q4', true]] as [WeightFormat, boolean][]) {
  const name = `${format}${integerDot ? ' (integer dot)' : ''}`;
  for (const [tokens, k] of [[1, 1], [3, 1], [2, 2], [4, 3]]) {
    test(`expert MLP ${name}, ${tokens} tokens × top-${k}: fused routed + shared gate+up + SwiGLU and down match the CPU reference`, async () => {
      const { ctx, H, F, pool, shared, slots, ref, bufs } = await setup(format, tokens, k, undefined, integerDot);
      assert.ok(expertMlpFusable(ctx, pool, shared, tokens));
      const slotBuf = ctx.upload(slots, 'slots');
      const integer = integerActivations(ctx, pool);
      assert.equal(integer, integerDot);
      expertGateUp(ctx, pool.gateUp, shared.gateUp, bufs.x, bufs.act, { tokens, k, slots: slotBuf, scores: bufs.scores, withShared: true, integerActivations: integer });
      expertDown(ctx, pool.down, shared.down, bufs.act, bufs.out, k > 1 ? bufs.rest : null, { tokens, k, slots: slotBuf, integerActivations: integer });
      // activations in integer form (quantize-x.wgsl's layout, written by the gate+up epilogue): as the values they stand for
      const rows = tokens * k + tokens;
      const act = integer ? dequantizeXRef(await ctx.readU32(bufs.act, 0, (rows * F * 28) / 32)) : await ctx.readF32(bufs.act, 0, rows * F);
      assertClose(act, ref.act, 1e-4, 'activations (gate+up, SwiGLU)');
      assertClose(await ctx.readF32(bufs.out, 0, tokens * H), ref.out, 1e-4, 'block output');
      if (k > 1) assertClose(await ctx.readF32(bufs.rest, 0, tokens * (k - 1) * H), ref.rest, 1e-4, 'routed rows j ≥ 1');
    });
  }

  test(`expert MLP ${name}: a pager's rounds and a pool in several segments give the one-round result bit for bit`, async () => {
    const tokens = 3, k = 2;
    // a binding limit of two experts' down rows: the pools span several segments
    const limit = 2 * 64 * (format === 'q4' ? 96 / 2 : 96 * 4);
    const { ctx, H, pool, shared, slots, ref, bufs } = await setup(format, tokens, k, limit, integerDot);
    assert.ok(pool.down.segments.length > 1 && pool.gateUp.segments.length > 1, 'several segments');
    const run = (rounds: Uint32Array[]) => {
      rounds.forEach((r, i) => {
        const slotBuf = ctx.upload(r, `round${i}`);
        const integer = integerActivations(ctx, pool);
        expertGateUp(ctx, pool.gateUp, shared.gateUp, bufs.x, bufs.act, { tokens, k, slots: slotBuf, scores: bufs.scores, withShared: i === 0, integerActivations: integer });
        expertDown(ctx, pool.down, shared.down, bufs.act, bufs.out, bufs.rest, { tokens, k, slots: slotBuf, integerActivations: integer });
      });
    };
    const read = async () => [await ctx.readF32(bufs.out, 0, tokens * H), await ctx.readF32(bufs.rest, 0, tokens * (k - 1) * H)];
    run([slots]);
    const [out1, rest1] = await read();
    assertClose(out1, ref.out, 1e-4, 'one round');
    assertClose(rest1, ref.rest, 1e-4, 'one round, rows j ≥ 1');
    ctx.write(bufs.out, new Float32Array(tokens * H).fill(NaN));
    ctx.write(bufs.rest, new Float32Array(tokens * (k - 1) * H).fill(NaN));
    // three rounds, each holding some of the experts (the others: 0xffffffff), in an order unlike the items'
    const groups = [[4], [1, 2], [0, 3]];
    run(groups.map((g) => Uint32Array.from(slots, (s) => (g.includes(s) ? s : NONE))));
    const [out2, rest2] = await read();
    assert.ok(out2.every((v, i) => Object.is(v, out1[i])), 'block output differs between one round and three');
    assert.ok(rest2.every((v, i) => Object.is(v, rest1[i])), 'routed rows differ between one round and three');
  });

  test(`dense MLP ${name}: gate+up + SwiGLU and down in two dispatches match the CPU reference`, async () => {
    const base = await testGpu();
    const ctx = new GpuContext(base.device, { cpuKernels: false, integerDot });
    const H = 64, F = 160, tokens = 3;
    const gu = randomArray(2 * F * H, 20, 0.3), d = randomArray(H * F, 21, 0.3);
    const m = { gateUp: uploadLinear(ctx, 'gu', format, 2 * F, H, rowsOf(gu, H)), down: uploadLinear(ctx, 'down', format, H, F, rowsOf(d, F)) };
    assert.ok(denseMlpFusable(ctx, m, tokens));
    const x = randomArray(tokens * H, 22);
    const act = ctx.createBuffer(tokens * F * 4, 'act');
    const y = ctx.createBuffer(tokens * H * 4, 'y');
    denseMlp(ctx, m, ctx.upload(x, 'x'), act, y, tokens);
    const ref = denseMlpRef(asStored(format, gu, 2 * F, H), asStored(format, d, H, F), H, F, x, tokens);
    assertClose(await ctx.readF32(y, 0, tokens * H), ref, 1e-4, 'dense MLP');
  });
}

// Top-1 routing in the kernels (routeExperts: the router logits where the slots go): ties, negative logits, ±0, ±∞
// and NaN picked as the top-k kernel picks them, so the output is, bit for bit, that of the kernels given the top-k
// kernel's ids and scores, and (logits without NaN) the CPU reference on routerRef's picks; one segment and several;
// 5 experts, and 160 (more than a 128-thread workgroup: two logits per thread to load).
const wide = (E: number) => {
  const row = (seed: number, f: (v: number) => number) => Array.from(randomArray(E, seed, 3), f);
  const tie = row(41, (v) => v);
  tie[37] = tie[141] = Math.max(...tie) + 1;
  return [row(40, (v) => v), tie, row(42, (v) => -Math.abs(v) - 0.1), Array.from({ length: E }, (_, e) => (e >= E - 2 ? -1 : -2.5))];
};
const routeCases = [
  { E: 5, expect: [1, 1, 1, 0], batches: [
    [[-3.2, -0.5, -1.1, -0.5001, -7], [0.3, 1.25, -2, 1.25, 0.7], [-1, -0, 0, -0.5, -2], [-0.75, -0.75, -0.75, -0.75, -0.75]],
    [[NaN, 2, 3, 1, 0], [1, NaN, 4, NaN, 4], [-Infinity, -Infinity, -5, -Infinity, -5], [NaN, NaN, NaN, NaN, NaN]],
  ] },
  { E: 160, expect: null, batches: [wide(160)] },
];
for (const format of ['f32', 'q4'] as const) {
  test(`expert MLP ${format}: top-1 routing in the kernels from the router logits matches the top-k dispatch and the CPU reference`, async () => {
    const tokens = 4, k = 1;
    for (const [variant, base] of (await kernelVariants()).filter(([name]) => name.startsWith('gpu variant'))) {
      for (const [limit, { E: experts, expect, batches }] of [[undefined, routeCases[0]], [2 * 64 * (format === 'q4' ? 96 / 2 : 96 * 4), routeCases[0]], [undefined, routeCases[1]]] as const) {
        const { ctx, E, H, pool, shared, refOf, bufs } = await setup(format, tokens, k, limit, base.integerDot, experts);
        const what = `${variant}, ${E} experts, ${pool.gateUp.segments.length} segment(s)`;
        const integer = integerActivations(ctx, pool);
        const run = async (slots: GPUBuffer, scores: GPUBuffer, routeExperts?: number) => {
          ctx.write(bufs.out, new Float32Array(tokens * H).fill(NaN));
          expertGateUp(ctx, pool.gateUp, shared.gateUp, bufs.x, bufs.act, { tokens, k, slots, scores, routeExperts, withShared: true, integerActivations: integer });
          expertDown(ctx, pool.down, shared.down, bufs.act, bufs.out, null, { tokens, k, slots, routeExperts, integerActivations: integer });
          return ctx.readF32(bufs.out, 0, tokens * H);
        };
        for (const [b, rows] of batches.entries()) {
          const logits = new Float32Array(rows.flat());
          const logitBuf = ctx.upload(logits, 'logits');
          const ids = ctx.createBuffer(tokens * 4, 'ids');
          const scores = ctx.createBuffer(tokens * 4, 'scores');
          routeTopKWg(ctx, logitBuf, ids, scores, tokens, E, k);
          const viaTopK = await run(ids, scores);
          const inKernel = await run(logitBuf, bufs.scores, E);
          assert.ok(inKernel.every((v, i) => Object.is(v, viaTopK[i])), `${what}, batch ${b}: differs from the top-k dispatch's routing`);
          if (b === 0) {
            const r = routerRef(logits, tokens, E, k);
            assert.deepEqual([...r.ids], expect ?? [r.ids[0], 37, r.ids[2], E - 2]);
            assertClose(inKernel, refOf(r.ids, r.scores).out, 1e-4, `${what}: block output against the CPU reference`);
          }
        }
      }
    }
  });
}

test('the fused expert path is for GPU variants and decode-sized batches only', async () => {
  const base = await testGpu();
  const { pool, shared } = await setup('f32', 1, 1);
  assert.equal(expertMlpFusable(new GpuContext(base.device, { cpuKernels: true }), pool, shared, 1), false);
  assert.equal(expertMlpFusable(new GpuContext(base.device, { cpuKernels: false }), pool, shared, 5), false);
});

// The q4 expert kernels' row sums by subgroup shuffles at the test device's subgroup size (SwiftShader: 4; CT = 4 with
// no workgroup memory, CT 8 and 32 through it), the built-in shapes (R = 8: no subgroups at size 4), and without
// subgroups; x and the activations as f32 and in integer form (the gate+up epilogue keeps 64 rows per workgroup).
for (const integerDot of [false, true]) {
  test(`expert MLP q4${integerDot ? ' (integer dot)' : ''}: row sums by subgroups and without match the CPU reference over launch shapes`, async () => {
    const tokens = 2, k = 2;
    const shapeSets: { gateUp?: MatvecShape; down?: MatvecShape }[] = [
      { gateUp: { WG: 128, CT: 4, R: 2 }, down: { WG: 64, CT: 4, R: 4 } },
      { gateUp: { WG: 256, CT: 8, R: 2 }, down: { WG: 128, CT: 32, R: 4 } },
      {},
    ];
    try {
      for (const subgroups of [true, false]) {
        for (const shapes of shapeSets) {
          overrideExpertShapes(shapes);
          const what = `${JSON.stringify(shapes)} subgroups=${subgroups}`;
          const { ctx, H, F, pool, shared, slots, ref, bufs } = await setup('q4', tokens, k, undefined, integerDot, 5, subgroups);
          const names: string[] = [];
          const dispatch = ctx.dispatch.bind(ctx);
          ctx.dispatch = (d) => {
            names.push(d.kernel.name);
            dispatch(d);
          };
          const slotBuf = ctx.upload(slots, 'slots');
          expertGateUp(ctx, pool.gateUp, shared.gateUp, bufs.x, bufs.act, { tokens, k, slots: slotBuf, scores: bufs.scores, withShared: true, integerActivations: integerDot });
          expertDown(ctx, pool.down, shared.down, bufs.act, bufs.out, bufs.rest, { tokens, k, slots: slotBuf, integerActivations: integerDot });
          const rows = tokens * k + tokens;
          const act = integerDot ? dequantizeXRef(await ctx.readU32(bufs.act, 0, (rows * F * 28) / 32)) : await ctx.readF32(bufs.act, 0, rows * F);
          assertClose(act, ref.act, 1e-4, `activations ${what}`);
          assertClose(await ctx.readF32(bufs.out, 0, tokens * H), ref.out, 1e-4, `block output ${what}`);
          assertClose(await ctx.readF32(bufs.rest, 0, tokens * (k - 1) * H), ref.rest, 1e-4, `routed rows j ≥ 1 ${what}`);
          const experts = names.filter((n) => n.startsWith('expert'));
          assert.equal(experts.length, 2, what);
          if (!subgroups) assert.ok(names.every((n) => !n.endsWith('_subgroups')), `${what}: ${names}`);
          else if (shapes.gateUp) assert.deepEqual(experts, ['expert_q4_subgroups', 'expert_q4_subgroups'], what);
        }
      }
    } finally {
      overrideExpertShapes({});
    }
  });
}
