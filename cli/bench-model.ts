// npm run bench -- model --config <config.json> [--layers N] [--weights q4|f32] [--prompt N] [--tokens N]
//   [--expert-budget-gib X] [--routing random|sticky:P|trace:FILE] [--context N] [--kv-f16] [--also-resident] [--submit-every N]
//   [--kernel-profile] [--kernel-ablation] [--norm-in-qkv] [--no-speculate] [--pinned-tier] [--paged-float-h] [--matvec-shape WG,CT,R] [--attn-single-split N] [--attn-unfused] [--attn-short off|tile] [--attn-probe N] [--structure-floor] [--grid-floor N,…] [--router-topk] [--router-separate] [--sampling T,P] [--json] [--quick]
//
// The whole model at a real config: synthetic weights made on the GPU (cli/synthetic-model.ts), then a prefill of
// --prompt tokens and a greedy decode of --tokens through Llama4Text with sampling on the GPU, as ModelSession runs
// it (one submission per decode step). Prints load time, prefill and decode tok/s, ms per token split into GPU busy
// time (timestamps around every compute pass of the step) and the rest (CPU encoding, submits, waits, read-backs),
// weight bytes read per decoded token (from the tensors a token touches), the decode roofline ratio against a
// streaming read measured in the same run, and GPU memory per category. With --expert-budget-gib the routed experts
// are paged through that many GiB of slots: hit rate, prediction accuracy, bytes paged in per token, the measured
// upload bandwidth and the paging bound.
// --kernel-ablation (resident runs): what each kernel costs inside the stream of a step, where --kernel-profile times
// every dispatch alone (launch and drain included): steps with that kernel's dispatches left out (wrong results; the
// other kernels' timing holds), their GPU busy time against steps with nothing left out, measured alike.
// --quick (no --config): a tiny Llama-4-shaped config that runs on SwiftShader in seconds (CI runs it).
import { readFileSync } from 'node:fs';
import type { GpuContext } from '../kernels/runtime.ts';
import { createNodeGpu } from './node-gpu.ts';
import { hashFill } from '../kernels/hash-fill/hash-fill.ts';
import { rooflineRead, ROOFLINE_WORKGROUPS } from '../kernels/roofline/roofline.ts';
import { fmaRoofline, fmaRooflineFlops } from '../kernels/fma-roofline/fma-roofline.ts';
import { sampleToken, seededRandom } from '../kernels/sample/sample.ts';
import { overrideQ4MatvecShape, q4MatvecTuning, weightBytes } from '../kernels/linear/linear.ts';
import { attentionDecodeTuning, SHORT_RUNS, type ShortRun } from '../kernels/attention/attention.ts';
import { parseConfig, type ModelConfig } from '../worker/model/config.ts';
import type { KvFormat } from '../kernels/attention/kv-format.ts';
import { createRunState, destroyRunState, Llama4Text, moeTuning, normTuning, type RunState } from '../worker/model/llama4.ts';
import { decodeTokens } from '../worker/model/decode.ts';
import { parseOptions } from './options.ts';
import { destroyTextWeights, type MlpWeights, type TextWeights } from '../worker/model/weights.ts';
import { ExpertPager, type ExpertSource } from '../worker/pager/pager.ts';
import { kvBytesPerPosition, slotsForBudget } from '../worker/model/memory-plan.ts';
import { syntheticTextWeights } from './synthetic-model.ts';
import { decodeStageBytes, measureStructureFloor, tokenStageBytes, type StructureFloor } from './structure-floor.ts';
import type { WeightFormat as WeightMode } from '../kernels/linear/weight-format.ts';

export interface ModelBenchOptions {
  config: ModelConfig;
  configName: string;
  weights: WeightMode;
  prompt: number;
  tokens: number;
  /** GiB of GPU memory for routed-expert slots; null: every expert resident */
  expertBudgetGiB: number | null;
  routing: Routing;
  /** decode ends at this position (the KV before the prompt is synthetic); null: the prompt starts at 0 */
  context: number | null;
  /** with paging: also run every expert resident first and check the paged run gives the same tokens */
  alsoResident: boolean;
  /** submit every this many layers during decode (0: one submission per step; null: the engine's default) */
  submitEvery: number | null;
  /** after the decode, two more steps with each dispatch timed alone: GPU time per kernel */
  kernelProfile: boolean;
  /** (resident; implies kernelProfile) then steps without each kernel of the profile in turn: its cost in the stream */
  kernelAblation: boolean;
  /** paged decode reads expert ids back after every MoE layer instead of once per step (speculative) */
  noSpeculate: boolean;
  /** paged: the RAM tier's experts also pinned in host-visible GPU memory (worker/pager/pinned-tier.ts), so a page-in
   * is a GPU copy with no CPU memcpy (every payload is written into it at load, counted in the load time) */
  pinnedTier: boolean;
  /** (resident) after the decode, the step's structure floor (cli/structure-floor.ts): its dispatches as streaming reads of their stages' bytes */
  structureFloor: boolean;
  /** with structureFloor: also the step's reads in one dispatch with grid-wide barriers, at each of these workgroup counts */
  gridFloor: number[];
  /** the KV cache's elements (--kv-f16: f16; default f32) */
  kvCache: KvFormat;
  /** decode samples with this temperature and top-p (the app's defaults: 0.6, 0.9), u from a seeded generator that
   * every run restarts (a paged run draws what the resident one drew); null: greedy */
  sampling: { temperature: number; topP: number } | null;
  quick: boolean;
}

export type Routing = { kind: 'random' } | { kind: 'sticky'; p: number } | { kind: 'trace'; ids: number[][]; file: string };

const GiB = 1024 ** 3;
const SAMPLING_SEED = 1234;
/** expert payloads kept in RAM for the pager's source (Scout: 63 distinct experts of 67.5 MiB) */
const RAM_TIER_BYTES = 4 * GiB;
/** decode steps left out of the figures: the first compiles the mat-vec pipelines */
export const WARMUP_STEPS = 2;
/** steps per variant of --kernel-ablation (their median counts) */
const ABLATION_STEPS = 5;

/** A tiny config of Llama 4's structure (chunked RoPE layers and a NoPE layer, MoE with a shared expert). */
export function quickConfig(): ModelConfig {
  return parseConfig({
    architectures: ['Llama4ForCausalLM'],
    model_type: 'llama4_text',
    vocab_size: 512,
    hidden_size: 128,
    intermediate_size: 256,
    intermediate_size_mlp: 512,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    num_local_experts: 4,
    num_experts_per_tok: 1,
    interleave_moe_layer_step: 2,
    attention_chunk_size: 16,
    max_position_embeddings: 4096,
    use_qk_norm: true,
    attn_temperature_tuning: true,
    eos_token_id: [1],
  });
}

/** The config file's model, cut to `layers` layers (per-layer lists cut to match). */
/** A config.json, its text model cut to its first `layers` layers (null: all). */
export function configJson(path: string, layers: number | null): Record<string, unknown> {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  if (layers !== null) {
    const text = (json.text_config ?? json) as Record<string, unknown>;
    const total = Number(text.num_hidden_layers);
    if (!(layers >= 1 && layers <= total)) throw new Error(`--layers must be between 1 and ${total}`);
    text.num_hidden_layers = layers;
    if (Array.isArray(text.no_rope_layers) && text.no_rope_layers.length) text.no_rope_layers = (text.no_rope_layers as number[]).slice(0, layers);
    if (Array.isArray(text.moe_layers)) text.moe_layers = (text.moe_layers as number[]).filter((l) => l < layers);
    if (Array.isArray(text.layer_types)) text.layer_types = (text.layer_types as unknown[]).slice(0, layers);
  }
  return json;
}

export function loadConfig(path: string, layers: number | null): ModelConfig {
  return parseConfig(configJson(path, layers));
}

export function parseRouting(s: string): Routing {
  if (s === 'random') return { kind: 'random' };
  const sticky = /^sticky:([0-9.]+)$/.exec(s);
  if (sticky) {
    const p = Number(sticky[1]);
    if (!(p >= 0 && p <= 1)) throw new Error('--routing sticky:P needs 0 ≤ P ≤ 1');
    return { kind: 'sticky', p };
  }
  if (s.startsWith('trace:')) {
    const file = s.slice(6);
    const data = JSON.parse(readFileSync(file, 'utf8')) as { experts?: number[][] } | number[][];
    const ids = Array.isArray(data) ? data : data.experts;
    if (!Array.isArray(ids) || !ids.length || !ids.every((r) => Array.isArray(r) && r.every(Number.isInteger))) {
      throw new Error(`${file}: a trace is {"experts": [[expert of each layer] for each token]}`);
    }
    return { kind: 'trace', ids, file };
  }
  throw new Error(`--routing: expected random, sticky:P or trace:FILE, got ${s}`);
}

/** Expert ids forced on each MoE layer, step by step (sticky: keep the layer's last expert with probability P). */
class RoutingPlan {
  private last: number[];
  private step = 0;
  private seed = 12345;
  constructor(
    private routing: Routing,
    private config: ModelConfig,
  ) {
    this.last = config.text.isMoe.map(() => 0);
  }
  private random(): number {
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    return this.seed / 4294967296;
  }
  /** ids [layer][maxBatch·k] for a step of T tokens; null when the router decides */
  next(T: number, maxBatch: number): Uint32Array | null {
    const r = this.routing;
    if (r.kind === 'random') return null;
    const c = this.config.text, k = c.topK;
    const out = new Uint32Array(c.numLayers * maxBatch * k);
    for (let t = 0; t < T; t++, this.step++) {
      for (let l = 0; l < c.numLayers; l++) {
        if (!c.isMoe[l]) continue;
        let e: number;
        if (r.kind === 'trace') e = r.ids[this.step % r.ids.length][l % r.ids[0].length] % c.numExperts;
        else e = this.random() < r.p ? this.last[l] : Math.floor(this.random() * c.numExperts);
        this.last[l] = e;
        for (let j = 0; j < k; j++) out[l * maxBatch * k + t * k + j] = (e + j) % c.numExperts;
      }
    }
    return out;
  }
}

/** Streaming-read bandwidth of this device (GB/s), timed with GPU timestamps. */
async function measureRoofline(ctx: GpuContext, quick: boolean): Promise<{ GBps: number; bytes: number }> {
  const bytes = Math.floor(Math.min(quick ? 4 * 2 ** 20 : GiB, ctx.maxBindingBytes) / 256) * 256;
  const src = ctx.createBuffer(bytes, 'roofline src');
  const out = ctx.createBuffer(16, 'roofline out');
  hashFill(ctx, src, bytes, 0, 99);
  const groups = quick ? 16 : ROOFLINE_WORKGROUPS;
  const reads = quick ? 2 : 40;
  ctx.startProfile();
  for (let i = 0; i < reads; i++) rooflineRead(ctx, src, out, bytes, 0, groups); // warm-up (clocks up)
  ctx.markProfile();
  for (let i = 0; i < reads; i++) rooflineRead(ctx, src, out, bytes, 0, groups);
  ctx.markProfile();
  const [, ns] = (await ctx.endProfile()).steps;
  src.destroy();
  out.destroy();
  return { GBps: (reads * bytes) / ns, bytes };
}

/** f32 FMA rate of this device (TFLOP/s), timed with GPU timestamps like the streaming read. */
async function measureFmaRoofline(ctx: GpuContext, quick: boolean): Promise<number> {
  const groups = quick ? 4 : ROOFLINE_WORKGROUPS, iterations = quick ? 64 : 1024, runs = quick ? 2 : 20;
  const out = ctx.createBuffer(groups * 256 * 4, 'fma roofline out');
  ctx.startProfile();
  for (let i = 0; i < runs; i++) fmaRoofline(ctx, out, groups, iterations); // warm-up (clocks up)
  ctx.markProfile();
  for (let i = 0; i < runs; i++) fmaRoofline(ctx, out, groups, iterations);
  ctx.markProfile();
  const [, ns] = (await ctx.endProfile()).steps;
  out.destroy();
  return (runs * fmaRooflineFlops(groups, iterations)) / ns / 1e3;
}

/**
 * FLOPs per prompt token of a prefill of `prompt` tokens (a multiply-add counts two): every linear a token passes
 * through (the selected routed experts only), attention's scores and weighted sum over the keys it sees (causal,
 * within its chunk on RoPE layers), and lm_head once for the prompt (only the last position's logits are computed).
 */
function prefillFlopsPerToken(w: TextWeights, config: ModelConfig, prompt: number): number {
  const c = config.text;
  const mac = (x: { rows: number; cols: number }) => x.rows * x.cols;
  let macs = mac(w.lmHead) / prompt;
  for (const l of w.layers) {
    macs += Object.values(l.attention).reduce((s, x) => s + mac(x), 0);
    if (l.ffn.kind === 'moe') {
      const m = l.ffn.moe;
      const slots = m.experts.gateUp.rows / m.experts.gateUp.rowsPerExpert!;
      macs += mac(m.router) + mac(m.shared.gateUp) + mac(m.shared.down) + (c.topK * (mac(m.experts.gateUp) + mac(m.experts.down))) / slots;
    } else {
      macs += mac(l.ffn.mlp.gateUp) + mac(l.ffn.mlp.down);
    }
  }
  // keys seen by position p (0-based): p + 1, or within its chunk on RoPE layers; scores and values: 2 · heads · headDim each
  for (const rope of c.usesRope) {
    let keys = 0;
    for (let p = 0; p < prompt; p++) keys += rope ? (p % c.attentionChunkSize) + 1 : p + 1;
    macs += (2 * c.numHeads * c.headDim * keys) / prompt;
  }
  return 2 * macs;
}

/**
 * Upload bandwidth from the RAM tier into slots through the pager's own path (staging ring, copies; then waiting for
 * the GPU), GB/s: nothing else runs, so this is what a token's misses cost at best, one after another.
 */
async function measureUpload(ctx: GpuContext, pager: ExpertPager, pools: MlpWeights, slots: number, layer: number, source: ExpertSource, count: number): Promise<number> {
  await ctx.settleWrites();
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const parts = await source.read(layer, i);
    await pager.uploader.upload(pools, i % slots, parts);
    bytes += source.bytesOf(parts);
  }
  await ctx.settleWrites();
  return bytes / ((performance.now() - t0) * 1e6);
}

/** Weight bytes one decoded token reads: every tensor it touches, the selected routed experts only. */
function weightBytesPerToken(w: TextWeights, config: ModelConfig): number {
  const stages = tokenStageBytes(w, config);
  let bytes = weightBytes(w.embedTokens.format, 1, config.text.hiddenSize) + w.norm.size + stages.head;
  w.layers.forEach((l, i) => (bytes += l.inputNorm.size + l.postAttentionNorm.size + stages.layers[i].reduce((s, b) => s + b, 0)));
  return bytes;
}

/** KV bytes the attention of one token at `pos` reads (RoPE layers: within its chunk). */
function kvBytesAt(config: ModelConfig, pos: number, format: KvFormat): number {
  const c = config.text, row = kvBytesPerPosition(config, format);
  return c.usesRope.reduce((s, rope) => s + row * (rope ? (pos % c.attentionChunkSize) + 1 : pos + 1), 0);
}

function memory(state: RunState, weights: TextWeights, ctx: GpuContext, pager: ExpertPager | null) {
  let kv = 0, scratch = 0;
  for (const [key, value] of Object.entries(state)) {
    if (key === 'kCache' || key === 'vCache') kv += (value as GPUBuffer[]).reduce((s, b) => s + b.size, 0);
    else if (value && typeof value === 'object' && 'size' in value) scratch += (value as GPUBuffer).size;
  }
  // expertStaging: the pager's ring of mapped staging buffers (host-visible memory)
  return { weights: weights.gpuBytes, kv, scratch: scratch + ctx.uniformArenaBytes, stagingPeak: ctx.peakPendingWriteBytes, expertStaging: pager?.uploader.stagingBytes ?? 0 };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

interface RunResult {
  tokens: number[];
  loadSeconds: number;
  prefillTokPerS: number;
  /** FLOPs per prompt token of the prefill (prefillFlopsPerToken) */
  prefillFlopsPerToken: number;
  decode: { tokPerS: number; msPerToken: number; msPerTokenMedian: number; gpuBusyMs: number; restMs: number; /** CPU time to record a step (its forward), mean */ recordMs: number | null; dispatchesPerToken: number; submitsPerToken: number };
  bytesPerToken: { weights: number; kv: number };
  memory: ReturnType<typeof memory>;
  /** with --kernel-profile: GPU time per token of each kernel, every dispatch timed alone */
  kernels: { name: string; msPerToken: number; dispatchesPerToken: number }[];
  /**
   * with --kernel-ablation: the median GPU busy ms of ABLATION_STEPS steps with nothing left out (before and after
   * the rest), and for each kernel the same without its dispatches; savedMs = the mean baseline − gpuMs
   */
  ablation: null | { steps: number; baselineGpuMs: [number, number]; kernels: { name: string; dispatchesPerToken: number; gpuMs: number; savedMs: number }[] };
  /** with --structure-floor (resident): the step's dispatches as streaming reads, and one read per layer */
  structureFloor: StructureFloor | null;
  paging: null | {
    slotsPerLayer: number;
    slotBytes: number;
    hitRate: number;
    predictionAccuracy: number | null;
    pagedInBytesPerToken: number;
    missesPerToken: number;
    uploadGBps: number;
    readbackMsPerToken: number;
    writeMsPerToken: number;
    stallMsPerToken: number;
    /** CPU round trips reading expert ids back, per token (was one per MoE layer plus one per prediction) */
    readbacksPerToken: number;
    /** speculative decode: re-runs of a step after a miss, and the layers they ran again, per token */
    rerunsPerToken: number;
    rerunLayersPerToken: number;
    /** re-run GPU work as a fraction of a step's layers */
    rerunFraction: number;
    /** uploads of guessed experts the token did not use, per token (counted in missesPerToken, not in the bound) */
    wastedUploadsPerToken: number;
    /** bytes of the experts a token needed and did not have (the paging bound's bytes; pagedIn minus wasted) */
    neededBytesPerToken: number;
    /** with --pinned-tier: its bytes, the experts written into it and the time that took (ms; all at the prompt when
     * the tier holds every payload: at load), those written during the decode, and the share of paged-in bytes it served */
    pinned: null | { bytes: number; fills: number; fillMs: number; decodeFills: number; copiedShare: number };
  };
}

async function runOnce(ctx: GpuContext, o: ModelBenchOptions, paged: boolean, log: (s: string) => void): Promise<RunResult> {
  const c = o.config.text;
  const slots = paged && o.expertBudgetGiB !== null ? slotsForBudget(o.config, o.weights, o.expertBudgetGiB * GiB) : c.numExperts;
  const t0 = performance.now();
  ctx.peakPendingWriteBytes = 0;
  const expertBytesGuess = weightBytes(o.weights === 'q4' && c.hiddenSize % 32 === 0 ? 'q4' : 'f32', 3 * c.intermediateSize, c.hiddenSize);
  const distinct = Math.max(1, Math.floor(RAM_TIER_BYTES / Math.max(1, expertBytesGuess)));
  const matchPaged = o.expertBudgetGiB !== null; // resident experts equal the pager's payloads, else fresh hashes
  const { weights, experts, expertBytes } = await syntheticTextWeights(ctx, o.config, o.weights, slots, distinct, matchPaged);
  const pager = slots < c.numExperts ? new ExpertPager(ctx, slots, experts) : null;
  if (pager) weights.layers.forEach((l, i) => l.ffn.kind === 'moe' && pager.setPools(i, l.ffn.moe.experts));
  if (pager && o.noSpeculate) pager.speculative = false;
  const tier = pager && o.pinnedTier ? pager.pin(RAM_TIER_BYTES) : null;
  if (tier) {
    // the whole RAM tier pinned at load, as it is read into RAM: page-ins in the decode are copies only
    const moe = weights.layers.find((l) => l.ffn.kind === 'moe')!.ffn;
    if (moe.kind === 'moe') for (const parts of experts.payloads) pager!.uploader.pin(moe.moe.experts, parts);
  }
  const start = o.context !== null ? Math.max(0, o.context - o.prompt - o.tokens) : 0;
  const contextLength = Math.max(o.context ?? 0, start + o.prompt + o.tokens + 3);
  const state = createRunState(ctx, c, contextLength, undefined, o.kvCache);
  // a synthetic history (f16 pairs in an f16 cache: no NaN or infinity among them)
  if (start > 0) for (const b of [...state.kCache, ...state.vCache]) hashFill(ctx, b, b.size, o.kvCache === 'f16' ? 1 : 2, 7, 0.5);
  await ctx.settleWrites();
  const loadSeconds = (performance.now() - t0) / 1000;
  log(`  loaded in ${loadSeconds.toFixed(1)} s: ${(weights.gpuBytes / 1e9).toFixed(2)} GB of weights${pager ? `, ${slots} expert slots per MoE layer (paged)` : ', every expert resident'}`);

  const model = new Llama4Text(ctx, c, weights, state, pager);
  if (o.submitEvery !== null) model.submitEveryLayers = o.submitEvery;
  const plan = new RoutingPlan(o.routing, o.config);
  const forced = o.routing.kind === 'random' ? null : ctx.createBuffer(c.numLayers * state.maxBatch * c.topK * 4, 'forced routing');
  model.forcedRouting = forced;
  const route = (T: number) => {
    const ids = plan.next(Math.min(T, state.maxBatch), state.maxBatch);
    if (ids && forced) ctx.write(forced, ids);
  };
  const out = ctx.createBuffer(4, 'token');
  const draw = seededRandom(SAMPLING_SEED);
  const choice = () => (o.sampling ? { temperature: o.sampling.temperature, topK: 0, topP: o.sampling.topP, u: draw() } : { temperature: 0, topK: 0, topP: 1, u: 0 });
  const sample = async () => {
    sampleToken(ctx, state.logits, 0, c.vocabSize, null, 0, out, choice());
    return (await ctx.readU32(out, 0, 1))[0];
  };

  // warm-up: compiles the prefill pipelines on a few tokens
  ctx.flush();
  route(4);
  await model.forward(Uint32Array.from({ length: Math.min(4, o.prompt) }, (_, i) => i + 1), start);
  await sample();

  const prompt = Uint32Array.from({ length: o.prompt }, (_, i) => (i * 7919 + 3) % c.vocabSize);
  route(o.prompt);
  const tp = performance.now();
  await model.forward(prompt, start, { defer: true });
  const first = await sample();
  const prefillTokPerS = o.prompt / ((performance.now() - tp) / 1000);
  const tokens = [first];
  if (pager) await ctx.settleWrites();
  const statsBefore = pager ? { ...pager.stats } : null;
  const fillsBefore = tier?.fills ?? 0;

  // decode as the app does (worker/model/decode.ts): token i's step is recorded before token i is read back; a
  // step's wall time is from one token's arrival to the next
  const wall: number[] = [];
  let dispatches = 0, submits = 0;
  let d0 = 0, s0 = 0;
  const recordMs: number[] = []; // CPU time to record a step (resident: no waits inside)
  let recordStart = 0;
  ctx.startProfile();
  route(1);
  await model.forward(Uint32Array.of(first), start + o.prompt, { defer: true }); // the step of the prefill's token
  let ts = performance.now();
  await decodeTokens(model, {
    startPos: start + o.prompt + 1,
    count: o.tokens,
    sampled: out,
    sample: () => sampleToken(ctx, state.logits, 0, c.vocabSize, null, 0, out, choice()),
    beforeStep: (i) => {
      ctx.markProfile(); // a profiled step: one forward and the sampling of its token
      if (i === WARMUP_STEPS) (d0 = ctx.dispatchCount), (s0 = ctx.submitCount);
      route(1);
      recordStart = performance.now();
    },
    afterStep: (i) => {
      if (i >= WARMUP_STEPS) recordMs.push(performance.now() - recordStart);
    },
    take: (t) => {
      const now = performance.now();
      wall.push(now - ts);
      ts = now;
      tokens.push(t);
      return true;
    },
  });
  ctx.markProfile();
  // from step WARMUP_STEPS on: the steps and the samplings that follow them
  const countedSteps = Math.max(1, o.tokens - 1 - WARMUP_STEPS);
  dispatches = (ctx.dispatchCount - d0) / countedSteps;
  submits = (ctx.submitCount - s0) / countedSteps;
  const gpu = (await ctx.endProfile()).steps.map((ns) => ns / 1e6);
  let id = tokens[tokens.length - 1];
  // a breakdown by kernel: two more steps with every dispatch in a pass of its own
  let kernels: RunResult['kernels'] = [];
  if (o.kernelProfile) {
    ctx.startProfile(true);
    for (let i = 0; i < 2; i++) {
      route(1);
      await model.forward(Uint32Array.of(id), start + o.prompt + o.tokens + i, { defer: true });
      id = await sample();
      ctx.markProfile();
    }
    const byKernel = (await ctx.endProfile()).kernels;
    kernels = [...byKernel].map(([name, k]) => ({ name, msPerToken: k.ns / 2 / 1e6, dispatchesPerToken: k.count / 2 })).sort((a, b) => b.msPerToken - a.msPerToken);
  }
  let ablation: RunResult['ablation'] = null;
  if (o.kernelAblation && !pager) {
    // every step at the same position (its KV slot rewritten): the context needs no room for them
    const pos = start + o.prompt + o.tokens + (o.kernelProfile ? 2 : 0) - 1;
    const busyWithout = async (kernel: string | null): Promise<number> => {
      ctx.skipKernels = kernel === null ? null : new Set([kernel]);
      ctx.startProfile();
      for (let i = 0; i < ABLATION_STEPS; i++) {
        route(1);
        await model.forward(Uint32Array.of(id), pos, { defer: true });
        id = await sample(); // (a step without the sampler reads back the last id)
        ctx.markProfile();
      }
      ctx.skipKernels = null;
      return median((await ctx.endProfile()).steps.slice(0, ABLATION_STEPS).map((ns) => ns / 1e6));
    };
    const before = await busyWithout(null);
    const names = [...new Set(kernels.map((k) => k.name.split(' (')[0]))];
    const gpuMs: number[] = [];
    for (const name of names) gpuMs.push(await busyWithout(name));
    const after = await busyWithout(null);
    ablation = {
      steps: ABLATION_STEPS,
      baselineGpuMs: [before, after],
      kernels: names
        .map((name, i) => ({
          name,
          dispatchesPerToken: kernels.filter((k) => k.name.split(' (')[0] === name).reduce((n, k) => n + k.dispatchesPerToken, 0),
          gpuMs: gpuMs[i],
          savedMs: (before + after) / 2 - gpuMs[i],
        }))
        .sort((a, b) => b.savedMs - a.savedMs),
    };
  }
  const structureFloor = o.structureFloor && !pager ? await measureStructureFloor(ctx, decodeStageBytes(weights, o.config), dispatches, o.quick, o.gridFloor) : null;
  // a paged step waits for its own expert read-backs (a speculative step: once, at its end), so token i arrives
  // only after the step that computes token i + 1 has finished: the walls from token WARMUP_STEPS on hold the steps
  // from WARMUP_STEPS + 1 on, and the last token's wall holds no step. Pair them with those steps' GPU time.
  const shift = pager && wall.length > WARMUP_STEPS + 1 ? 1 : 0;
  const measured = wall.slice(WARMUP_STEPS, wall.length - shift);
  const busy = gpu.slice(WARMUP_STEPS + shift);
  const n = measured.length;
  const msPerToken = mean(measured);
  const positions = Array.from({ length: n }, (_, i) => start + o.prompt + WARMUP_STEPS + i);
  let paging: RunResult['paging'] = null;
  if (pager && statsBefore) {
    const s = pager.stats;
    const decoded = o.tokens; // stats cover every decode step (warm-up steps too)
    const hits = s.hits - statsBefore.hits, misses = s.misses - statsBefore.misses;
    const moeLayer = weights.layers.findIndex((l) => l.ffn.kind === 'moe');
    const ffn = weights.layers[moeLayer].ffn;
    const uploadGBps = ffn.kind === 'moe' ? await measureUpload(ctx, pager, ffn.moe.experts, slots, moeLayer, experts, Math.min(8, c.numExperts)) : NaN;
    paging = {
      slotsPerLayer: slots,
      slotBytes: slots * expertBytes,
      hitRate: hits / Math.max(1, hits + misses),
      predictionAccuracy: s.prefetchAccuracy,
      pagedInBytesPerToken: (s.bytesRead - statsBefore.bytesRead) / decoded,
      missesPerToken: misses / decoded,
      uploadGBps,
      readbackMsPerToken: (s.readbackMs - statsBefore.readbackMs) / decoded,
      writeMsPerToken: (s.writeMs - statsBefore.writeMs) / decoded,
      stallMsPerToken: (s.stallMs - statsBefore.stallMs) / decoded,
      readbacksPerToken: (s.readbacks - statsBefore.readbacks) / decoded,
      rerunsPerToken: (s.reruns - statsBefore.reruns) / decoded,
      rerunLayersPerToken: (s.rerunLayers - statsBefore.rerunLayers) / decoded,
      rerunFraction: (s.rerunLayers - statsBefore.rerunLayers) / decoded / c.numLayers,
      wastedUploadsPerToken: (s.wastedUploads - statsBefore.wastedUploads) / decoded,
      neededBytesPerToken: (s.bytesRead - statsBefore.bytesRead - (s.wastedBytes - statsBefore.wastedBytes)) / decoded,
      pinned: tier ? { bytes: tier.bytes, fills: tier.fills, fillMs: tier.fillMs, decodeFills: tier.fills - fillsBefore, copiedShare: pager.uploader.pinnedBytes / Math.max(1, pager.uploader.bytes) } : null,
    };
  }
  const result: RunResult = {
    tokens,
    loadSeconds,
    prefillTokPerS,
    prefillFlopsPerToken: prefillFlopsPerToken(weights, o.config, o.prompt),
    decode: {
      tokPerS: 1000 / msPerToken,
      msPerToken,
      msPerTokenMedian: median(measured),
      gpuBusyMs: mean(busy),
      restMs: msPerToken - mean(busy),
      recordMs: recordMs.length ? mean(recordMs) : null,
      dispatchesPerToken: dispatches,
      submitsPerToken: submits,
    },
    bytesPerToken: { weights: weightBytesPerToken(weights, o.config), kv: mean(positions.map((p) => kvBytesAt(o.config, p, o.kvCache))) },
    memory: memory(state, weights, ctx, pager),
    kernels,
    ablation,
    structureFloor,
    paging,
  };
  forced?.destroy();
  pager?.destroy();
  out.destroy();
  destroyTextWeights(weights);
  destroyRunState(state);
  ctx.forgetBindGroups();
  await ctx.settleWrites();
  return result;
}

/** decode: (weight bytes per token / streaming-read bandwidth) / ms per token, and the same over GPU busy ms; prefill: FLOP rate / FMA roofline */
export interface RooflineRatios {
  decodeRooflineRatio: number;
  decodeGpuRooflineRatio: number;
  prefillRooflineRatio: number;
  /** with --structure-floor: the same weight bytes over the floor's ms, and over the merged floor's (one dispatch per layer) */
  structureFloorRooflineRatio: number | null;
  mergedFloorRooflineRatio: number | null;
}

export interface ModelBenchReport {
  adapter: string;
  config: string;
  layers: number;
  weights: WeightMode;
  prompt: number;
  tokens: number;
  context: number | null;
  routing: string;
  /** 'greedy' or 'temperature T, top-p P' */
  sampling: string;
  rooflineGBps: number;
  /** f32 FMA rate measured in the same run (kernels/fma-roofline) */
  fmaTflops: number;
  resident: (RunResult & RooflineRatios) | null;
  paged: (RunResult & RooflineRatios & { pagingBoundTokPerS: number; ofPagingBound: number }) | null;
  pagedMatchesResident: boolean | null;
}

export async function runModelBench(ctx: GpuContext, adapter: string, o: ModelBenchOptions, log: (s: string) => void): Promise<ModelBenchReport> {
  const c = o.config.text;
  log(`adapter: ${adapter}`);
  log(`model: ${o.configName}, ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads}/${c.numKvHeads} heads of ${c.headDim}, ${c.numExperts} experts of FFN ${c.intermediateSize}, vocab ${c.vocabSize}, ${o.weights}, KV cache ${o.kvCache}`);
  const roof = await measureRoofline(ctx, o.quick);
  log(`roofline: streaming read of ${(roof.bytes / 2 ** 20).toFixed(0)} MiB at ${roof.GBps.toFixed(1)} GB/s`);
  const fmaTflops = await measureFmaRoofline(ctx, o.quick);
  log(`FMA roofline: ${fmaTflops.toFixed(2)} TFLOP/s (f32)`);
  const ratio = (r: RunResult) => (r.bytesPerToken.weights / (roof.GBps * 1e6)) / r.decode.msPerToken;
  // the same bytes over the GPU's busy time alone: what the kernels reach when the CPU's recording keeps up (it varies from host to host)
  const gpuRatio = (r: RunResult) => (r.bytesPerToken.weights / (roof.GBps * 1e6)) / r.decode.gpuBusyMs;
  const prefillRatio = (r: RunResult) => (r.prefillTokPerS * r.prefillFlopsPerToken) / (fmaTflops * 1e12);
  const floorRatios = (r: RunResult) => {
    const f = r.structureFloor, ms = r.bytesPerToken.weights / (roof.GBps * 1e6);
    return { structureFloorRooflineRatio: f ? ms / f.msPerToken : null, mergedFloorRooflineRatio: f ? ms / f.mergedMsPerToken : null };
  };
  let resident: ModelBenchReport['resident'] = null;
  let paged: ModelBenchReport['paged'] = null;
  if (o.expertBudgetGiB === null || o.alsoResident) {
    log('resident:');
    const r = await runOnce(ctx, o, false, log);
    resident = { ...r, decodeRooflineRatio: ratio(r), decodeGpuRooflineRatio: gpuRatio(r), prefillRooflineRatio: prefillRatio(r), ...floorRatios(r) };
    report(resident, log);
  }
  if (o.expertBudgetGiB !== null) {
    log(`paged (${o.expertBudgetGiB} GiB of expert slots, routing ${routingName(o.routing)}):`);
    const r = await runOnce(ctx, o, true, log);
    const p = r.paging!;
    // the fastest a paged token can be: its weight bytes at the roofline plus its misses at the upload bandwidth
    // (the experts it needed: uploads of wrong guesses are a cost of this engine, not of the bound)
    const boundMs = r.bytesPerToken.weights / (roof.GBps * 1e6) + p.neededBytesPerToken / (p.uploadGBps * 1e6);
    paged = { ...r, decodeRooflineRatio: ratio(r), decodeGpuRooflineRatio: gpuRatio(r), prefillRooflineRatio: prefillRatio(r), ...floorRatios(r), pagingBoundTokPerS: 1000 / boundMs, ofPagingBound: r.decode.tokPerS / (1000 / boundMs) };
    report(paged, log);
    log(
      `  paging: ${p.slotsPerLayer} slots/layer, hit rate ${(100 * p.hitRate).toFixed(1)} %, next-layer prediction ${p.predictionAccuracy === null ? 'n/a' : (100 * p.predictionAccuracy).toFixed(1) + ' %'}, ` +
        `${p.missesPerToken.toFixed(2)} misses = ${(p.pagedInBytesPerToken / 2 ** 20).toFixed(1)} MiB paged in per token; upload ${p.uploadGBps.toFixed(2)} GB/s; ` +
        `paging bound ${paged.pagingBoundTokPerS.toFixed(2)} tok/s, measured ${(100 * paged.ofPagingBound).toFixed(1)} % of it; per token: read-back wait ${p.readbackMsPerToken.toFixed(2)} ms, slot writes ${p.writeMsPerToken.toFixed(2)} ms, source reads ${p.stallMsPerToken.toFixed(2)} ms; ` +
        `${p.readbacksPerToken.toFixed(2)} id read-backs, ${p.rerunsPerToken.toFixed(2)} re-runs (${p.rerunLayersPerToken.toFixed(1)} layers = ${(100 * p.rerunFraction).toFixed(1)} % of a step), ${p.wastedUploadsPerToken.toFixed(2)} wasted uploads` +
        (p.pinned ? `; pinned tier ${(p.pinned.bytes / GiB).toFixed(2)} GiB: ${p.pinned.fills} experts written in ${(p.pinned.fillMs / 1000).toFixed(1)} s (${p.pinned.decodeFills} during the decode), ${(100 * p.pinned.copiedShare).toFixed(1)} % of uploaded bytes copied from it` : ''),
    );
  }
  const pagedMatchesResident = resident && paged ? resident.tokens.every((t, i) => t === paged!.tokens[i]) : null;
  if (pagedMatchesResident !== null) log(`paged tokens ${pagedMatchesResident ? 'match' : 'DIFFER FROM'} the resident run's`);
  return {
    adapter,
    config: o.configName,
    layers: c.numLayers,
    weights: o.weights,
    prompt: o.prompt,
    tokens: o.tokens,
    context: o.context,
    routing: routingName(o.routing),
    sampling: o.sampling ? `temperature ${o.sampling.temperature}, top-p ${o.sampling.topP}` : 'greedy',
    rooflineGBps: roof.GBps,
    fmaTflops,
    resident,
    paged,
    pagedMatchesResident,
  };
}

function routingName(r: Routing): string {
  return r.kind === 'sticky' ? `sticky:${r.p}` : r.kind === 'trace' ? `trace:${r.file}` : 'random';
}

function report(r: RunResult & RooflineRatios, log: (s: string) => void): void {
  const d = r.decode, m = r.memory;
  const gb = (b: number) => (b / 1e9).toFixed(3);
  log(`  prefill: ${r.prefillTokPerS.toFixed(1)} tok/s, ${(r.prefillFlopsPerToken / 1e9).toPrecision(3)} GFLOP per token → ${((r.prefillTokPerS * r.prefillFlopsPerToken) / 1e12).toPrecision(3)} TFLOP/s = ${(100 * r.prefillRooflineRatio).toFixed(1)} % of the FMA roofline`);
  log(
    `  decode: ${d.tokPerS.toFixed(2)} tok/s, ${d.msPerToken.toFixed(2)} ms per token (median ${d.msPerTokenMedian.toFixed(2)}): GPU busy ${d.gpuBusyMs.toFixed(2)} ms, rest ${d.restMs.toFixed(2)} ms (recording a step on the CPU: ${d.recordMs === null ? "-" : d.recordMs.toFixed(2) + " ms"}); ` +
      `${d.dispatchesPerToken.toFixed(0)} dispatches and ${d.submitsPerToken.toFixed(1)} submits per token`,
  );
  log(`  bytes per token: weights ${gb(r.bytesPerToken.weights)} GB, KV ${gb(r.bytesPerToken.kv)} GB; decode roofline ratio ${(100 * r.decodeRooflineRatio).toFixed(1)} % (of the GPU's busy time alone: ${(100 * r.decodeGpuRooflineRatio).toFixed(1)} %)`);
  if (r.kernels.length) {
    log(`  GPU time per token by kernel (each dispatch timed alone): ` + r.kernels.map((k) => `${k.name} ${k.msPerToken.toFixed(3)} ms/${k.dispatchesPerToken}`).join(', '));
  }
  if (r.ablation) {
    const a = r.ablation;
    log(
      `  GPU busy per step without each kernel (median of ${a.steps} steps; with all: ${a.baselineGpuMs.map((v) => v.toFixed(3)).join(' then ')} ms): ` +
        a.kernels.map((k) => `${k.name} ×${k.dispatchesPerToken} saves ${k.savedMs.toFixed(3)} ms (${((1000 * k.savedMs) / Math.max(1, k.dispatchesPerToken)).toFixed(1)} µs each)`).join(', '),
    );
  }
  const f = r.structureFloor;
  if (f) {
    log(
      `  structure floor (the step's ${f.dispatches.toFixed(0)} dispatches as streaming reads of their stages' ${gb(f.bytes)} GB): ${f.msPerToken.toFixed(3)} ms per token = ${(100 * r.structureFloorRooflineRatio!).toFixed(1)} % of the roofline ` +
        `(the decode's GPU busy is ${(d.gpuBusyMs / f.msPerToken).toFixed(2)}× it); one read per layer (${f.mergedDispatches.toFixed(0)} dispatches): ${f.mergedMsPerToken.toFixed(3)} ms = ${(100 * r.mergedFloorRooflineRatio!).toFixed(1)} %`,
    );
    for (const g of f.grid) {
      log(
        `  the same ${g.stages} reads in one dispatch of ${g.workgroups} workgroups, a grid-wide barrier between them: ${g.msPerToken.toFixed(3)} ms per token = ${((100 * f.msPerToken * r.structureFloorRooflineRatio!) / g.msPerToken).toFixed(1)} % of the roofline` +
          (g.timedOut ? ' (NOT VALID: a barrier gave up waiting; the workgroups were not all resident)' : ''),
      );
    }
  }
  log(`  GPU memory: weights ${gb(m.weights)} GB, KV ${gb(m.kv)} GB, scratch ${gb(m.scratch)} GB, staging (peak queued writes) ${gb(m.stagingPeak)} GB${m.expertStaging ? `, expert staging ring ${gb(m.expertStaging)} GB` : ''}`);
}

/** --grid-floor N,N,…: workgroup counts for the one-dispatch floor, each 1 … 65535 */
export function parseGridFloor(v: string): number[] {
  const counts = v.split(',').map(Number);
  if (!counts.length || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 65535)) throw new Error(`--grid-floor takes workgroup counts (1 … 65535) separated by commas, not ${JSON.stringify(v)}`);
  return counts;
}

function parseArgs(args: string[]): { options: ModelBenchOptions; json: boolean } {
  const { value, int } = parseOptions(args, ['--config', '--layers', '--weights', '--prompt', '--tokens', '--expert-budget-gib', '--routing', '--context', '--json', '--quick', '--also-resident', '--submit-every', '--kernel-profile', '--kernel-ablation', '--no-speculate', '--pinned-tier', '--paged-float-h', '--matvec-shape', '--attn-single-split', '--attn-unfused', '--attn-short', '--router-topk', '--router-separate', '--norm-in-qkv', '--sampling', '--structure-floor', '--x-ahead', '--kv-f16', '--attn-probe', '--grid-floor']);
  args.forEach((a, i) => {
    if (!a.startsWith('--') && i > 0 && !args[i - 1].startsWith('--') && a !== 'model') throw new Error(`unexpected argument ${a}`);
  });
  const quick = args.includes('--quick');
  const shape = value('--matvec-shape');
  if (shape !== null) {
    // an experiment: every q4 mat-vec (linear and expert kernels) in this launch shape
    const m = /^(\d+),(\d+),(\d+)$/.exec(shape);
    if (!m) throw new Error('--matvec-shape needs WG,CT,R (e.g. 128,64,8)');
    overrideQ4MatvecShape({ WG: Number(m[1]), CT: Number(m[2]), R: Number(m[3]) });
  }
  // an experiment: decode attention in one workgroup per head (no merge dispatch) up to N keys (0: always split)
  if (value('--attn-single-split') !== null) attentionDecodeTuning.singleSplitKeys = int('--attn-single-split', 0);
  // and the layer's q/k prep in a dispatch of its own before it (as before the fused decode kernel)
  if (args.includes('--attn-unfused')) attentionDecodeTuning.prepFused = false;
  // and a workgroup's short run (≤ 128 keys) in one tile (attention.ts ShortRun; 'tile' the default, off: tiles of 64)
  const short = value('--attn-short');
  if (short !== null) {
    if (!(SHORT_RUNS as readonly string[]).includes(short)) throw new Error(`--attn-short needs one of ${SHORT_RUNS.join('|')}`);
    attentionDecodeTuning.shortRun = short as ShortRun;
  }
  // a diagnostic (wrong results): decode attention without some of its work (attention_decode_core.wgsl's PROBE:
  // 1 no cached-value loads, 2 no cached-key loads, 4 no QK norm, 8 nothing after the prep, 16 no integer output; bits
  // add up), to see what each part costs in a step
  if (value('--attn-probe') !== null) {
    const probe = int('--attn-probe', 0);
    if (probe > 31) throw new Error('--attn-probe takes 0..31 (1 values, 2 keys, 4 QK norm, 8 all after the prep, 16 integer output: bits that add up)');
    attentionDecodeTuning.probe = probe;
  }
  // and the router's top-k in a dispatch of its own (as before the expert kernels picked the expert from the logits)
  if (args.includes('--router-topk')) moeTuning.routeInExperts = false;
  // and the router's mat-vec in a dispatch of its own (as before the post-attention add-norm computed the logits)
  if (args.includes('--router-separate')) moeTuning.routerInNorm = false;
  if (args.includes('--paged-float-h')) moeTuning.pagedIntegerH = false;
  // and the plain q4 mat-vecs loading x's next block one iteration ahead with the weights (q4MatvecTuning.xAhead)
  if (args.includes('--x-ahead')) q4MatvecTuning.xAhead = true;
  // and the add-norm that ends a layer inside the next layer's Q/K/V mat-vec (one dispatch fewer per layer; off by default)
  if (args.includes('--norm-in-qkv')) normTuning.intoQkv = true;
  const configPath = value('--config');
  if (!configPath && !quick) throw new Error('--config <config.json> is required (or --quick for the built-in tiny config)');
  const layersArg = value('--layers');
  const config = configPath ? loadConfig(configPath, layersArg === null ? null : int('--layers', 0)) : quickConfig();
  const weights = (value('--weights') ?? 'q4') as WeightMode;
  if (weights !== 'q4' && weights !== 'f32') throw new Error('--weights must be q4 or f32');
  const budget = value('--expert-budget-gib');
  const expertBudgetGiB = budget === null ? null : Number(budget);
  if (expertBudgetGiB !== null && !(expertBudgetGiB > 0)) throw new Error('--expert-budget-gib must be a positive number');
  const context = value('--context');
  const samplingArg = value('--sampling');
  const sm = samplingArg === null ? null : /^([0-9.]+),([0-9.]+)$/.exec(samplingArg);
  if (samplingArg !== null && !(sm && Number(sm[1]) > 0 && Number(sm[2]) > 0 && Number(sm[2]) <= 1)) throw new Error('--sampling needs TEMPERATURE,TOP_P with a temperature > 0 and 0 < top-p ≤ 1 (the app: 0.6,0.9)');
  const options: ModelBenchOptions = {
    config,
    configName: configPath ?? 'quick (built-in tiny Llama 4)',
    weights,
    prompt: Math.max(1, int('--prompt', quick ? 8 : 64)),
    tokens: Math.max(WARMUP_STEPS + 1, int('--tokens', quick ? 6 : 32)),
    expertBudgetGiB,
    routing: parseRouting(value('--routing') ?? 'random'),
    context: context === null ? null : int('--context', 0),
    alsoResident: args.includes('--also-resident'),
    submitEvery: value('--submit-every') === null ? null : int('--submit-every', 0),
    kernelProfile: args.includes('--kernel-profile') || args.includes('--kernel-ablation'),
    kernelAblation: args.includes('--kernel-ablation'),
    noSpeculate: args.includes('--no-speculate'),
    pinnedTier: args.includes('--pinned-tier'),
    structureFloor: args.includes('--structure-floor') || value('--grid-floor') !== null,
    gridFloor: value('--grid-floor') === null ? [] : parseGridFloor(value('--grid-floor')!),
    kvCache: args.includes('--kv-f16') ? 'f16' : 'f32',
    sampling: sm ? { temperature: Number(sm[1]), topP: Number(sm[2]) } : null,
    quick,
  };
  return { options, json: args.includes('--json') };
}

export async function main(args: string[]): Promise<void> {
  const { options, json } = parseArgs(args);
  // Dawn rounds timestamps to a coarse grain unless told not to
  const { ctx, adapterName } = await createNodeGpu(['disable-dawn-features=timestamp_quantization']);
  const log = (s: string) => (json ? console.error(s) : console.log(s));
  const report = await runModelBench(ctx, adapterName, options, log);
  if (json) console.log(JSON.stringify(report));
}
