// npm run bench -- peers [--model DIR] [--onnx DIR] [--quick] [--json] [--node [--tjs-device webgpu|cpu]]
//   [--prompt N] [--tokens N] [--repeats N] [--only tabscout|transformers.js] [--tabscout-from package|checkpoint]
//
// TabScout against transformers.js (v4, onnxruntime's WebGPU provider) on the same Llama 4 text checkpoint, in the
// same run: Chromium on this machine by default (one page, both engines, files served on 127.0.0.1), or Node with
// --node (TabScout through the `webgpu` package, transformers.js through onnxruntime-node's WebGPU provider: the H200
// run, tools/peers-device.sh). transformers.js runs the ONNX export of the same checkpoint (tools/onnx: MatMulNBits
// int4 with exactly TabScout's Q4_0 values, block 32), made here unless --onnx names one. TabScout loads its own
// pre-quantized package of the checkpoint (cli/convert.ts, what the app imports by URL; made here), so both load
// int4 weights quantized beforehand; --tabscout-from checkpoint loads the bf16 checkpoint instead (quantized while loading).
// Per engine: load time, TTFT and prefill tok/s on a --prompt-token prompt (512), decode tok/s over --tokens greedy
// tokens (128, end-of-turn suppressed), GPU memory where visible, and whether its greedy tokens for the fixture's
// `chat` case equal Hugging Face's q4 reference (`chat.q4.generated_ids`, up to the first near tie); then the ratios
// TabScout / transformers.js. Warm-up runs are not timed, for either engine (testing/browser/peers-engines.ts).
// --model DIR: a fixture folder (DIR/model + DIR/reference, as ../shared/fixtures/*) or a bare checkpoint folder (no
// correctness column). --quick: tiny-scout, a 64-token prompt and 16 tokens; CI runs it in Chromium (SwiftShader).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportOnnxModel } from '../tools/onnx/export.ts';
import { convertCheckpoint } from './convert.ts';
import { parseConfig } from '../worker/model/config.ts';
import { Reference } from './reference.ts';
import { fixturesDir, removeDir } from '../testing/fixtures.ts';
import type { EngineReport, PeersPlan } from '../testing/browser/peers-engines.ts';
import { runNodePeers } from './peers-node.ts';

export interface PeersReport {
  where: 'chromium' | 'node';
  model: string;
  quick: boolean;
  promptTokens: number;
  newTokens: number;
  repeats: number;
  /** seconds the ONNX export took (null: --onnx given) */
  exportSeconds: number | null;
  /** what TabScout loaded: its q4 package (made from the checkpoint in convertSeconds) or the checkpoint itself */
  tabscoutFrom: 'package' | 'checkpoint';
  convertSeconds: number | null;
  /** Node: the untimed GPU driver start before either engine's timed load (cli/peers-node.ts), ms; null otherwise */
  gpuDriverWarmupMs: number | null;
  /** leading chat tokens compared with the reference (null: no reference) */
  chatCompared: number | null;
  engines: EngineReport[];
  /** TabScout ÷ transformers.js: tok/s ratios (> 1: TabScout faster), time ratios (< 1: TabScout faster) */
  ratios: { prefill: number | null; decode: number | null; ttft: number | null; load: number | null; gpuMemory: number | null };
}

interface Args {
  model: string | null;
  onnx: string | null;
  quick: boolean;
  json: boolean;
  node: boolean;
  tjsDevice: string;
  prompt: number | null;
  tokens: number | null;
  repeats: number | null;
  only: EngineReport['engine'] | null;
  tabscoutFrom: 'package' | 'checkpoint';
}

function parseArgs(argv: string[]): Args {
  const a: Args = { model: null, onnx: null, quick: false, json: false, node: false, tjsDevice: 'webgpu', prompt: null, tokens: null, repeats: null, only: null, tabscoutFrom: 'package' };
  const value = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  const count = (i: number, flag: string) => {
    const n = Number(value(i, flag));
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${argv[i + 1]}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--quick') a.quick = true;
    else if (f === '--json') a.json = true;
    else if (f === '--node') a.node = true;
    else if (f === '--model') a.model = value(i++, f);
    else if (f === '--onnx') a.onnx = value(i++, f);
    else if (f === '--tjs-device') a.tjsDevice = value(i++, f);
    else if (f === '--prompt') a.prompt = count(i++, f);
    else if (f === '--tokens') a.tokens = count(i++, f);
    else if (f === '--repeats') a.repeats = count(i++, f);
    else if (f === '--tabscout-from') {
      const v = value(i++, f);
      if (v !== 'package' && v !== 'checkpoint') throw new Error(`--tabscout-from: package or checkpoint, got ${v}`);
      a.tabscoutFrom = v;
    } else if (f === '--only') {
      const e = value(i++, f);
      if (e !== 'tabscout' && e !== 'transformers.js') throw new Error(`--only: tabscout or transformers.js, got ${e}`);
      a.only = e;
    } else throw new Error(`unknown option ${f}. usage: npm run bench -- peers [--model DIR] [--onnx DIR] [--quick] [--json] [--node [--tjs-device webgpu|cpu]] [--prompt N] [--tokens N] [--repeats N] [--only tabscout|transformers.js] [--tabscout-from package|checkpoint]`);
  }
  if (!a.model && !a.quick) throw new Error('peers: give --model DIR (a fixture or checkpoint folder), or --quick for the tiny-scout fixture');
  return a;
}

/** Top-1 minus top-2 of each row of [rows, vocab] logits. */
function margins(logits: Float32Array, vocab: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / vocab; r++) {
    let a = -Infinity, b = -Infinity;
    for (let v = r * vocab; v < (r + 1) * vocab; v++) {
      const x = logits[v];
      if (x > a) [a, b] = [x, a];
      else if (x > b) b = x;
    }
    out.push(a - b);
  }
  return out;
}

/** A deterministic prompt of `n` ids: BOS, then pseudo-random ids below the tokenizer's plain vocabulary. */
export function benchPrompt(n: number, bos: number, below: number): number[] {
  let seed = 20261203;
  const ids = [bos];
  while (ids.length < n) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    ids.push(seed % below);
  }
  return ids;
}

/** The checkpoint and reference folders of --model (a fixture: DIR/model + DIR/reference; or a bare checkpoint). */
function locate(model: string): { checkpoint: string; reference: string | null } {
  const dir = resolve(model);
  if (existsSync(join(dir, 'model', 'config.json'))) return { checkpoint: join(dir, 'model'), reference: existsSync(join(dir, 'reference', 'cases.json')) ? join(dir, 'reference') : null };
  if (existsSync(join(dir, 'config.json'))) return { checkpoint: dir, reference: null };
  throw new Error(`--model ${model}: no config.json there nor in ${join(model, 'model')}`);
}

const MARGIN = 1e-2; // ../shared/fixtures/README.md: compare greedy tokens where the top-1/top-2 margin is clear

export async function main(argv: string[]): Promise<PeersReport> {
  const a = parseArgs(argv);
  const log = (s: string) => (a.json ? console.error(s) : console.log(s));
  const { checkpoint, reference } = locate(a.model ?? join(fixturesDir(), 'tiny-scout'));
  const configJson = JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')) as Record<string, unknown>;
  const config = parseConfig(configJson);
  const c = config.text;
  const text = (configJson.text_config ?? configJson) as { bos_token_id?: number; max_position_embeddings?: number };

  let chat: PeersPlan['chat'] = null;
  if (reference) {
    const ref = await Reference.load(reference);
    if (ref.has('chat.q4.generated_ids')) {
      const expected = ref.ids('chat.q4.generated_ids');
      const m = margins(ref.f32('chat.q4.generated_logits'), c.vocabSize);
      const tie = m.findIndex((x) => x <= MARGIN);
      chat = { prompt: ref.ids('chat.input_ids'), expected, compare: tie < 0 ? expected.length : tie + 1 };
    }
  }
  const engines: EngineReport['engine'][] = a.only ? [a.only] : ['tabscout', 'transformers.js'];
  const promptTokens = a.prompt ?? (a.quick ? 64 : 512);
  const newTokens = a.tokens ?? (a.quick ? 16 : 128);
  const maxPositions = text.max_position_embeddings ?? Infinity;
  if (promptTokens + newTokens + 8 > maxPositions) throw new Error(`--prompt ${promptTokens} + --tokens ${newTokens} exceed the model's ${maxPositions} positions`);
  const plan: PeersPlan = {
    benchPrompt: benchPrompt(promptTokens, text.bos_token_id ?? 0, Math.min(c.vocabSize, 1000)),
    newTokens,
    repeats: a.repeats ?? (a.quick ? 1 : 3),
    chat,
  };

  const tempParent = mkdtempSync(join(tmpdir(), 'tabscout-peers-'));
  let tabscoutDir = checkpoint;
  let convertSeconds: number | null = null;
  if (a.tabscoutFrom === 'package' && engines.includes('tabscout')) {
    tabscoutDir = join(tempParent, 'tabscout-q4');
    const t0 = performance.now();
    await convertCheckpoint(checkpoint, tabscoutDir, { weights: 'q4', vision: false });
    convertSeconds = (performance.now() - t0) / 1000;
    log(`TabScout package (q4): ${tabscoutDir} in ${convertSeconds.toFixed(1)} s`);
  }
  let onnxDir = a.onnx ? resolve(a.onnx) : '';
  let exportSeconds: number | null = null;
  if (!onnxDir && engines.includes('transformers.js')) {
    onnxDir = join(tempParent, 'onnx-q4');
    const t0 = performance.now();
    const out = await exportOnnxModel(checkpoint, onnxDir);
    exportSeconds = (performance.now() - t0) / 1000;
    log(`ONNX export: ${out.onnxPath} (${(out.onnxBytes / 1e6).toFixed(1)} MB${out.dataPath ? ` + ${(out.dataBytes / 1e6).toFixed(1)} MB data` : ''}) in ${exportSeconds.toFixed(1)} s`);
  }
  let reports: EngineReport[];
  let gpuDriverWarmupMs: number | null = null;
  try {
    if (a.node) {
      ({ engines: reports, gpuDriverWarmupMs } = await runNodePeers({ plan, tabscoutDir, tabscoutSource: a.tabscoutFrom, onnxDir, tjsDevice: a.tjsDevice, engines, log }));
    } else {
      const browserModule = './peers-browser.ts'; // not a literal import: Chromium is not bundled for the GPU machine
      const { runBrowserPeers } = (await import(browserModule)) as typeof import('./peers-browser.ts');
      reports = await runBrowserPeers({ plan, tabscoutDir, tabscoutSource: a.tabscoutFrom, onnxDir, engines, log });
    }
  } finally {
    removeDir(tempParent);
  }

  const report: PeersReport = {
    where: a.node ? 'node' : 'chromium',
    model: checkpoint,
    quick: a.quick,
    promptTokens,
    newTokens,
    repeats: plan.repeats,
    exportSeconds,
    tabscoutFrom: a.tabscoutFrom,
    convertSeconds,
    gpuDriverWarmupMs,
    chatCompared: chat?.compare ?? null,
    engines: reports,
    ratios: ratios(reports),
  };
  if (a.json) console.log(JSON.stringify(report));
  else printReport(report);
  return report;
}

function ratios(reports: EngineReport[]): PeersReport['ratios'] {
  const t = reports.find((r) => r.engine === 'tabscout' && !r.error);
  const p = reports.find((r) => r.engine === 'transformers.js' && !r.error);
  const ratio = (x: number | null | undefined, y: number | null | undefined) => (x != null && y != null && y > 0 ? x / y : null);
  return {
    prefill: ratio(t?.prefillTokensPerSecond, p?.prefillTokensPerSecond),
    decode: ratio(t?.decodeTokensPerSecond, p?.decodeTokensPerSecond),
    ttft: ratio(t?.ttftMs, p?.ttftMs),
    load: ratio(t?.loadMs, p?.loadMs),
    gpuMemory: ratio(t?.gpuMemoryBytes, p?.gpuMemoryBytes),
  };
}

function printReport(r: PeersReport): void {
  const f = (x: number | null, digits = 1) => (x == null ? '—' : x.toFixed(digits));
  console.log(`${r.where}: ${r.model} (TabScout from its ${r.tabscoutFrom}); prompt ${r.promptTokens} tokens, ${r.newTokens} greedy tokens, median of ${r.repeats} timed run(s) after a warm-up`);
  console.log(`${'engine'.padEnd(16)} ${'load ms'.padStart(9)} ${'TTFT ms'.padStart(9)} ${'prefill tok/s'.padStart(14)} ${'decode tok/s'.padStart(13)} ${'GPU MB'.padStart(8)}  chat == HF q4`);
  for (const e of r.engines) {
    const chat = e.chat ? (e.chat.matches ? `yes (${e.chat.compared} tokens)` : `NO (first difference at token ${e.chat.firstMismatch})`) : '—';
    console.log(
      `${e.engine.padEnd(16)} ${f(e.loadMs, 0).padStart(9)} ${f(e.ttftMs).padStart(9)} ${f(e.prefillTokensPerSecond).padStart(14)} ${f(e.decodeTokensPerSecond, 2).padStart(13)} ${f(e.gpuMemoryBytes == null ? null : e.gpuMemoryBytes / 1e6).padStart(8)}  ${chat}`,
    );
    console.log(`${''.padEnd(16)} ${e.backend}${e.error ? `\n${''.padEnd(16)} could not run: ${e.error}` : ''}`);
    if (e.loadPhases) console.log(`${''.padEnd(16)} load ms: ${Object.entries(e.loadPhases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
  }
  const q = r.ratios;
  const x = (v: number | null) => (v == null ? '—' : `${v.toFixed(2)}×`);
  console.log(`TabScout / transformers.js: prefill ${x(q.prefill)}, decode ${x(q.decode)} (tok/s; > 1 is faster); TTFT ${x(q.ttft)}, load ${x(q.load)}, GPU memory ${x(q.gpuMemory)} (< 1 is better)`);
}
