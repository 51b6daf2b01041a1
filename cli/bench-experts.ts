// Benchmark (not a test): the decode expert MLP's two dispatches (expert_q4.wgsl) at Scout's shapes, against the
// streaming-read roofline of the same device in the same run.
//
//   npm run bench -- --experts [--quick] [--variants] [--json]
//
// gate+up: the routed expert's and the shared expert's gate and up rows (2 × 2F × hidden) with SwiGLU in the
// epilogue, activations out as the engine writes them (in integer form where the adapter has the 4×8-bit integer dot
// product); down: the routed and the shared expert's down rows (2 × hidden × F) in one reduction. Each call reads
// another expert of a 16-expert pool and another copy of the shared expert, so that the weights come from memory
// and not from the L2 cache, as in a decode step. --variants also times other launch shapes (a gate+up that writes
// integer activations keeps 64 rows per workgroup). Results are checked against the CPU on sampled rows first.
import { hashFill } from '../kernels/hash-fill/hash-fill.ts';
import { expertDown, expertGateUp, integerActivations, overrideExpertShapes, XQ_OUT_SHAPE } from '../kernels/linear/expert-mlp.ts';
import { matvecShape, weightBytes, type MatvecShape } from '../kernels/linear/linear.ts';
import { dequantizeXRef } from '../kernels/linear/quantize-x.ref.ts';
import { XQ_BLOCK_BYTES } from '../kernels/linear/quantize-x.ts';
import { rooflineRead } from '../kernels/roofline/roofline.ts';
import { destroyWeight, fmt, openKernelBench, randomLinear, rowWeights } from './bench-kernels.ts';

interface ExpertResult {
  kernel: 'gate+up' | 'down';
  variant: string;
  /** bytes of weights one call reads (the routed expert's and the shared expert's rows) */
  bytes: number;
  us: number;
  GBps: number;
  ofRoofline: number;
  spread: number;
  /** the roofline kernel reading the same bytes per dispatch, back to back */
  sizedRooflineGBps: number;
}

const shapeName = (s: MatvecShape) => `WG${s.WG}/CT${s.CT}/R${s.R}`;

/** Launch shapes tried with --variants; with integer activations out, gate+up keeps RW = (WG / CT) · R = 64. */
function gateUpShapes(integer: boolean): MatvecShape[] {
  const all: MatvecShape[] = [];
  for (const WG of [64, 128, 256]) for (const CT of [4, 8, 16, 32, 64]) for (const R of [1, 2, 4, 8]) if (WG % CT === 0 && R <= CT && (WG / CT) * R <= 64) all.push({ WG, CT, R });
  return integer ? all.filter((s) => (s.WG / s.CT) * s.R === 64) : all.filter((s) => (s.WG / s.CT) * s.R >= 16);
}

function downShapes(): MatvecShape[] {
  const all: MatvecShape[] = [];
  for (const WG of [64, 128, 256]) for (const CT of [16, 32, 64, 128]) for (const R of [1, 2, 4, 8]) if (WG % CT === 0 && R <= CT && (WG / CT) * R <= 32) all.push({ WG, CT, R });
  return all;
}

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const [H, F, E] = quick ? [256, 128, 4] : [5120, 8192, 16];
  const { o, s, log, t0, ctx, adapterName, timer, roof } = await openKernelBench(args, (ctx) => [
    `expert MLP of one token: hidden ${H}, FFN ${F}, a pool of ${E} experts + the shared expert, q4${ctx.integerDot ? ', x in integer form' : ''}`,
  ]);

  const pool = { gateUp: randomLinear(ctx, 'q4', E * 2 * F, H, 2 * F), down: randomLinear(ctx, 'q4', E * H, F, H) };
  const sharedBytes = weightBytes('q4', 2 * F, H) + weightBytes('q4', H, F);
  // (two at least, so that --quick checks what a full run does: call i reads copy i % copies)
  const copies = Math.max(2, Math.ceil(s.l2BustBytes / sharedBytes));
  const shared = Array.from({ length: copies }, () => ({ gateUp: randomLinear(ctx, 'q4', 2 * F, H), down: randomLinear(ctx, 'q4', H, F) }));
  const integer = integerActivations(ctx, pool);

  const xHost = new Float32Array(H).map((_, i) => Math.sin(i * 12.9898 + 0.5) * 0.9 + 0.05);
  const x = ctx.upload(xHost, 'x');
  const score = 0.75;
  const scores = ctx.upload(new Float32Array([score]), 'scores');
  const slotBuffers = Array.from({ length: E }, (_, e) => ctx.upload(new Uint32Array([e]), `slot ${e}`));
  // act: the routed row, then the shared row ([2, F] f32, or its integer form)
  const act = ctx.createBuffer(Math.max(2 * F * 4, ((2 * F) / 32) * XQ_BLOCK_BYTES), 'act');
  const y = ctx.createBuffer(H * 4, 'y');
  const gateUp = (i: number, xqOut: boolean) =>
    expertGateUp(ctx, pool.gateUp, shared[i % copies].gateUp, x, act, { tokens: 1, k: 1, slots: slotBuffers[i % E], scores, withShared: true, integerActivations: xqOut });
  const down = (i: number) => expertDown(ctx, pool.down, shared[i % copies].down, act, y, null, { tokens: 1, k: 1, slots: slotBuffers[i % E], integerActivations: integer });

  // correctness on sampled rows of call 1: expert 1 and shared copy 1 % copies (other experts differ only in their offset)
  const checked = shared[1 % copies];
  const checkGateUp = async (xqOut: boolean): Promise<Float32Array> => {
    hashFill(ctx, act, act.size, 2, 777, 1); // no stale result can pass
    gateUp(1, xqOut);
    const got = xqOut ? dequantizeXRef(await ctx.readU32(act, 0, ((2 * F) / 32) * 28)) : await ctx.readF32(act, 0, 2 * F);
    for (const i of sampleRows(F)) {
      for (const [w, scale] of [[pool.gateUp, score], [checked.gateUp, 1]] as const) {
        const base = w === pool.gateUp ? 2 * F : 0;
        const [g, gMag] = dot(await rowWeights(ctx, w, base + i), xHost);
        const [u, uMag] = dot(await rowWeights(ctx, w, base + F + i), xHost);
        const gs = g * scale, us = u * scale;
        const ref = us * (gs / (1 + Math.exp(-gs)));
        const at = (w === pool.gateUp ? 0 : F) + i;
        const tol = 1e-4 * (Math.abs(ref) + (uMag + gMag) * scale * (1 + Math.abs(gs))) + (xqOut ? 2 ** -20 * maxAbs(got, at) : 0);
        if (!(Math.abs(got[at] - ref) <= tol)) throw new Error(`gate+up: activation ${at} is ${got[at]}, expected ${ref}`);
      }
    }
    return got;
  };
  const checkDown = async (actHost: Float32Array): Promise<void> => {
    hashFill(ctx, y, y.size, 2, 778, 1);
    down(1);
    const got = await ctx.readF32(y, 0, H);
    for (const r of sampleRows(H)) {
      const [a, aMag] = dot(await rowWeights(ctx, pool.down, H + r), actHost.subarray(0, F));
      const [b, bMag] = dot(await rowWeights(ctx, checked.down, r), actHost.subarray(F, 2 * F));
      if (!(Math.abs(got[r] - (a + b)) <= 1e-4 * (aMag + bMag))) throw new Error(`down: row ${r} is ${got[r]}, expected ${a + b}`);
    }
  };
  await checkGateUp(false);
  const actHost = await checkGateUp(integer);
  await checkDown(actHost);
  log(`checked against the CPU on sampled rows: gate+up (f32${integer ? ' and integer' : ''} activations), down`);

  const gateUpBytes = 2 * weightBytes('q4', 2 * F, H);
  const downBytes = 2 * weightBytes('q4', H, F);
  const defaultGateUp = integer ? XQ_OUT_SHAPE : matvecShape('q4', 2 * F);
  const defaultDown = matvecShape('q4', H);
  type Variant = { kernel: 'gate+up' | 'down'; name: string; bytes: number; run: (i: number) => void; check?: () => Promise<unknown> };
  const withShape = (k: 'gateUp' | 'down', shape: MatvecShape | undefined, run: () => void) => {
    overrideExpertShapes({ [k]: shape });
    try {
      run();
    } finally {
      overrideExpertShapes({});
    }
  };
  const variants: Variant[] = [
    { kernel: 'gate+up', name: `default ${shapeName(defaultGateUp)}${integer ? ', integer activations' : ''}`, bytes: gateUpBytes, run: (i) => gateUp(i, integer) },
  ];
  if (integer) variants.push({ kernel: 'gate+up', name: `${shapeName(matvecShape('q4', 2 * F))}, f32 activations`, bytes: gateUpBytes, run: (i) => gateUp(i, false) });
  variants.push({ kernel: 'down', name: `default ${shapeName(defaultDown)}`, bytes: downBytes, run: (i) => down(i) });
  if (o.variants) {
    for (const shape of gateUpShapes(integer)) {
      if (integer && shapeName(shape) === shapeName(defaultGateUp)) continue;
      variants.push({ kernel: 'gate+up', name: shapeName(shape), bytes: gateUpBytes, run: (i) => withShape('gateUp', shape, () => gateUp(i, integer)), check: () => checkShape('gateUp', shape, () => checkGateUp(integer)) });
    }
    for (const shape of downShapes()) {
      if (shapeName(shape) === shapeName(defaultDown)) continue;
      variants.push({ kernel: 'down', name: shapeName(shape), bytes: downBytes, run: (i) => withShape('down', shape, () => down(i)), check: () => checkShape('down', shape, () => checkDown(actHost)) });
    }
  }
  async function checkShape(k: 'gateUp' | 'down', shape: MatvecShape, check: () => Promise<unknown>): Promise<void> {
    overrideExpertShapes({ [k]: shape });
    try {
      await check();
    } finally {
      overrideExpertShapes({});
    }
  }
  for (const v of variants) await v.check?.();
  // gate+up variants leave act as the down calls expect (same form); down reads whatever act holds
  const sized = [gateUpBytes, downBytes].map((bytes) => {
    const window = Math.min(Math.ceil(bytes / 256) * 256, roof.bytes);
    const windows = Math.max(1, Math.floor(roof.bytes / window));
    return { window, run: (i: number) => rooflineRead(ctx, roof.buffer, roof.out, window, (i % windows) * window, s.rooflineGroups) };
  });
  const times = await timer.time([...variants.map((v) => v.run), ...sized.map((z) => z.run)], o.variants ? s.roundsVariants : s.repeats);
  const sizedGBps = sized.map((z, k) => z.window / times[variants.length + k].ns);
  const results: ExpertResult[] = variants.map((v, k) => {
    const t = times[k];
    const GBps = v.bytes / t.ns;
    return { kernel: v.kernel, variant: v.name, bytes: v.bytes, us: t.ns / 1e3, GBps, ofRoofline: GBps / roof.GBps, spread: t.spread, sizedRooflineGBps: sizedGBps[v.kernel === 'gate+up' ? 0 : 1] };
  });
  for (const r of results) {
    log(`${r.kernel.padEnd(7)} ${(r.bytes / 2 ** 20).toFixed(1).padStart(7)} MiB  ${r.us.toFixed(2).padStart(8)} µs  ${fmt(r.GBps).padStart(7)} GB/s  ${(100 * r.ofRoofline).toFixed(1).padStart(5)} % of roofline  [${r.variant}; spread ${(100 * r.spread).toFixed(0)} %]`);
  }
  log(`roofline kernel reading the same bytes per dispatch: gate+up ${(100 * sizedGBps[0] / roof.GBps).toFixed(1)} %, down ${(100 * sizedGBps[1] / roof.GBps).toFixed(1)} %`);
  if (o.variants && !o.json) {
    for (const kernel of ['gate+up', 'down'] as const) {
      const best = results.filter((r) => r.kernel === kernel).sort((a, b) => a.us - b.us)[0];
      console.log(`fastest ${kernel}: ${best.variant}, ${best.us.toFixed(2)} µs, ${(100 * best.ofRoofline).toFixed(1)} %`);
    }
  }
  if (o.json) console.log(JSON.stringify({ adapter: adapterName, quick: o.quick, hidden: H, ffn: F, experts: E, integerActivations: integer, rooflineGBps: roof.GBps, results }));
  else log(`(${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
  for (const w of [pool, ...shared]) {
    destroyWeight(w.gateUp);
    destroyWeight(w.down);
  }
  roof.buffer.destroy();
  ctx.device.destroy();
}

function dot(w: Float64Array, x: Float32Array): [number, number] {
  let sum = 0, mag = 0;
  for (let i = 0; i < w.length; i++) {
    sum += w[i] * x[i];
    mag += Math.abs(w[i] * x[i]);
  }
  return [sum, mag];
}

/** the largest |value| of the block of 32 that holds `at` (the integer form's step is relative to it) */
function maxAbs(v: Float32Array, at: number): number {
  const b = at - (at % 32);
  return Math.max(...Array.from(v.subarray(b, b + 32), Math.abs));
}

function sampleRows(n: number): number[] {
  const rows = new Set([0, 1, 31, 32, n - 1]);
  for (let i = 0; i < 6; i++) rows.add(Math.floor(((i + 0.5) / 6) * n));
  return [...rows];
}

