// The decode step's structure floor (`npm run bench -- model --structure-floor`): the GPU time of a step made of the
// same dependent dispatches as the engine's decode, each reading its stage's weight bytes at the streaming-read
// kernel's speed and doing nothing else. Every weight stage (fused Q/K/V, o_proj, the router, the experts' gate+up and
// down, lm_head) becomes kernels/roofline reading that many bytes from a window of a 1 GiB buffer (windows advance, so
// reads come from memory, not L2); every other dispatch of the step (attention, add-norms, sampling, ...) a 4 KiB read
// by one workgroup. What a step of this shape cannot beat on this device: the ratio of its time to the roofline is the
// most an engine of one dispatch per dependent stage can reach, whatever its kernels do. The same bytes in one
// dispatch per layer (`merged`) is what fusing a layer's stages (a grid-wide barrier WGSL lacks) would allow. With
// `--grid-floor N,…` the step's reads also run as one dispatch of N workgroups with a spinning grid-wide barrier
// between stages (kernels/roofline/grid-read.wgsl): what a persistent kernel would save over the dispatch boundaries,
// a figure for deciding whether one is worth the risk (WebGPU guarantees neither the ordering nor the co-residency).
import type { GpuContext } from '../kernels/runtime.ts';
import { hashFill } from '../kernels/hash-fill/hash-fill.ts';
import { gridStagedRead, rooflineRead, ROOFLINE_WORKGROUPS } from '../kernels/roofline/roofline.ts';
import { linearBytes } from '../kernels/linear/linear.ts';
import type { ModelConfig } from '../worker/model/config.ts';
import type { TextWeights } from '../worker/model/weights.ts';

const TINY_BYTES = 4096;

/**
 * The weight bytes one decoded token reads in each weight-reading dispatch, per layer in the order the decode runs
 * them (the selected routed experts only), and lm_head's.
 */
export function tokenStageBytes(w: TextWeights, config: ModelConfig): { layers: number[][]; head: number } {
  const c = config.text;
  const layers = w.layers.map((l) => {
    const stages = [linearBytes(l.attention.qkv), linearBytes(l.attention.o)];
    if (l.ffn.kind === 'moe') {
      const m = l.ffn.moe;
      const slots = m.experts.gateUp.rows / m.experts.gateUp.rowsPerExpert!;
      // the router's logits (computed inside the post-attention add-norm), then the routed and shared expert together
      stages.push(linearBytes(m.router));
      stages.push(linearBytes(m.shared.gateUp) + (c.topK * linearBytes(m.experts.gateUp)) / slots);
      stages.push(linearBytes(m.shared.down) + (c.topK * linearBytes(m.experts.down)) / slots);
    } else {
      stages.push(linearBytes(l.ffn.mlp.gateUp), linearBytes(l.ffn.mlp.down));
    }
    return stages;
  });
  return { layers, head: linearBytes(w.lmHead) };
}

/** tokenStageBytes with each stage rounded up to 256 bytes (the streaming-read kernel's windows). */
export function decodeStageBytes(w: TextWeights, config: ModelConfig): { layers: number[][]; head: number } {
  const round = (b: number) => Math.ceil(b / 256) * 256;
  const s = tokenStageBytes(w, config);
  return { layers: s.layers.map((l) => l.map(round)), head: round(s.head) };
}

/** One read of a floor step: `bytes` at `offset` of the source buffer, or a 4 KiB read by one workgroup (tiny). */
export interface FloorRead {
  offset: number;
  bytes: number;
  tiny: boolean;
}

/** `bytes` as reads of the windows of a buffer of `size` bytes from `at` on (wrapping to 0 where a piece would pass the end). */
export function windows(bytes: number, size: number, at: number): FloorRead[] {
  const reads: FloorRead[] = [];
  while (bytes > 0) {
    const piece = Math.min(bytes, size);
    if (at + piece > size) at = 0;
    reads.push({ offset: at, bytes: piece, tiny: false });
    at += piece;
    bytes -= piece;
  }
  return reads;
}

/**
 * The reads of one floor step from window `at` on, in the decode's order: per layer, a tiny read before each weight
 * stage (attention after Q/K/V, add-norm after o_proj, ...), the layer's other tiny reads after its last stage; the
 * tail's tiny reads, then lm_head. Returns them and the window the next step starts at.
 */
export function stepPlan(stages: { layers: number[][]; head: number }, perLayerTiny: number, tailTiny: number, size: number, at: number): { reads: FloorRead[]; at: number } {
  const reads: FloorRead[] = [];
  const tiny = (n: number) => {
    for (let i = 0; i < n; i++) reads.push({ offset: 0, bytes: TINY_BYTES, tiny: true });
  };
  const read = (bytes: number) => {
    const w = windows(bytes, size, at);
    reads.push(...w);
    if (w.length) at = w[w.length - 1].offset + w[w.length - 1].bytes;
  };
  for (const layer of stages.layers) {
    layer.forEach((b, i) => {
      if (i < perLayerTiny) tiny(1);
      read(b);
    });
    tiny(Math.max(0, perLayerTiny - layer.length));
  }
  tiny(tailTiny);
  read(stages.head);
  return { reads, at };
}

export interface StructureFloor {
  /** GPU ms of a step with the decode's dispatch count: each weight stage a streaming read of its bytes, the rest 4 KiB reads */
  msPerToken: number;
  dispatches: number;
  /** the same bytes with one dispatch per layer (and lm_head), no others */
  mergedMsPerToken: number;
  mergedDispatches: number;
  /** bytes the floor's weight stages read per token */
  bytes: number;
  /**
   * The same reads in ONE dispatch per step, a grid-wide barrier (atomics, spinning) between them, for each workgroup
   * count asked for: what a persistent kernel would save over the dispatch boundaries if WebGPU let one rely on it
   * (it does not: kernels/roofline/grid-read.wgsl). timedOut: some barrier gave up waiting (not all resident).
   */
  grid: { workgroups: number; stages: number; msPerToken: number; timedOut: boolean }[];
}

/**
 * Times the structure floor of a decode step of `stages` with `dispatches` dispatches in all (the decode's measured
 * count; dispatches beyond the weight stages are 4 KiB reads, spread over the layers as the decode's are), and the
 * merged form. GPU timestamps, `steps` steps after as many of warm-up.
 */
export async function measureStructureFloor(ctx: GpuContext, stages: { layers: number[][]; head: number }, dispatches: number, quick: boolean, gridWorkgroups: number[] = []): Promise<StructureFloor> {
  const weightStages = stages.layers.reduce((s, l) => s + l.length, 0) + 1;
  const tinyCount = Math.max(0, Math.round(dispatches) - weightStages);
  const perLayerTiny = Math.floor(tinyCount / stages.layers.length);
  const tailTiny = tinyCount - perLayerTiny * stages.layers.length;
  const largest = Math.max(stages.head, ...stages.layers.flat(), ...stages.layers.map((l) => l.reduce((s, b) => s + b, 0)));
  const size = Math.floor(Math.min(ctx.maxBindingBytes, Math.max(quick ? 4 * 2 ** 20 : 2 ** 30, largest)) / 256) * 256;
  const src = ctx.createBuffer(size, 'structure floor src');
  const tiny = ctx.createBuffer(TINY_BYTES, 'structure floor tiny');
  const out = ctx.createBuffer(16, 'structure floor out');
  hashFill(ctx, src, size, 0, 77);
  hashFill(ctx, tiny, TINY_BYTES, 0, 78);
  const groups = quick ? 16 : ROOFLINE_WORKGROUPS;
  let at = 0;
  let issued = 0;
  const step = () => {
    const plan = stepPlan(stages, perLayerTiny, tailTiny, size, at);
    for (const p of plan.reads) {
      if (p.tiny) rooflineRead(ctx, tiny, out, TINY_BYTES, 0, 1);
      else rooflineRead(ctx, src, out, p.bytes, p.offset, groups);
    }
    issued += plan.reads.length;
    at = plan.at;
  };
  // a read of `bytes` from the next window of the buffer (pieces where a stage is larger than one binding)
  const read = (bytes: number) => {
    for (const p of windows(bytes, size, at)) {
      rooflineRead(ctx, src, out, p.bytes, p.offset, groups);
      at = p.offset + p.bytes;
      issued++;
    }
  };
  const merged = () => {
    for (const layer of stages.layers) read(layer.reduce((s, b) => s + b, 0));
    read(stages.head);
  };
  const steps = quick ? 2 : 10;
  const time = async (record: () => void) => {
    ctx.startProfile();
    for (let i = 0; i < steps; i++) record(); // warm-up (clocks up)
    ctx.markProfile();
    issued = 0;
    for (let i = 0; i < steps; i++) {
      record();
      ctx.markProfile();
    }
    const count = issued / steps;
    const ms = (await ctx.endProfile()).steps.slice(1).sort((a, b) => a - b)[Math.floor(steps / 2)] / 1e6;
    return { ms, count };
  };
  const full = await time(step);
  const fused = await time(merged);
  const grid: StructureFloor['grid'] = [];
  if (gridWorkgroups.length) {
    // the step's reads as a table of (first vec4, count); its tiny reads come from the source's first 4 KiB
    const plan = stepPlan(stages, perLayerTiny, tailTiny, size, 0).reads;
    const table = ctx.upload(Uint32Array.from(plan.flatMap((p) => [p.offset / 16, p.bytes / 16])), 'grid floor stages');
    for (const workgroups of gridWorkgroups) {
      const counters = ctx.upload(new Uint32Array(3), 'grid floor counters');
      let base = 0;
      const one = () => {
        gridStagedRead(ctx, src, table, plan.length, counters, workgroups, base);
        base += plan.length * workgroups;
        issued++;
      };
      const t = await time(one);
      const [, , timedOut] = await ctx.readU32(counters, 0, 3);
      grid.push({ workgroups, stages: plan.length, msPerToken: t.ms, timedOut: timedOut !== 0 });
      counters.destroy();
    }
    table.destroy();
  }
  src.destroy();
  tiny.destroy();
  out.destroy();
  const bytes = stages.layers.flat().reduce((s, b) => s + b, 0) + stages.head;
  return { msPerToken: full.ms, dispatches: full.count, mergedMsPerToken: fused.ms, mergedDispatches: fused.count, bytes, grid };
}
