// GQA attention over the KV cache with the chunked (RoPE layers) or full causal (NoPE layers) mask.
// Two kernels: attention_decode.wgsl for decode-sized calls on GPUs (every head over one or many workgroups, tiles
// of keys, splits merged by attention_merge.wgsl), attention.wgsl for prefill, the vision encoder and CPU adapters
// (SwiftShader; its long-KV split merged by attention_combine.wgsl). Kernel tests run both variants.
// qkPrepAttention(): a layer's q/k preparation (kernels/qk-prep) and its attention; at decode on GPUs one dispatch
// (attention_decode_prep.wgsl: the prep folded into every workgroup), plus the merge for long contexts.
// At decode the output can also be written in the integer form of o_proj's q4 mat-vec input (integerOutput()).
import { growingScratch, type GpuContext, type KernelSpec } from '../runtime.ts';
import { qkPrep, type QkPrepCall } from '../qk-prep/qk-prep.ts';
import source from './attention.wgsl';
import combineSource from './attention_combine.wgsl';
import coreSource from './attention_decode_core.wgsl';
import decodeSource from './attention_decode.wgsl';
import decodePrepSource from './attention_decode_prep.wgsl';
import mergeSource from './attention_merge.wgsl';
import { xqWriteIncludes } from '../linear/quantize-x.ts';
import { kvF32Include, kvFormatKernel } from './kv-kernels.ts';
import type { KvFormat } from './kv-format.ts';

export const attentionKernel: KernelSpec = {
  name: 'attention',
  source,
  uniforms: ['heads:u32', 'kvHeads:u32', 'headDim:u32', 'startPos:u32', 'cacheLen:u32', 'chunk:u32', 'scale:f32'],
  includes: [kvF32Include],
};

export const attentionCombineKernel: KernelSpec = { name: 'attention_combine', source: combineSource, uniforms: ['heads:u32', 'headDim:u32', 'splits:u32'] };

/** GPU variant of decode-sized calls: every head spread over many workgroups at any length (attention_decode.wgsl). */
export const attentionDecodeKernel: KernelSpec = {
  name: 'attention_decode',
  source: decodeSource,
  uniforms: ['heads:u32', 'kvHeads:u32', 'headDim:u32', 'startPos:u32', 'cacheLen:u32', 'chunk:u32', 'scale:f32', 'splits:u32'],
  includes: [kvF32Include, ...xqWriteIncludes(false), coreSource],
};
/** attention_decode with the layer's q/k prep and cache write folded in (attention_decode_prep.wgsl). */
export const attentionDecodePrepKernel: KernelSpec = {
  name: 'attention_decode_prep',
  source: decodePrepSource,
  uniforms: ['heads:u32', 'kvHeads:u32', 'headDim:u32', 'startPos:u32', 'cacheLen:u32', 'chunk:u32', 'scale:f32', 'splits:u32', 'eps:f32'],
  includes: [kvF32Include, ...xqWriteIncludes(false), coreSource],
};
export const attentionMergeKernel: KernelSpec = { name: 'attention_merge', source: mergeSource, uniforms: ['heads:u32', 'headDim:u32', 'splits:u32'], includes: xqWriteIncludes(false) };
/** keys per tile of attention_decode (workgroup of DECODE_WG threads) when split */
const DECODE_KT = 32;
const DECODE_WG = 128;
/** one workgroup per head: larger tiles, so a run takes fewer of them one after the other */
const SINGLE_KT = 64;
const SINGLE_WG = 256;
/**
 * One workgroup per head over a run of at most SHORT_KT keys at head_dim ≤ SHORT_MAX_HEAD_DIM: the whole run in one
 * tile (attentionDecodeTuning.shortRun other than 'off').
 */
const SHORT_KT = 128;
const SHORT_MAX_HEAD_DIM = 128;
/** attention_merge's limit */
const DECODE_MAX_SPLITS = 256;
/** workgroups a decode call aims at (heads × tokens × splits), enough to fill a large GPU twice */
const DECODE_TARGET_WORKGROUPS = 4096;

/** Decode-sized calls (≤ this many queries) split long key runs over several workgroups (flash-decoding). */
const SPLIT_MAX_TOKENS = 4;
/** keys per split at least; at most this many splits */
const KEYS_PER_SPLIT = 512;
const MAX_SPLITS = 64;

/** The decode kernel (GPU variant, a few causal queries) or the general one (prefill, vision, CPU adapters). */
export function usesDecodeKernel(ctx: GpuContext, c: AttentionCall): boolean {
  return !ctx.cpuKernels && !c.bidirectional && c.tokens <= SPLIT_MAX_TOKENS;
}

function lastKeys(c: AttentionCall): number {
  const lastPos = c.startPos + c.tokens - 1;
  return c.chunk > 0 ? (lastPos % c.chunk) + 1 : lastPos + 1;
}

/**
 * Decode kernel tuning. Runs of at most singleSplitKeys keys take one workgroup per (head, query) that writes the
 * result itself: no partials, no merge dispatch (at short contexts the merge's launch and the GPU drain before it cost
 * more than walking a few tiles one after the other). Longer runs are split over many workgroups and merged.
 * prepFused: qkPrepAttention() folds the q/k prep into the decode kernel (false: a qk_prep dispatch first, to compare).
 * integerOut: integerOutput() allows the output in integer form (false: o_proj quantizes it itself, to compare).
 * shortRun: a workgroup's run of ≤ SHORT_KT keys at head_dim ≤ SHORT_MAX_HEAD_DIM in one tile (ShortRun), or 'off':
 * tiles of SINGLE_KT keys one after the other. 'tile' by default: on the H200 (Scout, 48 layers, 40:8 heads of 128,
 * context 100, --kernel-profile, run N) attention_decode_prep took 30.3 µs per call against 31.3 'off', 33.5 'keys',
 * 32.1 'stream' (GPU busy 5.83 against 5.91, 6.12, 5.99 ms per token); the one-tile forms that held keys or values
 * in registers ('keys', 'stream' and, in run M, 38.0 against 30.2 µs, a first one) were removed.
 */
export const attentionDecodeTuning: { singleSplitKeys: number; prepFused: boolean; integerOut: boolean; shortRun: ShortRun; probe: number } = {
  singleSplitKeys: 128,
  prepFused: true,
  integerOut: true,
  shortRun: 'tile',
  /** benchmarks only: attention_decode_core.wgsl's PROBE (0: the real kernel; else wrong results, to time its parts) */
  probe: 0,
};

/** PROBE for the decode kernels: absent unless a benchmark asked (the real kernels keep their pipelines) */
function probeConstants(): Record<string, number> {
  return attentionDecodeTuning.probe ? { PROBE: attentionDecodeTuning.probe } : {};
}

/** A short run in one tile: 'tile' one tile of SHORT_KT keys (half the tiles, barriers and online-softmax steps of 'off'). */
export type ShortRun = 'off' | 'tile';
export const SHORT_RUNS: readonly ShortRun[] = ['off', 'tile'];

/** f() with attentionDecodeTuning.shortRun = mode, restored after it (tests: the dispatches f records take that form) */
export function withShortRun<T>(mode: ShortRun, f: () => T): T {
  const before = attentionDecodeTuning.shortRun;
  attentionDecodeTuning.shortRun = mode;
  try {
    return f();
  } finally {
    attentionDecodeTuning.shortRun = before;
  }
}

/**
 * Whether the call can also write its output in integer form (kernels/linear/quantize-x.ts's layout, the words
 * quantizeX() would give): the decode kernel (or its merge) writes each head's output, so a block of 32 must lie
 * inside one head.
 */
export function integerOutput(ctx: GpuContext, c: AttentionCall): boolean {
  return attentionDecodeTuning.integerOut && usesDecodeKernel(ctx, c) && c.headDim % 32 === 0;
}

/** The decode kernel's launch: splits, threads per workgroup, keys per tile, and the short-run form ('off': none). */
export function decodeShape(c: AttentionCall): { splits: number; wg: number; kt: number; short: ShortRun } {
  const mode = lastKeys(c) <= SHORT_KT && c.headDim <= SHORT_MAX_HEAD_DIM ? attentionDecodeTuning.shortRun : 'off';
  const single = { splits: 1, wg: SINGLE_WG, kt: mode === 'off' ? SINGLE_KT : SHORT_KT, short: mode };
  if (c.splits === undefined && lastKeys(c) <= attentionDecodeTuning.singleSplitKeys) return single;
  const splits = c.splits ?? attentionSplits(c, true);
  if (splits < 1 || splits > DECODE_MAX_SPLITS) throw new Error(`attention: ${splits} splits (1..${DECODE_MAX_SPLITS})`);
  return splits === 1 ? single : { splits, wg: DECODE_WG, kt: DECODE_KT, short: 'off' };
}

/**
 * How many runs to split each query's keys into. Decode kernel (beyond attentionDecodeTuning.singleSplitKeys): one
 * tile of keys per workgroup up to DECODE_TARGET_WORKGROUPS workgroups in all, then several tiles each. General
 * kernel: 1 (one workgroup per query and head) until the keys are many.
 */
export function attentionSplits(c: AttentionCall, decodeKernel = false): number {
  if (decodeKernel) {
    const tiles = Math.ceil(lastKeys(c) / DECODE_KT);
    return Math.max(1, Math.min(tiles, DECODE_MAX_SPLITS, Math.floor(DECODE_TARGET_WORKGROUPS / (c.heads * c.tokens))));
  }
  if (c.tokens > SPLIT_MAX_TOKENS || c.bidirectional) return 1;
  return Math.max(1, Math.min(MAX_SPLITS, Math.floor(lastKeys(c) / KEYS_PER_SPLIT)));
}

const partialsScratch = growingScratch('attention partials');
/**
 * The partials buffer, sized for the largest split call of this shape at once: layers of one step need different
 * split counts, and a buffer replaced mid-step would be destroyed under work recorded but not yet submitted.
 */
function partials(ctx: GpuContext, heads: number, headDim: number): GPUBuffer {
  return partialsScratch(ctx, SPLIT_MAX_TOKENS * heads * Math.max(MAX_SPLITS, DECODE_MAX_SPLITS) * (headDim + 2) * 4);
}

export interface AttentionCall {
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** absolute position of the first query */
  startPos: number;
  /** slots in the cache ring */
  cacheLen: number;
  /** attention chunk size, or 0 for full causal attention */
  chunk: number;
  /** every query sees every key in the cache (vision encoder); cacheLen is then the key count */
  bidirectional?: boolean;
  /** runs to split each query's keys into (default: attentionSplits; tests force others) */
  splits?: number;
  /** the caches' element form (kv-format.ts; default f32) */
  kvFormat?: KvFormat;
}

/** out ← attention; with outXq (integerOutput() only) out also in integer form there. */
export function attention(ctx: GpuContext, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, out: GPUBuffer, c: AttentionCall, outXq: GPUBuffer | null = null): void {
  if (c.headDim > 256 || c.headDim % 4 !== 0) throw new Error(`attention: head_dim ${c.headDim} is not supported (a multiple of 4, at most 256)`);
  if (c.heads % c.kvHeads !== 0) throw new Error(`attention: ${c.heads} heads are not a multiple of ${c.kvHeads} KV heads`);
  checkIntegerOutput(ctx, c, outXq);
  if (usesDecodeKernel(ctx, c)) return attentionDecode(ctx, q, k, v, out, c, outXq);
  const splits = c.splits ?? attentionSplits(c);
  if (splits > MAX_SPLITS || (splits > 1 && c.tokens > SPLIT_MAX_TOKENS)) throw new Error(`attention: at most ${MAX_SPLITS} splits of ≤ ${SPLIT_MAX_TOKENS} queries`);
  const part = splits > 1 ? partials(ctx, c.heads, c.headDim) : ctx.emptyBuffer(1);
  ctx.dispatch({
    kernel: kvFormatKernel(attentionKernel, c.kvFormat),
    params: { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, startPos: c.startPos, cacheLen: c.cacheLen, chunk: Math.max(1, c.chunk), scale: 1 / Math.sqrt(c.headDim) },
    bindings: [q, k, v, out, part],
    workgroups: [c.heads, c.tokens, splits],
    constants: { CHUNKED: c.chunk > 0 ? 1 : 0, BIDIRECTIONAL: c.bidirectional ? 1 : 0, TILE: ctx.cpuKernels && c.headDim <= 128 ? 8 : 64, SPLIT: splits },
  });
  if (splits > 1) {
    ctx.dispatch({ kernel: attentionCombineKernel, params: { heads: c.heads, headDim: c.headDim, splits }, bindings: [part, out], workgroups: [c.heads, c.tokens] });
  }
}

function decodeParams(c: AttentionCall, splits: number) {
  return { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, startPos: c.startPos, cacheLen: c.cacheLen, chunk: Math.max(1, c.chunk), scale: 1 / Math.sqrt(c.headDim), splits };
}

function checkIntegerOutput(ctx: GpuContext, c: AttentionCall, outXq: GPUBuffer | null): void {
  if (outXq && !integerOutput(ctx, c)) throw new Error('attention: the output in integer form needs the decode kernel and a head_dim that is a multiple of 32');
}

/** XQ_OUT for the kernel that writes the final output (the decode kernel at one split, else the merge) */
function xqConstants(outXq: GPUBuffer | null, writes: boolean): Record<string, number> {
  return outXq && writes ? { XQ_OUT: 1 } : {};
}

function mergeSplits(ctx: GpuContext, part: GPUBuffer, out: GPUBuffer, c: AttentionCall, splits: number, outXq: GPUBuffer | null): void {
  ctx.dispatch({
    kernel: attentionMergeKernel,
    params: { heads: c.heads, headDim: c.headDim, splits },
    bindings: [part, out, outXq ?? ctx.emptyBuffer(2)],
    workgroups: [c.heads, c.tokens],
    constants: { WG: 128, ...xqConstants(outXq, true) },
  });
}

function attentionDecode(ctx: GpuContext, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, out: GPUBuffer, c: AttentionCall, outXq: GPUBuffer | null): void {
  const { splits, wg, kt } = decodeShape(c);
  const part = splits > 1 ? partials(ctx, c.heads, c.headDim) : ctx.emptyBuffer(1);
  ctx.dispatch({
    kernel: kvFormatKernel(attentionDecodeKernel, c.kvFormat),
    params: decodeParams(c, splits),
    bindings: [q, k, v, out, part, outXq ?? ctx.emptyBuffer(2)],
    workgroups: [c.heads, c.tokens, splits],
    constants: { CHUNKED: c.chunk > 0 ? 1 : 0, WG: wg, KT: kt, ...xqConstants(outXq, splits === 1), ...probeConstants() },
  });
  if (splits > 1) mergeSplits(ctx, part, out, c, splits, outXq);
}

/** A layer's attention with its q/k prep: the fields of both calls (kernels/qk-prep's tokens … cacheLen are shared). */
export type PrepAttentionCall = AttentionCall & Pick<QkPrepCall, 'eps' | 'rope' | 'qkNorm' | 'temperature'>;

/**
 * out ← attention of the prepared q heads of qkv over the cache, after the new k/v heads of qkv went into the cache
 * (what qkPrep() then attention() do). At decode on GPUs one dispatch (attention_decode_prep.wgsl; q is not written),
 * plus attention_merge when the keys are split; else qkPrep() into q, then attention(). The call must stay inside one
 * attention chunk (as the model's pieces do). outXq: as attention()'s.
 */
export function qkPrepAttention(
  ctx: GpuContext,
  qkv: GPUBuffer,
  q: GPUBuffer,
  ropeTable: GPUBuffer,
  temperatures: GPUBuffer,
  kCache: GPUBuffer,
  vCache: GPUBuffer,
  out: GPUBuffer,
  c: PrepAttentionCall,
  outXq: GPUBuffer | null = null,
): void {
  // the prep is folded in only where one workgroup per head covers the keys: split over many workgroups (long
  // contexts), every one of them redoing the prep cost the H200 ~5 ms per token at 32K (55.6 against 76.1 tok/s)
  if (!usesDecodeKernel(ctx, c) || !attentionDecodeTuning.prepFused || decodeShape(c).splits > 1) {
    qkPrep(ctx, qkv, q, ropeTable, temperatures, kCache, vCache, c);
    attention(ctx, q, kCache, vCache, out, c, outXq);
    return;
  }
  checkIntegerOutput(ctx, c, outXq);
  if (c.headDim > 256 || c.headDim % 4 !== 0) throw new Error(`attention: head_dim ${c.headDim} is not supported (a multiple of 4, at most 256)`);
  if (c.heads % c.kvHeads !== 0) throw new Error(`attention: ${c.heads} heads are not a multiple of ${c.kvHeads} KV heads`);
  const lastPos = c.startPos + c.tokens - 1;
  if (c.chunk > 0 && Math.floor(c.startPos / c.chunk) !== Math.floor(lastPos / c.chunk)) throw new Error(`attention: positions ${c.startPos}..${lastPos} cross an attention chunk of ${c.chunk}`);
  if (c.tokens > c.cacheLen) throw new Error(`attention: ${c.tokens} tokens do not fit a cache of ${c.cacheLen}`);
  const { splits, wg, kt } = decodeShape(c);
  const part = splits > 1 ? partials(ctx, c.heads, c.headDim) : ctx.emptyBuffer(1);
  ctx.dispatch({
    kernel: kvFormatKernel(attentionDecodePrepKernel, c.kvFormat),
    params: { ...decodeParams(c, splits), eps: c.eps },
    bindings: [qkv, ropeTable, temperatures, kCache, vCache, out, part, outXq ?? ctx.emptyBuffer(2)],
    workgroups: [c.heads, c.tokens, splits],
    constants: { CHUNKED: c.chunk > 0 ? 1 : 0, WG: wg, KT: kt, ROPE: c.rope ? 1 : 0, QK_NORM: c.qkNorm ? 1 : 0, TEMPERATURE: c.temperature ? 1 : 0, NT: c.tokens, ...xqConstants(outXq, splits === 1), ...probeConstants() },
  });
  if (splits > 1) mergeSplits(ctx, part, out, c, splits, outXq);
}
