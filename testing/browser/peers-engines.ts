// The two engines of `npm run bench -- peers` (cli/bench-peers.ts) on the same work, with the same clock: TabScout
// through ModelSession and transformers.js through AutoModelForCausalLM on the ONNX export of the same checkpoint.
// Platform-neutral: the Chromium page (peers-page.ts) and the Node bench call these with their own GPU device, files
// and transformers.js build.
//
// Each engine: load (timed), the chat case greedily (its tokens against Hugging Face's q4 reference; this run also
// warms up the pipelines), one untimed run of the timed work, then `repeats` timed runs of it: a prompt of
// `benchPrompt` ids and `newTokens` greedy tokens with end-of-turn suppressed (HF's min_new_tokens), no KV cache kept
// between runs. Times come from the token callbacks: TTFT = first token − call, decode = (n − 1) / (last − first).
import type { GpuContext } from '../../kernels/runtime.ts';
import type { ModelFiles } from '../../worker/model/safetensors.ts';
import { ModelSession } from '../../worker/session.ts';
import { loadSessionFromPackage } from '../../worker/store/session.ts';
import { LoadTimings } from '../../worker/load-timings.ts';
import { GpuBufferMeter } from './gpu-buffer-meter.ts';
export { GpuBufferMeter };

export interface PeersPlan {
  /** the timed work: prompt ids and how many tokens to generate */
  benchPrompt: number[];
  newTokens: number;
  repeats: number;
  /** the chat case: prompt, Hugging Face's q4 greedy tokens, and how many leading ones have a clear top-1 margin */
  chat: { prompt: number[]; expected: number[]; compare: number } | null;
}

export interface ChatCheck {
  tokens: number[];
  /** the first `compared` tokens equal the reference's */
  matches: boolean;
  compared: number;
  /** first index where the tokens differ (−1: none within the compared ones) */
  firstMismatch: number;
}

export interface RunTimes {
  ttftMs: number;
  decodeTokensPerSecond: number;
  generated: number;
}

export interface EngineReport {
  engine: 'tabscout' | 'transformers.js';
  /** what ran it: adapter or execution provider */
  backend: string;
  /** null when it ran; otherwise the error that stopped it */
  error: string | null;
  loadMs: number | null;
  /** where the load's time went, in ms by phase (TabScout: device, manifest, read, hash, upload, gpuWait, …, other);
   * null where the engine does not show it */
  loadPhases: Record<string, number> | null;
  ttftMs: number | null;
  prefillTokensPerSecond: number | null;
  decodeTokensPerSecond: number | null;
  /** peak bytes of live GPU buffers the engine created; null where they cannot be seen */
  gpuMemoryBytes: number | null;
  chat: ChatCheck | null;
  runs: RunTimes[];
}

export function emptyReport(engine: EngineReport['engine'], backend: string): EngineReport {
  return { engine, backend, error: null, loadMs: null, loadPhases: null, ttftMs: null, prefillTokensPerSecond: null, decodeTokensPerSecond: null, gpuMemoryBytes: null, chat: null, runs: [] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times of one generation from the call time and each new token's arrival. */
export function runTimes(start: number, arrivals: number[]): RunTimes {
  const n = arrivals.length;
  if (n === 0) throw new Error('the engine generated no token');
  const span = arrivals[n - 1] - arrivals[0];
  return { ttftMs: arrivals[0] - start, decodeTokensPerSecond: n > 1 && span > 0 ? ((n - 1) / span) * 1000 : 0, generated: n };
}

export function checkChat(tokens: number[], chat: NonNullable<PeersPlan['chat']>): ChatCheck {
  let firstMismatch = -1;
  for (let i = 0; i < chat.compare; i++) {
    if (tokens[i] !== chat.expected[i]) {
      firstMismatch = i;
      break;
    }
  }
  return { tokens, matches: firstMismatch < 0 && tokens.length >= chat.compare, compared: chat.compare, firstMismatch };
}

/** Fills the report's figures from its timed runs (medians). */
function summarize(report: EngineReport, plan: PeersPlan): void {
  report.ttftMs = median(report.runs.map((r) => r.ttftMs));
  report.prefillTokensPerSecond = (plan.benchPrompt.length / report.ttftMs) * 1000;
  report.decodeTokensPerSecond = median(report.runs.map((r) => r.decodeTokensPerSecond));
}

const message = (e: unknown) => (e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e));

/** Counts the bytes of live GPU buffers (a wrapper on createBuffer/destroy); `peak` since the last reset. */

export interface TabScoutSetup {
  /** the GPU context (device creation counts as load time) */
  context(): Promise<{ ctx: GpuContext; adapter: string }>;
  /** the model's files: its pre-quantized package (cli/convert.ts; what the app imports by URL) or the Hub checkpoint
   * (bf16, quantized while loading) */
  files: ModelFiles;
  source: 'package' | 'checkpoint';
  meter: GpuBufferMeter | null;
}

export async function runTabScout(setup: TabScoutSetup, plan: PeersPlan, log: (s: string) => void = () => {}): Promise<EngineReport> {
  const report = emptyReport('tabscout', 'WebGPU');
  let session: ModelSession | null = null;
  try {
    setup.meter?.reset();
    const timings = new LoadTimings();
    const t0 = performance.now();
    // the package path starts the GPU once its first records are being read (loadSessionFromPackage)
    const context = async () => {
      const { ctx, adapter } = await setup.context();
      report.backend = `WebGPU (${adapter})`;
      return ctx;
    };
    const longest = Math.max(plan.benchPrompt.length, plan.chat?.prompt.length ?? 0);
    const contextLength = longest + Math.max(plan.newTokens, plan.chat?.expected.length ?? 0) + 8;
    session =
      setup.source === 'package'
        ? await loadSessionFromPackage(context, setup.files, { contextLength, vision: false, timings })
        : await ModelSession.load(await timings.time('device', context), setup.files, { weights: 'q4', contextLength, vision: false, timings });
    report.loadMs = performance.now() - t0;
    report.loadPhases = timings.report(report.loadMs);
    log(`tabscout: loaded from its ${setup.source} in ${report.loadMs.toFixed(0)} ms (${Object.entries(report.loadPhases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')})`);
    const s = session;
    const generate = async (prompt: number[], n: number) => {
      s.forget(); // no KV cache kept from a previous run
      const arrivals: number[] = [];
      const tokens: number[] = [];
      const start = performance.now();
      await s.generate(prompt, { maxNewTokens: n, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true }, (t) => {
        if (t.tokenId < 0) return;
        arrivals.push(performance.now());
        tokens.push(t.tokenId);
      });
      return { tokens, times: runTimes(start, arrivals) };
    };
    if (plan.chat) report.chat = checkChat((await generate(plan.chat.prompt, plan.chat.expected.length)).tokens, plan.chat);
    await generate(plan.benchPrompt, plan.newTokens); // warm-up of the timed work's shapes
    for (let r = 0; r < plan.repeats; r++) report.runs.push((await generate(plan.benchPrompt, plan.newTokens)).times);
    summarize(report, plan);
    report.gpuMemoryBytes = setup.meter ? setup.meter.peak : null;
    log(`tabscout: TTFT ${report.ttftMs!.toFixed(1)} ms, decode ${report.decodeTokensPerSecond!.toFixed(2)} tok/s`);
  } catch (e) {
    report.error = message(e);
  } finally {
    session?.destroy();
  }
  return report;
}

/** The part of transformers.js (web or node build) the bench uses. */
export interface TransformersJs {
  env: { version?: string; allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string; useBrowserCache?: boolean; useFSCache?: boolean };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => unknown;
  AutoModelForCausalLM: {
    from_pretrained(id: string, options: Record<string, unknown>): Promise<{
      generate(options: Record<string, unknown>): Promise<unknown>;
      dispose(): Promise<unknown>;
    }>;
  };
}

export interface TransformersJsSetup {
  tjs: TransformersJs;
  /** the model folder's name under `env.localModelPath` */
  modelId: string;
  /** 'webgpu' (or 'cpu' for checking the path where no GPU adapter exists) */
  device: string;
  /** what runs it, for the report (e.g. "onnxruntime-web WebGPU") */
  backend: string;
  meter: GpuBufferMeter | null;
  /** why gpuMemoryBytes stays null (e.g. onnxruntime-node's own Dawn device) */
  gpuMemoryNote?: string;
}

export async function runTransformersJs(setup: TransformersJsSetup, plan: PeersPlan, log: (s: string) => void = () => {}): Promise<EngineReport> {
  const { tjs } = setup;
  const report = emptyReport('transformers.js', tjs.env.version ? `transformers.js ${tjs.env.version}, ${setup.backend}` : setup.backend);
  let model: Awaited<ReturnType<TransformersJs['AutoModelForCausalLM']['from_pretrained']>> | null = null;
  try {
    setup.meter?.reset();
    const t0 = performance.now();
    model = await tjs.AutoModelForCausalLM.from_pretrained(setup.modelId, { dtype: 'q4', device: setup.device });
    report.loadMs = performance.now() - t0;
    log(`transformers.js: loaded in ${report.loadMs.toFixed(0)} ms`);
    const m = model;
    const generate = async (prompt: number[], n: number) => {
      const arrivals: number[] = [];
      const tokens: number[] = [];
      let calls = 0;
      // generate() puts the prompt first, then each step's new token
      const streamer = {
        put(ids: bigint[][]) {
          if (calls++ === 0) return;
          arrivals.push(performance.now());
          tokens.push(Number(ids[0][0]));
        },
        end() {},
      };
      const start = performance.now();
      await m.generate({
        input_ids: new tjs.Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]),
        max_new_tokens: n,
        min_new_tokens: n, // end-of-turn suppressed, as TabScout's ignoreEos
        do_sample: false,
        streamer,
      });
      return { tokens, times: runTimes(start, arrivals) };
    };
    if (plan.chat) report.chat = checkChat((await generate(plan.chat.prompt, plan.chat.expected.length)).tokens, plan.chat);
    await generate(plan.benchPrompt, plan.newTokens);
    for (let r = 0; r < plan.repeats; r++) report.runs.push((await generate(plan.benchPrompt, plan.newTokens)).times);
    summarize(report, plan);
    report.gpuMemoryBytes = setup.meter ? setup.meter.peak : null;
    log(`transformers.js: TTFT ${report.ttftMs!.toFixed(1)} ms, decode ${report.decodeTokensPerSecond!.toFixed(2)} tok/s`);
  } catch (e) {
    report.error = message(e);
  } finally {
    await model?.dispose().catch(() => {});
  }
  return report;
}
