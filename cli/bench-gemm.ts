// Benchmark (not a test): the prefill GEMM (kernels/matmul) in TFLOP/s, against the mat-mul path it replaced
// (linear_*.wgsl, DECODE = 0) and, for expert calls, the per-item mat-vec gather MoE prefill ran before; plus an f32
// FMA roofline measured the same way in the same run.
//
//   npm run bench -- --gemm [--quick] [--json] [--only q4|f32]
//
// Shapes (q4 by default; in → out, items): 1024→1024 and 1024→4096 at 512 items (the figures), 4096→1024,
// each also at 256 and 64 items (the engine's prefill piece on GPUs and on CPU adapters, prefillBatch()); and the
// moe-mid expert gate/up (16 experts of 4096 rows, 1024 in, top-1 over random ids) at the same item counts, grouped
// by expert.
// Per shape: the old path, the built-in choice, and each launch shape: item tiles of 16, 32, 64 with 4 items per
// thread, and 32, 64 with 8. FLOPs = 2·items·rows·cols (the
// rows an item passes: one expert's for expert calls). Timing as the mat-vec bench (bench-kernels.ts): GPU timestamps
// around a pass of back-to-back calls rotating over copies of the weights (≥ 256 MiB, so each call reads its weights
// from memory as a layer of the model does), median of several passes. Every variant is checked on sampled
// (item, row) outputs against a CPU dot product of the weights read back before it is timed.
import { linear, matvecShape, weightBytes, type LinearCall, type LinearWeight, type WeightFormat } from '../kernels/linear/linear.ts';
import type { ItemsPerThread, TileItems } from '../kernels/matmul/matmul.ts';
import { fmaRoofline, fmaRooflineFlops } from '../kernels/fma-roofline/fma-roofline.ts';
import { ROOFLINE_WORKGROUPS } from '../kernels/roofline/roofline.ts';
import { destroyWeight, fmt, openKernelBench, PassTimer, randomLinear, rowWeights, settings, type KernelBenchOptions, type TimedContext } from './bench-kernels.ts';

interface GemmShape {
  format: WeightFormat;
  cols: number;
  /** rows of the weight (for experts: of one expert) */
  rows: number;
  items: number;
  /** expert calls: this many experts of `rows` rows each, random top-1 ids */
  experts?: number;
}

interface GemmResult {
  shape: string;
  format: WeightFormat;
  items: number;
  cols: number;
  rows: number;
  experts: number | null;
  variant: string;
  us: number;
  tflops: number;
  /** of the f32 FMA roofline measured in this run */
  ofFma: number;
  /** old path time / this time (> 1: faster than the old path) */
  speedup: number;
  spread: number;
}

type Variant = { name: string; shape: LinearCall['shape'] };

function shapesFor(o: KernelBenchOptions): GemmShape[] {
  const formats: WeightFormat[] = o.only ? [o.only] : ['q4'];
  const out: GemmShape[] = [];
  for (const format of formats) {
    if (o.quick) {
      out.push({ format, cols: 128, rows: 96, items: 40 }, { format, cols: 64, rows: 64, items: 70, experts: 4 });
      continue;
    }
    for (const items of [512, 256, 64]) {
      for (const [cols, rows] of [[1024, 1024], [1024, 4096], [4096, 1024]]) out.push({ format, cols, rows, items });
      out.push({ format, cols: 1024, rows: 4096, items, experts: 16 });
    }
  }
  return out;
}

function shapeName(g: GemmShape): string {
  return `${g.items}×${g.cols}→${g.rows}` + (g.experts ? ` ×${g.experts} experts` : '');
}

/** Rows of a variant's output checked against the CPU: items and rows at the edges and spread between. */
async function check(ctx: TimedContext, w: LinearWeight, g: GemmShape, x: Float32Array, ids: Uint32Array | null, y: GPUBuffer, what: string): Promise<void> {
  const outRows = g.rows;
  const items = [0, 1, g.items - 1, Math.floor(g.items / 2), Math.floor(g.items / 3)];
  const rows = [0, 1, outRows - 1, Math.floor(outRows / 2), Math.floor(outRows / 5)];
  const got = await ctx.readF32(y, 0, g.items * outRows);
  for (const n of items) {
    for (const r of rows) {
      const wr = await rowWeights(ctx, w, (ids ? ids[n] * outRows : 0) + r);
      let ref = 0, mag = 0;
      for (let i = 0; i < g.cols; i++) {
        ref += wr[i] * x[n * g.cols + i];
        mag += Math.abs(wr[i] * x[n * g.cols + i]);
      }
      const v = got[n * outRows + r];
      const err = Math.abs(v - ref) / (mag + 1e-30);
      if (!(err <= 1e-4)) throw new Error(`${what}: item ${n} row ${r} is ${v}, expected ${ref} (relative error ${err})`);
    }
  }
}

/** f32 FMA rate (TFLOP/s) with the same timer. */
async function fmaTflops(ctx: TimedContext, timer: PassTimer, quick: boolean): Promise<number> {
  const groups = quick ? 4 : ROOFLINE_WORKGROUPS, iterations = quick ? 64 : 1024;
  const out = ctx.createBuffer(groups * 256 * 4, 'fma roofline out');
  const [t] = await timer.time([() => fmaRoofline(ctx, out, groups, iterations)]);
  out.destroy();
  return fmaRooflineFlops(groups, iterations) / t.ns / 1e3;
}

async function benchShape(ctx: TimedContext, o: KernelBenchOptions, timer: PassTimer, g: GemmShape, fma: number, log: (m: string) => void): Promise<GemmResult[]> {
  const s = settings(o);
  const totalRows = g.rows * (g.experts ?? 1);
  const bytes = weightBytes(g.format, totalRows, g.cols);
  const copies = Math.max(1, Math.ceil(s.l2BustBytes / bytes));
  const weights: LinearWeight[] = [];
  for (let k = 0; k < copies; k++) weights.push(randomLinear(ctx, g.format, totalRows, g.cols, g.experts ? g.rows : undefined));
  const x = new Float32Array(g.items * g.cols);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898 + 0.5) * 0.9 + 0.05;
  const xBuf = ctx.upload(x, 'x');
  const yBuf = ctx.createBuffer(g.items * g.rows * 4, 'y');
  const ids = g.experts ? Uint32Array.from({ length: g.items }, (_, n) => Math.floor(Math.abs(Math.sin(n * 78.233 + 1)) * 1e4) % g.experts!) : null;
  const base: LinearCall = { items: g.items, ...(ids ? { expertIds: ctx.upload(ids, 'ids') } : {}) };
  // the old path: the mat-mul kernel of linear_*.wgsl for plain weights; for experts the per-item mat-vec gather
  const old: Variant = g.experts ? { name: 'old: per-item mat-vec gather', shape: matvecShape(g.format, g.rows) } : { name: 'old: mat-mul path', shape: 'matmul' };
  const tiles: [TileItems, ItemsPerThread][] = [[16, 4], [32, 4], [64, 4], [32, 8], [64, 8]];
  const variants: Variant[] = [old, { name: 'default', shape: undefined }, ...tiles.map(([t, it]) => ({ name: `tile ${t} items, ${it}/thread`, shape: { tileItems: t, itemsPerThread: it } }))];
  for (const v of variants) {
    ctx.write(yBuf, new Float32Array(g.items * g.rows).fill(NaN));
    linear(ctx, weights[0], xBuf, yBuf, { ...base, shape: v.shape });
    await check(ctx, weights[0], g, x, ids, yBuf, `${shapeName(g)} ${v.name}`);
  }
  const times = await timer.time(variants.map((v) => (i: number) => linear(ctx, weights[i % copies], xBuf, yBuf, { ...base, shape: v.shape })));
  const flops = 2 * g.items * g.rows * g.cols;
  const out = variants.map((v, k): GemmResult => {
    const t = times[k];
    const tflops = flops / t.ns / 1e3;
    return { shape: shapeName(g), format: g.format, items: g.items, cols: g.cols, rows: g.rows, experts: g.experts ?? null, variant: v.name, us: t.ns / 1e3, tflops, ofFma: tflops / fma, speedup: times[0].ns / t.ns, spread: t.spread };
  });
  for (const r of out) {
    log(`${r.format} ${r.shape.padEnd(26)} ${r.variant.padEnd(30)} ${r.us.toFixed(1).padStart(9)} µs  ${fmt(r.tflops).padStart(6)} TFLOP/s  ${(100 * r.ofFma).toFixed(1).padStart(5)} % of FMA  ${r.speedup.toFixed(2).padStart(6)}× the old path  [spread ${(100 * r.spread).toFixed(0)} %, ${copies} copies]`);
  }
  for (const w of weights) destroyWeight(w);
  xBuf.destroy();
  yBuf.destroy();
  return out;
}

export async function main(args: string[]): Promise<void> {
  const { o, log, t0, ctx, adapterName, timer, roof } = await openKernelBench(args);
  const fma = await fmaTflops(ctx, timer, o.quick);
  log(`FMA roofline: ${fmt(fma)} TFLOP/s (f32)`);
  const results: GemmResult[] = [];
  for (const g of shapesFor(o)) results.push(...(await benchShape(ctx, o, timer, g, fma, log)));
  if (o.json) {
    console.log(JSON.stringify({ adapter: adapterName, quick: o.quick, fmaTflops: fma, rooflineGBps: roof.GBps, results }));
  } else {
    console.log(`\n${adapterName}; f32 FMA roofline ${fmt(fma)} TFLOP/s`);
    console.log('| shape (items×in→out) | format | old path: µs, TFLOP/s | GEMM (built-in tile): µs, TFLOP/s, % of FMA | speed-up | best tile |');
    console.log('|---|---|---:|---:|---:|---|');
    for (const shape of [...new Set(results.map((r) => r.shape))]) {
      const rs = results.filter((r) => r.shape === shape);
      const old = rs[0], def = rs[1];
      const best = rs.slice(2).reduce((a, b) => (b.us < a.us ? b : a));
      console.log(`| ${shape} | ${old.format} | ${old.us.toFixed(1)}, ${fmt(old.tflops)} | ${def.us.toFixed(1)}, ${fmt(def.tflops)}, ${(100 * def.ofFma).toFixed(1)} % | ${def.speedup.toFixed(2)}× | ${best.variant}: ${best.us.toFixed(1)} µs |`);
    }
    console.log(`(${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
  }
  roof.buffer.destroy();
  ctx.device.destroy();
}
