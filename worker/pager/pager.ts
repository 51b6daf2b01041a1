// Expert paging: a fixed pool of GPU slots per MoE layer, a residency table (layer, expert) → slot, LRU eviction,
// misses filled from a source (the RAM tier, or IndexedDB through a RAM tier), and prediction of the next MoE
// layer's experts so their reads can start early. Results are bit-identical to the resident mode: the same
// kernels run on the same weights, only the slot index changes.
import type { GpuContext } from '../../kernels/runtime.ts';
import { quantizeQ4 } from '../../kernels/linear/q4-format.ts';
import type { MatrixPart } from '../model/engine-tensors.ts';
import type { ExpertSink, MlpWeights } from '../model/weights.ts';
import { SlotUploader } from './uploader.ts';

/**
 * How a MoE layer finds its routed experts on the GPU (design decision 4): every expert resident, the router's ids
 * going straight to the expert kernels with no CPU round trip, or paged through a fixed pool of slots.
 */
export interface ExpertResidency {
  /**
   * Runs `compute(slots)` for layer l's `items` routed items once per group of experts that fit the slots at once;
   * `slots` holds each item's slot index (0xffffffff: not in this group, the kernels skip it). `ids` holds the
   * router's expert ids; `slotBuffer` is where paged slot indices are written.
   */
  run(l: number, ids: GPUBuffer, items: number, slotBuffer: GPUBuffer, compute: (slots: GPUBuffer) => void): Promise<void>;
  /** After layer l's MoE block; `predict` computes the next MoE layer's likely experts (called only when wanted). */
  afterMoe(l: number, predict: () => Promise<{ layer: number; experts: number[] } | null>): Promise<void>;
}

/** Every expert in its own slot (slot = expert id): the ids are the slots, nothing is read back. */
export const residentSlots: ExpertResidency = {
  async run(_l, ids, _items, _slotBuffer, compute) {
    compute(ids);
  },
  async afterMoe() {},
};

/** Where a missing expert comes from. */
export interface ExpertSource {
  read(layer: number, expert: number): Promise<MatrixPart[]>;
  /** bytes of one expert as stored */
  bytesOf(parts: MatrixPart[]): number;
}

/** Every expert kept in memory (the source when a model is loaded straight from a checkpoint). */
export class RamExperts implements ExpertSource {
  private experts = new Map<string, MatrixPart[]>();

  put(layer: number, expert: number, parts: MatrixPart[]): void {
    // keep q4 parts quantized: a quarter of the memory, and no quantization on every page-in
    const stored = parts.map((p) => (p.format === 'q4' && p.data instanceof Float32Array ? { ...p, data: quantizeQ4(p.data, p.rows, p.cols) } : p));
    this.experts.set(`${layer}/${expert}`, stored);
  }

  async read(layer: number, expert: number): Promise<MatrixPart[]> {
    const p = this.experts.get(`${layer}/${expert}`);
    if (!p) throw new Error(`expert ${expert} of layer ${layer} is not loaded`);
    return p;
  }

  bytesOf(parts: MatrixPart[]): number {
    return parts.reduce((s, p) => s + (p.data instanceof Float32Array ? p.data.byteLength : p.data.qs.byteLength + p.data.scales.byteLength), 0);
  }
}

export interface PagerStats {
  hits: number;
  misses: number;
  /** fraction of the experts a layer selected that the previous layer's prediction named */
  prefetchAccuracy: number | null;
  predictions: number;
  predictedRight: number;
  /** bytes copied into GPU slots on misses */
  bytesRead: number;
  /** time spent waiting for expert reads from the source (ms) */
  stallMs: number;
  /** time spent waiting for the selected ids to come back from the GPU (ms): the pass up to the router runs in it */
  readbackMs: number;
  /** time spent handing expert bytes to the GPU queue (ms) */
  writeMs: number;
}

interface LayerResidency {
  expertInSlot: (number | null)[];
  lastUse: number[];
}

/** How many of the latest steps (decoded tokens; a prompt is one step) the traffic history keeps. */
export const TRAFFIC_HISTORY = 16;

export class ExpertPager implements ExpertSink, ExpertResidency {
  private residency = new Map<number, LayerResidency>();
  private pools = new Map<number, MlpWeights>();
  private predicted = new Map<number, Set<number>>();
  private clock = 0;
  private lastUsed = new Map<number, number[]>();
  /** per layer, the experts each of the latest TRAFFIC_HISTORY steps used, oldest first */
  private history = new Map<number, number[][]>();
  readonly stats: PagerStats = { hits: 0, misses: 0, prefetchAccuracy: null, predictions: 0, predictedRight: 0, bytesRead: 0, stallMs: 0, readbackMs: 0, writeMs: 0 };

  /** slot uploads: staging ring + copies recorded in order with the kernels */
  readonly uploader: SlotUploader;

  constructor(
    private ctx: GpuContext,
    readonly slotsPerLayer: number,
    readonly source: ExpertSource,
  ) {
    this.uploader = new SlotUploader(ctx);
  }

  /** Frees the staging buffers (the slot pools belong to the model's weights). */
  destroy(): void {
    this.uploader.destroy();
  }

  async run(l: number, ids: GPUBuffer, items: number, slotBuffer: GPUBuffer, compute: (slots: GPUBuffer) => void): Promise<void> {
    const t0 = performance.now();
    const chosen = await this.ctx.readU32(ids, 0, items); // submits everything recorded so far
    this.stats.readbackMs += performance.now() - t0;
    const distinct = [...new Set(chosen)];
    for (let g = 0; g < distinct.length; g += this.slotsPerLayer) {
      const slotOf = await this.ensure(l, distinct.slice(g, g + this.slotsPerLayer));
      this.ctx.write(slotBuffer, Uint32Array.from(chosen, (e) => slotOf.get(e) ?? 0xffffffff));
      compute(slotBuffer);
      this.ctx.flush(); // the next group's slot writes must come after this group's kernels
    }
  }

  async afterMoe(_l: number, predict: () => Promise<{ layer: number; experts: number[] } | null>): Promise<void> {
    const p = await predict();
    if (p) this.predict(p.layer, p.experts);
  }

  /** The GPU slot pools of MoE layer l (when they are made elsewhere than by accept(), e.g. synthetic weights). */
  setPools(layer: number, pools: MlpWeights): void {
    this.pools.set(layer, pools);
  }

  /** Experts streaming in at load time go to the source (RAM tier); no slot is filled until a layer asks. */
  accept(layer: number, expert: number, parts: MatrixPart[], pools: MlpWeights): number | null {
    if (this.source instanceof RamExperts) this.source.put(layer, expert, parts);
    this.pools.set(layer, pools);
    return null;
  }

  private layer(l: number): LayerResidency {
    let r = this.residency.get(l);
    if (!r) {
      r = { expertInSlot: Array(this.slotsPerLayer).fill(null), lastUse: Array(this.slotsPerLayer).fill(-1) };
      this.residency.set(l, r);
    }
    return r;
  }

  /**
   * Makes `experts` (at most slotsPerLayer distinct ids) resident in layer l's slots, loading misses over the
   * least recently used slots, and returns each expert's slot. The uploads are recorded into the pending command
   * encoder: they run after the kernels recorded before (which may still read the slots they replace).
   */
  async ensure(l: number, experts: number[]): Promise<Map<number, number>> {
    const r = this.layer(l);
    const pools = this.pools.get(l);
    if (!pools) throw new Error(`layer ${l} has no expert pools`);
    const wanted = [...new Set(experts)];
    if (wanted.length > this.slotsPerLayer) throw new Error(`${wanted.length} experts do not fit ${this.slotsPerLayer} slots`);
    this.scorePrediction(l, wanted);
    this.lastUsed.set(l, wanted);
    const past = this.history.get(l) ?? [];
    past.push(wanted);
    if (past.length > TRAFFIC_HISTORY) past.shift();
    this.history.set(l, past);
    const slotOf = new Map<number, number>();
    const tick = ++this.clock;
    for (const e of wanted) {
      const s = r.expertInSlot.indexOf(e);
      if (s >= 0) {
        slotOf.set(e, s);
        r.lastUse[s] = tick;
        this.stats.hits++;
      }
    }
    for (const e of wanted) {
      if (slotOf.has(e)) continue;
      let victim = -1;
      for (let s = 0; s < this.slotsPerLayer; s++) {
        if (r.lastUse[s] === tick) continue; // holds an expert this batch needs
        if (victim < 0 || r.lastUse[s] < r.lastUse[victim]) victim = s;
      }
      const t0 = performance.now();
      const parts = await this.source.read(l, e);
      const t1 = performance.now();
      this.stats.stallMs += t1 - t0;
      await this.uploader.upload(pools, victim, parts);
      this.stats.writeMs += performance.now() - t1;
      this.stats.bytesRead += this.source.bytesOf(parts);
      this.stats.misses++;
      r.expertInSlot[victim] = e;
      r.lastUse[victim] = tick;
      slotOf.set(e, victim);
    }
    return slotOf;
  }

  /** Per MoE layer: the experts the last batch used, those the latest steps used, and the experts now resident
   * (for the traffic plot). */
  traffic(): { layer: number; used: number[]; recent: number[][]; resident: number[] }[] {
    return [...this.residency.entries()].map(([layer, r]) => ({
      layer,
      used: [...(this.lastUsed.get(layer) ?? [])],
      recent: (this.history.get(layer) ?? []).map((step) => [...step]),
      resident: r.expertInSlot.filter((e): e is number => e !== null),
    }));
  }

  /** Records the experts predicted for layer l (from the previous layer's residual) and starts reading them. */
  predict(l: number, experts: number[]): void {
    this.predicted.set(l, new Set(experts));
    for (const e of experts) void this.source.read(l, e).catch(() => {});
  }

  private scorePrediction(l: number, actual: number[]): void {
    const p = this.predicted.get(l);
    if (!p) return;
    this.predicted.delete(l);
    this.stats.predictions += actual.length;
    this.stats.predictedRight += actual.filter((e) => p.has(e)).length;
    this.stats.prefetchAccuracy = this.stats.predictedRight / this.stats.predictions;
  }
}

/**
 * A bounded RAM tier over a slower source (IndexedDB): recently read experts stay in memory up to `maxBytes`,
 * least recently used first out; concurrent reads of one expert share one request.
 */
export class CachedExperts implements ExpertSource {
  private cache = new Map<string, MatrixPart[]>();
  private pending = new Map<string, Promise<MatrixPart[]>>();
  private bytes = 0;
  reads = 0;

  constructor(
    private source: ExpertSource,
    private maxBytes: number,
  ) {}

  async read(layer: number, expert: number): Promise<MatrixPart[]> {
    const key = `${layer}/${expert}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // re-insert: Map order is the LRU order
      this.cache.set(key, hit);
      return hit;
    }
    let p = this.pending.get(key);
    if (!p) {
      this.reads++;
      p = this.source.read(layer, expert).then((parts) => {
        this.pending.delete(key);
        this.insert(key, parts);
        return parts;
      }, (e) => {
        this.pending.delete(key);
        throw e;
      });
      this.pending.set(key, p);
    }
    return p;
  }

  private insert(key: string, parts: MatrixPart[]): void {
    const size = this.bytesOf(parts);
    if (size > this.maxBytes) return;
    this.cache.set(key, parts);
    this.bytes += size;
    for (const [k, v] of this.cache) {
      if (this.bytes <= this.maxBytes) break;
      this.cache.delete(k);
      this.bytes -= this.bytesOf(v);
    }
  }

  bytesOf(parts: MatrixPart[]): number {
    return this.source.bytesOf(parts);
  }
}
