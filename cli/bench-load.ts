// npm run bench -- load --config <config.json> [--layers N] [--dir DIR] [--keep] [--json] [--quick]
//
// Load time and peak CPU memory of a model loaded from stored records, at any config (issue 8: a 60 GB Scout must
// load without holding its weights in memory). Writes a synthetic q4 weight package for the config into DIR (the
// layout of `npm run convert`: manifest.json + one record file per record; random nibbles, small f16 scales, norms
// of 1), then loads it in a FRESH Node process the way loadSessionFromPackage does — the record stream the store
// uses (records read, SHA-256-checked and uploaded piece by piece, experts one record per (layer, expert)) — and reports:
// load time and its phases, the process's peak resident memory (VmHWM) and peak ArrayBuffer memory sampled every
// 20 ms, GPU memory (buffers created), and one forward pass (finite logits). Identical records share one payload
// (hashed once), so writing costs little more than the disk. --quick: the tiny fixture config, for CI.
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { f32ToF16Bits } from '../kernels/f16.ts';
import { parseConfig } from '../worker/model/config.ts';
import { FORMAT_VERSION, MAX_RECORD_BYTES, MODEL_TEXT_FILES, type Manifest, type PartEntry } from '../worker/store/format.ts';
import { planRecords, recordEntry, tensorLayout } from '../worker/store/layout.ts';
import { recordFileBytes, recordFileName } from '../worker/store/package.ts';
import { openPackageAhead } from '../worker/store/package.ts';
import { storeTensors } from '../worker/store/reader.ts';
import { destroyTextWeights, loadTextWeights, residentExperts } from '../worker/model/weights.ts';
import { createRunState, destroyRunState, Llama4Text } from '../worker/model/llama4.ts';
import { LoadTimings } from '../worker/load-timings.ts';
import { GpuBufferMeter } from '../testing/browser/gpu-buffer-meter.ts';
import { configJson } from './bench-model.ts';
import { FsModelFiles } from './fs-model-files.ts';
import { createNodeGpu } from './node-gpu.ts';
import { parseOptions } from './options.ts';

const QUICK_CONFIG = '../shared/fixtures/tiny-scout/model/config.json';
/** tokenizer, chat template: the built-in model's (the bench never decodes text) */
const TEXT_FILES_DIR = 'public/models/tabscout-tiny';

export interface LoadReport {
  config: string;
  layers: number;
  records: number;
  packageBytes: number;
  writeMs: number | null;
  loadMs: number;
  loadPhases: Record<string, number>;
  /** the load process's peak resident set (VmHWM), and its resident set before the load began */
  peakRssBytes: number;
  rssBeforeBytes: number;
  /** largest ArrayBuffer memory seen (sampled every 20 ms) */
  peakArrayBufferBytes: number;
  largestRecordBytes: number;
  gpuBufferBytes: number;
  adapter: string;
  forward: { tokens: number; ms: number; finite: boolean; argmax: number };
  pageCacheDropped: boolean;
}

interface Options {
  configPath: string;
  layers: number | null;
  dir: string | null;
  keep: boolean;
  json: boolean;
}

/** Payload of a record: random q4 nibbles, f16 scales of 2^-9, f32 parts of 1 (norms) or small values (router). */
function fillPayload(bytes: number, parts: PartEntry[], noise: Uint8Array): Uint8Array {
  const payload = new Uint8Array(bytes);
  const scale = f32ToF16Bits(1 / 512);
  for (const p of parts) {
    const [b, e] = p.data;
    if (p.format === 'q4') {
      for (let at = b; at < e; at += noise.length) payload.set(noise.subarray(0, Math.min(noise.length, e - at)), at);
      new Uint16Array(payload.buffer, p.scales![0], (p.scales![1] - p.scales![0]) / 2).fill(scale);
    } else {
      const f = new Float32Array(payload.buffer, b, (e - b) / 4);
      if (p.rows === 1) f.fill(1);
      else for (let i = 0; i < f.length; i++) f[i] = (noise[i % noise.length] - 127.5) / 4096;
    }
  }
  return payload;
}

/** Writes the synthetic package (manifest.json last, by rename, as `npm run convert` does). */
async function writePackage(configText: string, dir: string, log: (s: string) => void): Promise<Manifest> {
  const config = parseConfig(JSON.parse(configText));
  const planned = planRecords(tensorLayout(config, 'q4', true), MAX_RECORD_BYTES);
  const total = planned.reduce((s, r) => s + r.bytes, 0);
  const fs = statfsSync(resolve(dir, '..'));
  const free = fs.bavail * fs.bsize;
  if (total + 2 ** 30 > free) throw new Error(`the package needs ${(total / 1e9).toFixed(1)} GB but ${(free / 1e9).toFixed(1)} GB are free next to ${dir}: use --layers`);
  const digest = createHash('sha256').update(`tabscout synthetic load bench\n${configText}`).digest('hex');
  const noise = new Uint8Array(1 << 20);
  randomFillSync(noise);
  const files: Record<string, string> = { 'config.json': configText };
  for (const name of MODEL_TEXT_FILES) {
    const p = join(TEXT_FILES_DIR, name);
    if (name !== 'config.json' && existsSync(p)) files[name] = readFileSync(p, 'utf8');
  }
  await mkdir(join(dir, 'records'), { recursive: true });
  // records of the same shape get the same payload: made and hashed once
  const payloads = new Map<string, { payload: Uint8Array; sha256: string }>();
  let written = 0;
  let lastLog = performance.now();
  for (const r of planned) {
    const shape = JSON.stringify([r.bytes, r.parts.map((p) => [p.format, p.rows === 1, p.data, p.scales])]);
    let made = payloads.get(shape);
    if (!made) {
      const payload = fillPayload(r.bytes, r.parts, noise);
      made = { payload, sha256: createHash('sha256').update(payload).digest('hex') };
      payloads.set(shape, made);
    }
    r.sha256 = made.sha256;
    r.file = recordFileName(r.key);
    const f = await open(join(dir, r.file), 'w');
    try {
      for (const chunk of recordFileBytes({ digest }, r, made.payload)) await f.write(chunk);
    } finally {
      await f.close();
    }
    written += r.bytes;
    if (performance.now() - lastLog > 5000) {
      log(`written ${(written / 1e9).toFixed(1)} of ${(total / 1e9).toFixed(1)} GB`);
      lastLog = performance.now();
    }
  }
  const manifest: Manifest = {
    formatVersion: FORMAT_VERSION,
    id: 'synthetic-q4',
    name: 'synthetic',
    source: { kind: 'checkpoint', location: 'synthetic', revision: null },
    date: new Date().toISOString(),
    weights: 'q4',
    digest,
    maxRecordBytes: MAX_RECORD_BYTES,
    files,
    totalBytes: total,
    records: planned.map(recordEntry),
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return manifest;
}

function procStatusBytes(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`/proc/self/status has no ${field} (the load bench measures memory on Linux only)`);
  return Number(m[1]) * 1024;
}

/**
 * The measured half, in its own process so that its peak memory is the load's alone. The weights take the path of
 * loadSessionFromPackage (records read and checked ahead, storeTensors in pieces, loadTextWeights) without the
 * tokenizer and session around it (the tokenizer library does not travel to the GPU machine).
 */
async function measureLoad(dir: string): Promise<Omit<LoadReport, 'config' | 'layers' | 'writeMs' | 'pageCacheDropped'>> {
  const rssBeforeBytes = procStatusBytes('VmRSS');
  let peakArrayBufferBytes = 0;
  const sampler = setInterval(() => (peakArrayBufferBytes = Math.max(peakArrayBufferBytes, process.memoryUsage().arrayBuffers)), 20);
  const meter = new GpuBufferMeter();
  const timings = new LoadTimings();
  const t0 = performance.now();
  const { manifest, read } = await openPackageAhead(new FsModelFiles(dir), timings);
  const gpu = await timings.time('device', () => createNodeGpu());
  const ctx = gpu.ctx;
  meter.install(ctx.device);
  const config = parseConfig(JSON.parse(manifest.files['config.json']));
  const c = config.text;
  const weights = await loadTextWeights(ctx, config, storeTensors(manifest, read, undefined, undefined, { pieces: true }), residentExperts(c.numExperts, ctx), timings);
  const state = createRunState(ctx, c, 64);
  await ctx.device.queue.onSubmittedWorkDone();
  const loadMs = performance.now() - t0;
  clearInterval(sampler);
  const peakRssBytes = procStatusBytes('VmHWM');
  const ids = Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const f0 = performance.now();
  await new Llama4Text(ctx, c, weights, state).forward(ids, 0);
  const last = await ctx.readF32(state.logits, 0, c.vocabSize);
  const ms = performance.now() - f0;
  let argmax = 0;
  for (let i = 1; i < last.length; i++) if (last[i] > last[argmax]) argmax = i;
  const report = {
    records: manifest.records.length,
    packageBytes: manifest.totalBytes,
    loadMs,
    loadPhases: timings.report(loadMs),
    peakRssBytes,
    rssBeforeBytes,
    peakArrayBufferBytes,
    largestRecordBytes: Math.max(...manifest.records.map((r) => r.bytes)),
    gpuBufferBytes: meter.peak,
    adapter: gpu.adapterName,
    forward: { tokens: ids.length, ms, finite: last.every(Number.isFinite), argmax },
  };
  destroyRunState(state);
  destroyTextWeights(weights);
  return report;
}

/** Asks the kernel to drop clean page-cache pages (root only), so the load reads from the disk; false if refused. */
function dropPageCache(): boolean {
  const r = spawnSync('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
  return r.status === 0;
}

function parse(args: string[]): Options & { child: string | null } {
  const { value } = parseOptions(args, ['--config', '--layers', '--dir', '--keep', '--json', '--quick', '--child']);
  const quick = args.includes('--quick');
  const configPath = value('--config') ?? (quick ? QUICK_CONFIG : null);
  if (!configPath) throw new Error('--config <config.json> is required (or --quick for the tiny fixture config)');
  const layers = value('--layers');
  if (layers !== null && !/^\d+$/.test(layers)) throw new Error('--layers needs a whole number');
  return { configPath, layers: layers === null ? null : Number(layers), dir: value('--dir'), keep: args.includes('--keep'), json: args.includes('--json'), child: value('--child') };
}

export async function main(args: string[]): Promise<void> {
  const o = parse(args);
  if (o.child) {
    // the measured process: one JSON line on stdout
    console.log(JSON.stringify(await measureLoad(o.child)));
    return;
  }
  const log = (s: string) => (o.json ? console.error(s) : console.log(s));
  const json = configJson(o.configPath, o.layers);
  const text = (json.text_config ?? json) as { num_hidden_layers: number };
  const dir = o.dir ?? join(tmpdir(), `tabscout-load-bench-${process.pid}`);
  let writeMs: number | null = null;
  try {
    if (!existsSync(join(dir, 'manifest.json'))) {
      const w0 = performance.now();
      const m = await writePackage(JSON.stringify(json, null, 1), dir, log);
      writeMs = performance.now() - w0;
      log(`wrote ${m.records.length} records, ${(m.totalBytes / 1e9).toFixed(2)} GB, in ${(writeMs / 1000).toFixed(1)} s to ${dir}`);
    } else {
      log(`reusing the package in ${dir}`);
    }
    const pageCacheDropped = dropPageCache();
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], 'load', '--child', dir, '--config', o.configPath], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) throw new Error(`the load process failed (exit ${child.status}${child.signal ? `, ${child.signal}` : ''})`);
    const lines = child.stdout.trim().split('\n');
    const measured = JSON.parse(lines[lines.length - 1]) as Omit<LoadReport, 'config' | 'layers' | 'writeMs' | 'pageCacheDropped'>;
    const report: LoadReport = { config: o.configPath, layers: text.num_hidden_layers, writeMs, pageCacheDropped, ...measured };
    if (o.json) {
      console.log(JSON.stringify(report));
    } else {
      const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;
      log(`adapter ${report.adapter}; ${report.layers} layers, ${report.records} records, ${gb(report.packageBytes)} (largest record ${(report.largestRecordBytes / 2 ** 20).toFixed(1)} MiB); page cache dropped before the load: ${pageCacheDropped}`);
      log(`load ${(report.loadMs / 1000).toFixed(2)} s = ${(report.packageBytes / report.loadMs / 1e6).toFixed(2)} GB/s (${Object.entries(report.loadPhases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')} ms)`);
      log(`peak resident memory ${gb(report.peakRssBytes)} (before the load ${gb(report.rssBeforeBytes)}; ArrayBuffers at most ${gb(report.peakArrayBufferBytes)}); GPU buffers ${gb(report.gpuBufferBytes)}`);
      log(`forward of ${report.forward.tokens} tokens: ${report.forward.ms.toFixed(1)} ms, logits finite: ${report.forward.finite}`);
    }
  } finally {
    if (!o.keep) await rm(dir, { recursive: true, force: true });
  }
}
