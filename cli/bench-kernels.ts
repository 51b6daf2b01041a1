// Benchmark (not a test): GB/s of weights read by the q4 and f32 mat-vec (decode, one token) at Llama 4 Scout shapes,
// and the ratio to a streaming-read roofline kernel measured on the same device in the same run.
//
//   npm run bench [-- --quick] [--json] [--baseline] [--variants] [--probes] [--only q4|f32] [--gemm] [--x-ahead]
//     [--shapes IN×OUT,…]
//
// --baseline also times the mat-mul (prefill) kernel on one token, which is what decode ran before the mat-vec path;
// --variants sweeps mat-vec launch shapes (workgroup size, column threads, rows per thread).
// --probes also times the q4 mat-vec in its diagnostic modes (linear_q4.wgsl's PROBE: the same loads without the
// arithmetic, without the loads of x, without the scale loads; wrong results, unchecked) to tell where its time goes.
// --shapes: these mat-vec shapes instead of Scout's (e.g. 5120x4096,5120x8192,5120x16384: how the ratio grows with size).
// --x-ahead: the plain q4 mat-vecs load x's next block one iteration ahead with the weights (q4MatvecTuning.xAhead).
// --gemm times the prefill GEMM instead (cli/bench-gemm.ts, which cli/bench.ts runs: TFLOP/s, ratio to the old path).
//
// Timing: GPU timestamps (the `timestamp-query` feature) written at the start and end of one compute pass that holds
// `count` back-to-back dispatches of the kernel; time per call = (end − start) / count. Dawn puts a barrier between
// dispatches that write the same buffer, so calls run one after another, as in a decode step. To keep the weights
// from being served out of the L2 cache, the calls rotate over K copies of the weights, K·bytes ≥ 256 MiB (the
// roofline reads one buffer of up to 1 GiB). Each figure is the median of several such passes, queued with no idle
// gap after a warm-up stretch (the GPU lowers its clocks when idle; docs/PERFORMANCE.md).
// Weights are random (filled on the GPU: hash-based, no zeros), each result is checked against a CPU dot product on
// sampled rows before it is printed.
import { existsSync } from 'node:fs';
import { GpuContext, hasIntegerDot, type Dispatch } from '../kernels/runtime.ts';
import { requestDeviceWithLimits } from './node-gpu.ts';
import { createLinear, forceQ4FloatX, linear, q4MatvecTuning, matvecShape, probeQ4Matvec, readsIntegerX, weightBytes, type LinearWeight, type MatvecShape, type WeightFormat } from '../kernels/linear/linear.ts';
import { hashFill, type FillMode } from '../kernels/hash-fill/hash-fill.ts';
import { ROOFLINE_WORKGROUPS, rooflineRead } from '../kernels/roofline/roofline.ts';
import { rooflineRef } from '../kernels/roofline/roofline.ref.ts';
import { f16BitsToF32 } from '../kernels/f16.ts';


export interface KernelBenchOptions {
  /** small shapes, few repeats: runs on SwiftShader in seconds (figures meaningless there) */
  quick: boolean;
  json: boolean;
  /** sweep mat-vec launch shapes */
  variants: boolean;
  /** time the q4 mat-vec's diagnostic modes too */
  probes: boolean;
  /** also time the mat-mul path on one token (what decode ran before the mat-vec path) */
  baseline: boolean;
  only: WeightFormat | null;
  /** time the prefill GEMM (bench-gemm.ts) instead of the mat-vec */
  gemm: boolean;
  /** --shapes IN×OUT,…: these mat-vec shapes instead of Scout's (e.g. one input width at many output sizes) */
  shapes: [number, number][] | null;
}

/** The knobs a run derives from its options. */
export function settings(o: KernelBenchOptions) {
  const q = o.quick;
  return {
    /** [in (cols), out (rows)]: Scout's k or v alone, o_proj, the fused q/k/v (5120 → 40·128 + 2·8·128), the expert sizes, lm_head */
    shapes: o.shapes ?? ((q ? [[256, 64], [512, 128]] : [[5120, 1024], [5120, 5120], [5120, 7168], [5120, 8192], [8192, 5120], [5120, 202048]]) as [number, number][]),
    l2BustBytes: q ? 0 : 256 * 1024 * 1024,
    rooflineBytes: q ? 1024 * 1024 : 1024 * 1024 * 1024,
    /** SwiftShader runs workgroups one after another: a quick run uses few */
    rooflineGroups: q ? 16 : ROOFLINE_WORKGROUPS,
    targetPassNs: q ? 1e6 : 20e6, // aim each timed pass at this long (timestamps may be quantised)
    warmupNs: 300e6,
    maxCount: q ? 2 : 2000,
    repeats: q ? 1 : 5,
    roundsVariants: q ? 1 : 3,
    probe: q ? 1 : 20,
  };
}

export function parseKernelBenchArgs(args: string[]): KernelBenchOptions {
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
  if (only !== null && only !== 'q4' && only !== 'f32') throw new Error('--only takes q4 or f32');
  // an experiment: the plain q4 mat-vecs load x's next block one iteration ahead with the weights (q4MatvecTuning.xAhead)
  if (args.includes('--x-ahead')) q4MatvecTuning.xAhead = true;
  return { quick: args.includes('--quick'), json: args.includes('--json'), variants: args.includes('--variants'), probes: args.includes('--probes'), baseline: args.includes('--baseline'), only, gemm: args.includes('--gemm'), shapes: parseShapes(args) };
}

/** --shapes IN×OUT,… (or INxOUT): mat-vec shapes, each width a positive multiple of 32 (one q4 block) */
export function parseShapes(args: string[]): [number, number][] | null {
  const i = args.indexOf('--shapes');
  if (i < 0) return null;
  const list = args[i + 1] ?? '';
  return list.split(',').map((item) => {
    const m = /^(\d+)[x×](\d+)$/.exec(item.trim());
    const shape = m ? ([Number(m[1]), Number(m[2])] as [number, number]) : null;
    if (!shape || shape.some((n) => n <= 0 || n % 32 !== 0)) throw new Error(`--shapes: "${item}" is not IN×OUT with both multiples of 32 (e.g. 5120x8192)`);
    return shape;
  });
}

/** linear_q4.wgsl's diagnostic modes (--probes) */
const PROBES = [
  { mode: 0, name: 'x as f32: the path without the integer dot product', floatX: true },
  { mode: 1, name: 'same loads, no dot products (x as f32)', floatX: true },
  { mode: 2, name: 'no loads of x (x as f32)', floatX: true },
  { mode: 3, name: 'no loads of the scales (x as f32)', floatX: true },
];

/** Launch shapes tried with --variants: 8–256 column threads and 1–8 rows per thread, also the row's block (q4) or vec4 (f32) count and half of it. */
function variantShapes(format: WeightFormat, cols: number): MatvecShape[] {
  const units = format === 'q4' ? cols / 32 : cols / 4;
  const cts = [8, 16, 32, 64, 128, 256, units, units / 2].filter((c, i, a) => Number.isInteger(c) && c >= 8 && c <= 256 && c <= units && a.indexOf(c) === i);
  const out: MatvecShape[] = [];
  for (const CT of cts)
    for (const WG of [64, 128, 160, 256])
      for (const R of [1, 2, 4, 8]) if (WG % CT === 0 && (WG / CT) * R <= 64) out.push({ WG, CT, R });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// GPU setup

let gpuInstance: unknown; // the `webgpu` instance must outlive every device made from it

export async function setup(): Promise<{ ctx: TimedContext; adapterName: string }> {
  const driverChosen = process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES;
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!driverChosen && existsSync(swiftshader) && !existsSync('/dev/nvidia0')) process.env.VK_ICD_FILENAMES = swiftshader;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // Dawn rounds timestamps to a coarse grain unless told not to; long passes make it harmless either way
  // BENCH_DAWN_FLAGS: extra Dawn flags for experiments, e.g. enable-dawn-features=disable_robustness
  const gpu = create(['disable-dawn-features=timestamp_quantization', ...(process.env.BENCH_DAWN_FLAGS ? [process.env.BENCH_DAWN_FLAGS] : [])]);
  gpuInstance = gpu;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('No WebGPU adapter found (see docs/PERFORMANCE.md for the Vulkan driver set-up).');
  if (!adapter.features.has('timestamp-query')) {
    throw new Error(
      `The adapter "${adapter.info.vendor} / ${adapter.info.architecture || adapter.info.device}" has no "timestamp-query" feature; ` +
        'this benchmark times kernels with GPU timestamps only (wall-clock timing hides the GPU time), so it stops here.',
    );
  }
  const device = await requestDeviceWithLimits(adapter);
  const info = adapter.info;
  const adapterName = `${info.vendor} / ${info.architecture || info.device || info.description}` + (info.description ? ` (${info.description})` : '');
  return { ctx: new TimedContext(device, { integerDot: hasIntegerDot(gpu) }), adapterName };
}

/** A GpuContext whose dispatches go into a pass we own (with timestamp writes) while `timedPass` is set. */
export class TimedContext extends GpuContext {
  timedPass: GPUComputePassEncoder | null = null;
  override dispatch(d: Dispatch): void {
    if (this.timedPass) this.encode(this.timedPass, d);
    else super.dispatch(d);
  }
}

/** Records and submits one pass of `count` calls of `record(i)`; resolves to its GPU time in ns. Does not wait. */
function submitPass(ctx: TimedContext, count: number, record: (i: number) => void): Promise<number> {
  const device = ctx.device;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  ctx.flush(); // anything pending goes first
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
  ctx.timedPass = pass;
  try {
    for (let i = 0; i < count; i++) record(i);
  } finally {
    ctx.timedPass = null;
  }
  pass.end();
  encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
  encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
  // writes the uniforms of the recorded dispatches (no encoder of its own is pending); queue order keeps them apart
  // from the uniforms of passes submitted before
  ctx.flush();
  device.queue.submit([encoder.finish()]);
  return readback.mapAsync(GPUMapMode.READ).then(() => {
    const t = new BigInt64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    readback.destroy();
    resolve.destroy();
    querySet.destroy();
    return Number(t[1] - t[0]);
  });
}

/** Times recorders in timed passes; holds the warm-up work once the roofline buffer exists. */
export class PassTimer {
  /** queues a stretch of heavy GPU work (the GPU lowers its clocks when idle) */
  warmup: () => void = () => {};
  constructor(
    private ctx: TimedContext,
    private s: ReturnType<typeof settings>,
    private quick: boolean,
  ) {}

  /**
   * Median time per call in ns of each recorder. A calibration pass picks each one's count; then, with no gap on
   * the GPU, a warm-up stretch (the GPU lowers its clocks while the CPU prepares a shape and takes seconds to raise
   * them under a light load) and `rounds` rounds that time every recorder once (round-robin), all queued before the
   * first result is read. Also gives the spread (max − min) / median over the rounds.
   */
  async time(records: ((i: number) => void)[], rounds = this.s.repeats): Promise<{ ns: number; count: number; spread: number }[]> {
    const { ctx, s } = this;
    const counts: number[] = [];
    for (const record of records) {
      await submitPass(ctx, s.probe, record); // compile + first touch
      const perCall = Math.max(1, (await submitPass(ctx, s.probe, record)) / s.probe);
      counts.push(this.quick ? s.maxCount : Math.max(s.probe, Math.min(s.maxCount, Math.round(s.targetPassNs / perCall))));
    }
    if (!this.quick) this.warmup();
    const pending: Promise<number>[][] = records.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let v = 0; v < records.length; v++) pending[v].push(submitPass(ctx, counts[v], records[v]));
    }
    const times = await Promise.all(pending.map((p, v) => Promise.all(p).then((t) => t.map((ns) => ns / counts[v]))));
    return times.map((t, v) => {
      t.sort((a, b) => a - b);
      const median = t[Math.floor(t.length / 2)];
      return { ns: median, count: counts[v], spread: (t[t.length - 1] - t[0]) / median };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// random fill on the GPU (so a 4 GB f32 matrix costs no CPU time)

let seedCounter = 1;
function fillRandom(ctx: GpuContext, buffer: GPUBuffer, bytes: number, mode: FillMode, amp = 1): void {
  hashFill(ctx, buffer, bytes, mode, seedCounter++, amp);
  ctx.flush();
}

/** A LinearWeight with random contents, segmented as the engine segments it. */
export function randomLinear(ctx: GpuContext, format: WeightFormat, rows: number, cols: number, rowsPerExpert?: number): LinearWeight {
  const w = createLinear(ctx, `bench ${format} ${cols}→${rows}`, format, rows, cols, rowsPerExpert);
  for (const s of w.segments) {
    if (format === 'q4') {
      fillRandom(ctx, s.weights, s.weights.size, 0);
      fillRandom(ctx, s.scales!, s.scales!.size, 1, 0.01);
    } else {
      fillRandom(ctx, s.weights, s.weights.size, 2, 0.05);
    }
  }
  return w;
}

export function destroyWeight(w: LinearWeight): void {
  for (const s of w.segments) {
    s.weights.destroy();
    s.scales?.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// correctness on sampled rows

export async function rowWeights(ctx: GpuContext, w: LinearWeight, row: number): Promise<Float64Array> {
  const s = w.segments.find((g) => row >= g.rowStart && row < g.rowStart + g.rows)!;
  const r = row - s.rowStart;
  const out = new Float64Array(w.cols);
  if (w.format === 'f32') {
    const v = await ctx.readF32(s.weights, r * w.cols * 4, w.cols);
    out.set(v);
    return out;
  }
  const nb = w.cols / 32;
  const qs = await ctx.readU32(s.weights, r * nb * 16, nb * 4);
  const firstBlock = r * nb;
  const firstWord = Math.floor(firstBlock / 2);
  const words = await ctx.readU32(s.scales!, firstWord * 4, Math.ceil((firstBlock + nb) / 2) - firstWord);
  const halves = new Uint16Array(words.buffer, words.byteOffset, words.length * 2);
  for (let b = 0; b < nb; b++) {
    const d = f16BitsToF32(halves[firstBlock + b - firstWord * 2]);
    for (let j = 0; j < 16; j++) {
      const byte = (qs[b * 4 + (j >> 2)] >>> ((j & 3) * 8)) & 0xff;
      out[b * 32 + j] = ((byte & 15) - 8) * d;
      out[b * 32 + j + 16] = ((byte >> 4) - 8) * d;
    }
  }
  return out;
}

async function checkRows(ctx: GpuContext, w: LinearWeight, x: Float32Array, yBuf: GPUBuffer): Promise<number> {
  const y = await ctx.readF32(yBuf, 0, w.rows);
  const sample = new Set<number>([0, 1, w.rows - 1, w.rows - 2]);
  for (const s of w.segments) sample.add(s.rowStart).add(s.rowStart + s.rows - 1);
  for (let i = 0; i < 12; i++) sample.add(Math.floor(((i + 0.5) / 12) * w.rows));
  let worst = 0;
  for (const row of sample) {
    const wr = await rowWeights(ctx, w, row);
    let ref = 0;
    let mag = 0;
    for (let i = 0; i < w.cols; i++) {
      ref += wr[i] * x[i];
      mag += Math.abs(wr[i] * x[i]);
    }
    const err = Math.abs(y[row] - ref) / (mag + 1e-30);
    if (!(err <= 1e-4)) throw new Error(`${w.name}: row ${row} is ${y[row]}, expected ${ref} (relative error ${err})`);
    worst = Math.max(worst, err);
  }
  return worst;
}

/** weights up to this size are also timed re-reading one copy (L2-warm on a GPU whose L2 holds them) */
const L2_WARM_MAX_BYTES = 40 * 2 ** 20;

interface Result {
  format: WeightFormat;
  shape: string;
  rows: number;
  cols: number;
  bytes: number;
  copies: number;
  dispatchesPerCall: number;
  us: number;
  GBps: number;
  ofRoofline: number;
  variant: string;
  /** (max − min) / median of the timed passes */
  spread: number;
  /** the roofline kernel reading the same bytes per dispatch, back to back */
  sizedRooflineGBps: number;
}

/** 4 significant digits at most, so tiny SwiftShader rates still show */
export function fmt(v: number): string {
  return v >= 100 ? v.toFixed(1) : v.toPrecision(3);
}

function shapeName(s: MatvecShape): string {
  return `WG${s.WG}/CT${s.CT}/R${s.R}`;
}

export interface Roofline {
  buffer: GPUBuffer;
  out: GPUBuffer;
  bytes: number;
  GBps: number;
  /** µs per dispatch of a 4 KiB read, back to back */
  dispatchFloorUs: number;
}

/** The streaming-read roofline of this device (checked against the CPU on a prefix), and the dispatch floor. */
export async function measureRoofline(ctx: TimedContext, timer: PassTimer, s: ReturnType<typeof settings>, log: (m: string) => void): Promise<Roofline> {
  const maxBind = Math.min(ctx.device.limits.maxStorageBufferBindingSize, ctx.device.limits.maxBufferSize);
  const bytes = Math.floor(Math.min(s.rooflineBytes, maxBind) / 256) * 256;
  const buffer = ctx.createBuffer(bytes, 'roofline src');
  fillRandom(ctx, buffer, bytes, 0);
  const out = ctx.upload(new Uint32Array(4), 'roofline out');
  const checkBytes = Math.min(bytes, 64 * 1024 * 1024); // checked on a prefix: reading 1 GiB back is slow
  rooflineRead(ctx, buffer, out, checkBytes, 0, s.rooflineGroups);
  const [gpuSum] = await ctx.readU32(out, 0, 1);
  const cpuSum = rooflineRef(new Uint32Array(await ctx.read(buffer, 0, checkBytes)));
  if (gpuSum !== cpuSum) throw new Error(`roofline checksum ${gpuSum} ≠ CPU ${cpuSum}`);
  const [roof] = await timer.time([() => rooflineRead(ctx, buffer, out, bytes, 0, s.rooflineGroups)]);
  const GBps = bytes / roof.ns;
  const warmCount = Math.max(1, Math.round(s.warmupNs / roof.ns));
  timer.warmup = () => void submitPass(ctx, warmCount, () => rooflineRead(ctx, buffer, out, bytes, 0, s.rooflineGroups));
  const tinyBuf = ctx.createBuffer(4096, 'tiny');
  const [tiny] = await timer.time([() => rooflineRead(ctx, tinyBuf, out, 4096, 0, 1)]);
  tinyBuf.destroy();
  log(`roofline: streaming read of ${(bytes / 2 ** 20).toFixed(0)} MiB: ${fmt(GBps)} GB/s (${(roof.ns / 1e3).toFixed(1)} µs per read, ${roof.count} per pass, spread ${(100 * roof.spread).toFixed(0)} %); checksum matches the CPU`);
  log(`dispatch floor: a 4 KiB read takes ${(tiny.ns / 1e3).toFixed(2)} µs per dispatch back to back`);
  return { buffer, out, bytes, GBps, dispatchFloorUs: tiny.ns / 1e3 };
}

/** Times the default launch shape (and the variants asked for) of one format and shape, checked first. */
async function benchShape(ctx: TimedContext, o: KernelBenchOptions, timer: PassTimer, roof: Roofline, format: WeightFormat, cols: number, rows: number, log: (m: string) => void): Promise<Result[]> {
  const s = settings(o);
  const out: Result[] = [];
    const bytes = weightBytes(format, rows, cols);
    const copies = Math.max(1, Math.ceil(s.l2BustBytes / bytes));
    const weights: LinearWeight[] = [];
    ctx.device.pushErrorScope('out-of-memory');
    let failure: string | null = null;
    try {
      for (let k = 0; k < copies; k++) weights.push(randomLinear(ctx, format, rows, cols));
    } catch (e) {
      failure = (e as Error).message;
    }
    const oom = await ctx.device.popErrorScope();
    if (oom || failure) {
      for (const w of weights) destroyWeight(w);
      log(`${format} ${cols}→${rows}: skipped, could not allocate ${copies}×${(bytes / 2 ** 20).toFixed(0)} MiB (${failure ?? oom!.message})`);
      return [];
    }
    const xHost = new Float32Array(cols);
    for (let i = 0; i < cols; i++) xHost[i] = Math.sin(i * 12.9898 + 0.5) * 0.9 + 0.05;
    const xBuf = ctx.upload(xHost, 'x');
    const yBuf = ctx.createBuffer(rows * 4, 'y');
    const variants: (MatvecShape | 'matmul' | null)[] = o.variants ? [null, 'matmul', ...variantShapes(format, cols)] : o.baseline ? [null, 'matmul'] : [null];
    // correctness of every variant on this shape first
    for (const v of variants) {
      ctx.write(yBuf, new Float32Array(rows).fill(NaN));
      linear(ctx, weights[0], xBuf, yBuf, { items: 1, shape: v ?? undefined });
      await checkRows(ctx, weights[0], xHost, yBuf);
    }
    const records = variants.map((v) => (i: number) => linear(ctx, weights[i % copies], xBuf, yBuf, { items: 1, shape: v ?? undefined }));
    const probes = o.probes && format === 'q4' ? PROBES.filter((p) => p.mode > 0 || ctx.integerDot) : [];
    for (const p of probes)
      records.push((i: number) => {
        probeQ4Matvec(p.mode);
        forceQ4FloatX(p.floatX);
        linear(ctx, weights[i % copies], xBuf, yBuf, { items: 1 });
        probeQ4Matvec(0);
        forceQ4FloatX(false);
      });
    // the roofline kernel reading the same number of bytes per dispatch (windows spread over its 1 GiB buffer)
    const window = Math.min(Math.ceil(bytes / 256) * 256, roof.bytes);
    const windows = Math.max(1, Math.floor(roof.bytes / window));
    records.push((i: number) => rooflineRead(ctx, roof.buffer, roof.out, window, (i % windows) * window, s.rooflineGroups));
    // the default shape re-reading one copy, which stays in the L2 cache when it fits (H100/H200: 50 MB): what a mat-vec
    // whose weights an earlier, latency-bound dispatch had pulled into L2 would take
    const warm = bytes <= L2_WARM_MAX_BYTES && copies > 1;
    if (warm) records.push(() => linear(ctx, weights[0], xBuf, yBuf, { items: 1 }));
    const defaultShape = matvecShape(format, rows, readsIntegerX(ctx, weights[0], 1));
    const times = await timer.time(records, o.variants ? s.roundsVariants : s.repeats);
    const warmTime = warm ? times.pop()! : null;
    const sized = times.pop()!;
    const probeTimes = times.splice(variants.length, probes.length);
    const sizedGBps = window / sized.ns;
    log(`    roofline kernel reading ${(window / 2 ** 20).toFixed(1)} MiB per dispatch: ${fmt(sizedGBps)} GB/s (${(100 * sizedGBps / roof.GBps).toFixed(1)} % of the full-buffer figure)`);
    variants.forEach((v, k) => {
      const t = times[k];
      const used = v ?? defaultShape;
      const usedName = used === 'matmul' ? 'mat-mul path' : shapeName(used);
      const GBps = bytes / t.ns;
      const r: Result = {
        format,
        shape: `${cols}→${rows}`,
        rows,
        cols,
        bytes,
        copies,
        dispatchesPerCall: weights[0].segments.length,
        us: t.ns / 1e3,
        GBps,
        ofRoofline: GBps / roof.GBps,
        variant: (v ? '' : 'default ') + usedName,
        spread: t.spread,
        sizedRooflineGBps: sizedGBps,
      };
      out.push(r);
      log(
        `${format.padEnd(3)} ${r.shape.padStart(12)}  ${(bytes / 2 ** 20).toFixed(1).padStart(7)} MiB  ${r.us.toFixed(2).padStart(8)} µs  ` +
          `${fmt(GBps).padStart(7)} GB/s  ${(100 * r.ofRoofline).toFixed(1).padStart(5)} % of roofline  [${r.variant}; ${copies} copies, ` +
          `${r.dispatchesPerCall} dispatch/call, ${t.count}/pass, spread ${(100 * t.spread).toFixed(0)} %]`,
      );
    });
    if (warmTime) {
      const GBps = bytes / warmTime.ns;
      log(`    same copy every call (L2-warm): ${(warmTime.ns / 1e3).toFixed(2)} µs, ${fmt(GBps)} GB/s = ${(100 * GBps / roof.GBps).toFixed(1)} % of roofline [default shape]`);
    }
    probes.forEach((p, k) => {
      const t = probeTimes[k];
      log(`    probe ${p.mode} (${p.name}): ${(t.ns / 1e3).toFixed(2)} µs, ${(100 * (bytes / t.ns) / roof.GBps).toFixed(1)} % of roofline [default shape, result not checked]`);
    });
  for (const w of weights) destroyWeight(w);
  xBuf.destroy();
  yBuf.destroy();
  return out;
}

/**
 * What every kernel bench (this one, --gemm, --experts) starts with: its options and settings, a log that --json
 * silences, the device, the pass timer and the roofline (whose reads are also the warm-up work). `intro`: lines
 * logged before the roofline is measured.
 */
export async function openKernelBench(args: string[], intro: (ctx: TimedContext, s: ReturnType<typeof settings>, o: KernelBenchOptions) => string[] = () => []) {
  const o = parseKernelBenchArgs(args);
  const s = settings(o);
  const log = (m: string) => {
    if (!o.json) console.log(m);
  };
  const t0 = performance.now();
  const { ctx, adapterName } = await setup();
  log(`adapter: ${adapterName}`);
  intro(ctx, s, o).forEach(log);
  const timer = new PassTimer(ctx, s, o.quick);
  const roof = await measureRoofline(ctx, timer, s, log);
  return { o, s, log, t0, ctx, adapterName, timer, roof };
}

export async function main(args: string[]): Promise<void> {
  const { o, s, log, t0, ctx, adapterName, timer, roof } = await openKernelBench(args, (_, s, o) => [
    `timing: GPU timestamps around one compute pass of back-to-back calls, median of ${s.repeats} passes${o.quick ? ' (quick)' : ''}`,
  ]);
  const results: Result[] = [];
  for (const format of o.only ? [o.only] : (['q4', 'f32'] as WeightFormat[])) {
    for (const [cols, rows] of s.shapes) results.push(...(await benchShape(ctx, o, timer, roof, format, cols, rows, log)));
  }
  printResults(o, adapterName, roof, results, t0);
  roof.buffer.destroy();
  ctx.device.destroy();
}

function printResults(o: KernelBenchOptions, adapterName: string, roof: Roofline, results: Result[], t0: number): void {
  if (o.json) {
    console.log(JSON.stringify({ adapter: adapterName, quick: o.quick, rooflineGBps: roof.GBps, rooflineBytes: roof.bytes, dispatchFloorUs: roof.dispatchFloorUs, results }));
  } else {
    if (o.variants) {
      const fastest = new Map<string, Result>();
      for (const r of results) {
        const key = `${r.format} ${r.shape}`;
        if (!fastest.has(key) || r.us < fastest.get(key)!.us) fastest.set(key, r);
      }
      console.log('\nfastest variant per shape:');
      for (const [key, r] of fastest) console.log(`  ${key.padEnd(16)} ${r.variant.padEnd(26)} ${r.us.toFixed(2)} µs  ${(100 * r.ofRoofline).toFixed(1)} %`);
    }
    const defaults = results.filter((r) => r.variant.startsWith('default'));
    const before = new Map(results.filter((r) => r.variant === 'mat-mul path').map((r) => [`${r.format} ${r.shape}`, r]));
    console.log(`\n${adapterName}; roofline (streaming read of ${(roof.bytes / 2 ** 20).toFixed(0)} MiB) ${fmt(roof.GBps)} GB/s`);
    const head = ['format', 'shape (in→out)', 'MiB of weights', 'µs per call', 'GB/s of weights', '% of roofline', 'same-size streaming read, % of roofline'];
    if (before.size) head.push('mat-mul path (before): µs, % of roofline');
    console.log(`| ${head.join(' | ')} |`);
    console.log(`| ${head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
    for (const r of defaults) {
      const cells = [r.format, r.shape, (r.bytes / 2 ** 20).toFixed(1), r.us.toFixed(2), fmt(r.GBps), (100 * r.ofRoofline).toFixed(1), (100 * r.sizedRooflineGBps / roof.GBps).toFixed(1)];
      const b0 = before.get(`${r.format} ${r.shape}`);
      if (before.size) cells.push(b0 ? `${b0.us.toFixed(2)}, ${(100 * b0.ofRoofline).toFixed(1)}` : '');
      console.log(`| ${cells.join(' | ')} |`);
    }
    console.log(`(${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
  }
}
