// Expert paging: a fixed pool of GPU slots per MoE layer, a residency table (layer, expert) → slot, LRU eviction,
// misses filled from a source (the RAM tier, or IndexedDB through a RAM tier), and prediction of the next MoE
// layer's experts so their reads can start early. Results are bit-identical to the resident mode: the same
// kernels run on the same weights, only the slot index changes.
import type { GpuContext } from '../../kernels/runtime.ts';
import { quantizeQ4 } from '../../kernels/linear/q4-format.ts';
import type { MatrixPart } from '../model/engine-tensors.ts';
import type { ExpertSink, MlpWeights } from '../model/weights.ts';
import { SlotUploader } from './uploader.ts';
import { PinnedTier } from './pinned-tier.ts';
import { slotLookup } from '../../kernels/slot-lookup/slot-lookup.ts';

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
  /** fraction of the experts a layer selected that were predicted: by the previous layer's router (synchronous
   * pieces), or by the failed pass of a speculative step (the guesses a re-run uploads) */
  prefetchAccuracy: number | null;
  predictions: number;
  predictedRight: number;
  /** bytes copied into GPU slots on misses */
  bytesRead: number;
  /** time spent waiting for expert reads from the source (ms) */
  stallMs: number;
  /** time spent waiting for the selected ids to come back from the GPU (ms): the pass up to the router runs in it
   * (a speculative step: the whole pass) */
  readbackMs: number;
  /** time spent handing expert bytes to the GPU queue (ms) */
  writeMs: number;
  /** read-backs of selected expert ids (CPU round trips): one per MoE layer (and one per prediction) in a
   * synchronous piece, one per pass of a speculative step */
  readbacks: number;
  /** steps run speculatively, re-runs of such steps after a miss, and the layers those re-runs went through */
  speculativeSteps: number;
  reruns: number;
  rerunLayers: number;
  /** uploads of a re-run's guesses that the accepted pass did not use, and their bytes (part of misses, bytesRead) */
  wastedUploads: number;
  wastedBytes: number;
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
  readonly stats: PagerStats = { hits: 0, misses: 0, prefetchAccuracy: null, predictions: 0, predictedRight: 0, bytesRead: 0, stallMs: 0, readbackMs: 0, writeMs: 0, readbacks: 0, speculativeSteps: 0, reruns: 0, rerunLayers: 0, wastedUploads: 0, wastedBytes: 0 };
  /**
   * Run steps whose routed items fit one layer's slots (decode) speculatively: see beginStep(). false: every MoE
   * layer reads its ids back before its experts run.
   */
  speculative = true;
  /** on a re-run, also upload the experts the missed pass chose for the layers after the first miss (a guess) */
  prefetchGuesses = true;
  private step: {
    items: number;
    layers: number;
    experts: number;
    moeLayers: number[];
    /** the layer the current pass started at */
    from: number;
    /** layers whose hits and misses this step already counted (uploaded on a re-run) */
    counted: Set<number>;
    /** per layer, the experts uploaded in this step and their bytes */
    uploaded: Map<number, Map<number, number>>;
  } | null = null;
  /** [layer][expert] → slot (0xffffffff: not resident), the GPU copy of the residency table */
  private table: GPUBuffer | null = null;
  private tableExperts = 0;
  /** the expert ids every MoE layer chose in a speculative pass, [MoE layer index][item] */
  private idLog: GPUBuffer | null = null;
  private planned = new Map<number, number[]>();
  private guessed = new Map<number, Set<number>>();
  private checkpoints = new Map<number, GPUBuffer>();

  /** slot uploads: staging ring + copies recorded in order with the kernels */
  readonly uploader: SlotUploader;

  constructor(
    private ctx: GpuContext,
    readonly slotsPerLayer: number,
    readonly source: ExpertSource,
  ) {
    this.uploader = new SlotUploader(ctx);
  }

  /** Frees the staging buffers and the pinned tier (the slot pools belong to the model's weights). */
  destroy(): void {
    this.uploader.destroy();
    this.table?.destroy();
    this.idLog?.destroy();
    this.checkpoints.forEach((c) => c.destroy());
    this.table = this.idLog = null;
    this.checkpoints.clear();
  }

  /**
   * Keeps up to `bytes` of experts pinned in host-visible GPU memory (pinned-tier.ts), besides the source: a page-in
   * of a pinned expert is a GPU copy, with no CPU memcpy. 0: none (every page-in through the staging ring).
   */
  pin(bytes: number): PinnedTier | null {
    if (this.uploader.tier) {
      this.ctx.flush(); // copies from the old tier may be recorded: submit them before it goes
      this.uploader.tier.destroy();
    }
    this.uploader.tier = bytes > 0 ? new PinnedTier(this.ctx, bytes) : null;
    return this.uploader.tier;
  }

  async run(l: number, ids: GPUBuffer, items: number, slotBuffer: GPUBuffer, compute: (slots: GPUBuffer) => void): Promise<void> {
    const step = this.step;
    if (step) {
      // speculative: the slots come from the GPU-side table; experts that are not resident are skipped (the pass is
      // then wrong from here on, and endStep() re-runs it); on a re-run, this layer's known needs are uploaded first
      const want = this.planned.get(l);
      if (want) {
        this.planned.delete(l);
        // the layers recorded so far go to the GPU first: it runs them while the CPU copies this layer's experts
        // into staging (their copies into the slots follow them in the queue). With a pinned tier there is no
        // such memcpy, and a submission per layer only costs CPU time.
        if (!this.uploader.tier) this.ctx.flush();
        await this.ensure(l, want);
        step.counted.add(l);
      }
      const j = step.moeLayers.indexOf(l);
      slotLookup(this.ctx, this.table!, ids, slotBuffer, this.idLog!, { items, experts: step.experts, tableBase: l * step.experts, logBase: j * this.slotsPerLayer });
      compute(slotBuffer);
      return;
    }
    const t0 = performance.now();
    const chosen = await this.ctx.readU32(ids, 0, items); // submits everything recorded so far
    this.stats.readbackMs += performance.now() - t0;
    this.stats.readbacks++;
    const distinct = [...new Set(chosen)];
    for (let g = 0; g < distinct.length; g += this.slotsPerLayer) {
      const slotOf = await this.ensure(l, distinct.slice(g, g + this.slotsPerLayer));
      this.ctx.write(slotBuffer, Uint32Array.from(chosen, (e) => slotOf.get(e) ?? 0xffffffff));
      compute(slotBuffer);
      this.ctx.flush(); // the next group's slot writes must come after this group's kernels
    }
  }

  async afterMoe(_l: number, predict: () => Promise<{ layer: number; experts: number[] } | null>): Promise<void> {
    if (this.step) return; // a speculative step reads nothing back before its end
    const p = await predict();
    if (p) {
      this.stats.readbacks++;
      this.predict(p.layer, p.experts);
    }
  }

  /**
   * Starts a piece of `items` routed items (tokens × k): a speculative step (beginStep; true) when they fit the
   * slots, else the synchronous path (false). A step left open by a piece that threw is dropped.
   */
  beginPiece(items: number, layers: number, experts: number, moeLayers: number[]): boolean {
    this.step = null;
    this.planned.clear();
    if (!this.speculates(items)) return false;
    this.beginStep(items, layers, experts, moeLayers);
    return true;
  }

  /** Whether a step of `items` routed items (tokens × k) runs speculatively. */
  speculates(items: number): boolean {
    return this.speculative && items <= this.slotsPerLayer;
  }

  /**
   * Starts a speculative step of `items` routed items: no read-back per MoE layer. Each layer's routed kernels take
   * their slots from a GPU-side table of the residency (kernels/slot-lookup), which logs the chosen ids; an expert
   * that is not resident is skipped. endStep() reads every layer's ids back at once and says where to re-run from.
   * The model checkpoints each MoE layer's input (checkpoint()) so a re-run starts there; the KV entries of later
   * layers at these positions are simply written again. Results are bit-identical to the resident model: the
   * accepted pass ran every layer with all its experts resident, on the same kernels.
   */
  beginStep(items: number, layers: number, experts: number, moeLayers: number[]): void {
    if (!this.speculates(items)) throw new Error(`${items} routed items do not fit ${this.slotsPerLayer} slots per layer`);
    if (!this.table || this.tableExperts !== experts || this.table.size < layers * experts * 4) {
      this.table?.destroy();
      this.tableExperts = experts;
      this.table = this.ctx.createBuffer(layers * experts * 4, 'expert slot table');
      const all = new Uint32Array(layers * experts).fill(0xffffffff);
      for (const [l, r] of this.residency) r.expertInSlot.forEach((e, slot) => e !== null && (all[l * experts + e] = slot));
      this.ctx.write(this.table, all);
    }
    const logBytes = Math.max(1, moeLayers.length) * this.slotsPerLayer * 4;
    if (!this.idLog || this.idLog.size < logBytes) {
      this.idLog?.destroy();
      this.idLog = this.ctx.createBuffer(logBytes, 'expert id log');
    }
    this.planned.clear();
    this.step = { items, layers, experts, moeLayers, from: 0, counted: new Set(), uploaded: new Map() };
    this.stats.speculativeSteps++;
  }

  /**
   * Ends a pass of a speculative step: one read-back of the ids every MoE layer chose. Every layer up to the first
   * that chose an expert not resident is accepted; from that layer on the pass is re-run (its needs, and with
   * prefetchGuesses the later layers' choices in this pass, are uploaded as the re-run records each layer).
   * Returns the layer to re-run from, or −1 when the step is done.
   */
  async endStep(): Promise<number> {
    const st = this.step;
    if (!st) throw new Error('no speculative step is open');
    const t0 = performance.now();
    const ids = await this.ctx.readU32(this.idLog!, 0, st.moeLayers.length * this.slotsPerLayer);
    this.stats.readbackMs += performance.now() - t0;
    this.stats.readbacks++;
    let first = -1;
    st.moeLayers.forEach((l, j) => {
      if (l < st.from) return; // accepted by an earlier pass
      const want = [...new Set(ids.subarray(j * this.slotsPerLayer, j * this.slotsPerLayer + st.items))];
      const guess = this.guessed.get(l);
      if (guess) {
        this.guessed.delete(l);
        this.stats.predictions += want.length;
        this.stats.predictedRight += want.filter((e) => guess.has(e)).length;
        this.stats.prefetchAccuracy = this.stats.predictedRight / this.stats.predictions;
      }
      if (first < 0) {
        const r = this.layer(l);
        if (want.every((e) => r.expertInSlot.includes(e))) {
          if (!st.counted.has(l)) this.touch(l, want);
          for (const [e, bytes] of st.uploaded.get(l) ?? []) {
            if (want.includes(e)) continue;
            this.stats.wastedUploads++;
            this.stats.wastedBytes += bytes;
          }
          return;
        }
        first = l;
        this.planned.set(l, want);
      } else if (this.prefetchGuesses) {
        this.planned.set(l, want);
        this.guessed.set(l, new Set(want));
      }
    });
    if (first < 0) {
      this.step = null;
      this.planned.clear();
      return -1;
    }
    st.from = first;
    this.stats.reruns++;
    this.stats.rerunLayers += st.layers - first;
    return first;
  }

  /** Saves MoE layer l's input buffers (the first `bytes` of each) for a re-run of a speculative step from that layer. */
  checkpoint(l: number, parts: { buffer: GPUBuffer; bytes: number }[]): void {
    const total = parts.reduce((n, p) => n + p.bytes, 0);
    let c = this.checkpoints.get(l);
    if (!c || c.size < total) {
      c?.destroy();
      c = this.ctx.createBuffer(total, `checkpoint ${l}`);
      this.checkpoints.set(l, c);
    }
    const enc = this.ctx.commandEncoder();
    let at = 0;
    for (const p of parts) {
      enc.copyBufferToBuffer(p.buffer, 0, c, at, p.bytes);
      at += p.bytes;
    }
  }

  /** Puts back what checkpoint(l) saved (the same parts). */
  restore(l: number, parts: { buffer: GPUBuffer; bytes: number }[]): void {
    const c = this.checkpoints.get(l);
    if (!c) throw new Error(`layer ${l} has no checkpoint`);
    const enc = this.ctx.commandEncoder();
    let at = 0;
    for (const p of parts) {
      enc.copyBufferToBuffer(c, at, p.buffer, 0, p.bytes);
      at += p.bytes;
    }
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
    this.record(l, wanted);
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
      const bytes = this.source.bytesOf(parts);
      this.stats.bytesRead += bytes;
      this.stats.misses++;
      if (this.step) {
        const up = this.step.uploaded.get(l) ?? new Map<number, number>();
        up.set(e, bytes);
        this.step.uploaded.set(l, up);
      }
      const old = r.expertInSlot[victim];
      r.expertInSlot[victim] = e;
      r.lastUse[victim] = tick;
      slotOf.set(e, victim);
      if (this.table) {
        // the GPU table follows (a queue write: nothing in flight reads this layer's row, see beginStep)
        if (old !== null) this.ctx.write(this.table, Uint32Array.of(0xffffffff), (l * this.tableExperts + old) * 4);
        this.ctx.write(this.table, Uint32Array.of(victim), (l * this.tableExperts + e) * 4);
      }
    }
    return slotOf;
  }

  /** The traffic history of layer l: `wanted` were its experts in the latest step. */
  private record(l: number, wanted: number[]): void {
    this.lastUsed.set(l, wanted);
    const past = this.history.get(l) ?? [];
    past.push(wanted);
    if (past.length > TRAFFIC_HISTORY) past.shift();
    this.history.set(l, past);
  }

  /** A speculative pass found `wanted` resident in layer l: hits, and they become the most recently used. */
  private touch(l: number, wanted: number[]): void {
    const r = this.layer(l);
    const tick = ++this.clock;
    this.record(l, wanted);
    for (const e of wanted) r.lastUse[r.expertInSlot.indexOf(e)] = tick;
    this.stats.hits += wanted.length;
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
