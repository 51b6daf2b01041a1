// Expert uploads into GPU slots through a ring of persistent staging buffers. queue.writeBuffer copies every write
// into fresh staging memory that the GPU then copies again (Scout on an H200: ~2.2 GB/s into slots, 190 ms per token
// at sticky routing 0.8, docs/PERFORMANCE.md). Here the expert's bytes go straight into a mapped staging buffer that
// is reused, and a copyBufferToBuffer recorded in the pending command encoder moves them into the slot: the copy runs
// in order with the kernels (a slot can be refilled right after the kernels that read it, with no submission in
// between), and the CPU's memcpy of the next expert overlaps the GPU's work on what is already submitted. A staging
// buffer is mapped again once the submission that reads it is queued; taking it waits until the GPU is done with it.
// With a pinned tier (pinned-tier.ts) an expert's bytes are written into host-visible GPU memory once, and every
// page-in after that is the copy alone.
import type { GpuContext } from '../../kernels/runtime.ts';
import { slotPlace, writeSlot } from '../../kernels/linear/pool.ts';
import { quantizeQ4 } from '../../kernels/linear/q4-format.ts';
import type { LinearWeight } from '../../kernels/linear/linear.ts';
import type { MatrixPart } from '../model/engine-tensors.ts';
import type { MlpWeights } from '../model/weights.ts';
import type { PinnedTier } from './pinned-tier.ts';

interface Staging {
  buffer: GPUBuffer;
  /** mapped: ready to fill; queued: copies recorded, not submitted yet; mapping: submitted, map pending */
  state: 'mapped' | 'queued' | 'mapping';
  ready: Promise<void> | null;
}

interface Piece {
  src: Uint8Array;
  dst: GPUBuffer;
  offset: number;
}

/** copyBufferToBuffer needs 4-byte sizes and offsets */
const copyable = (pieces: Piece[]) => pieces.every((p) => p.src.byteLength % 4 === 0 && p.offset % 4 === 0);

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);

export class SlotUploader {
  private ring: (Staging | null)[];
  private next = 0;
  /** bytes recorded for upload, and of those, bytes that went through queue writes (unaligned pieces) */
  bytes = 0;
  fallbackBytes = 0;
  /** time spent waiting for a staging buffer the GPU was still copying from (ms) */
  waitMs = 0;
  /** where experts are pinned for copies without a CPU memcpy (null: every upload goes through the staging ring) */
  tier: PinnedTier | null = null;
  /** bytes copied straight from the pinned tier */
  pinnedBytes = 0;

  constructor(
    private ctx: GpuContext,
    /** staging buffers in the ring: how many experts the CPU may fill ahead of the GPU's copies */
    count = 4,
  ) {
    this.ring = Array(Math.max(1, count)).fill(null);
  }

  /**
   * Records the upload of one expert (parts: gate+up, down) into slot `slot` of `pools`, into the context's pending
   * command encoder: it takes effect in order with the kernels recorded before and after it.
   */
  async upload(pools: MlpWeights, slot: number, parts: MatrixPart[]): Promise<void> {
    const pieces = this.expertPieces(pools, slot, parts);
    const total = pieces.reduce((s, p) => s + p.src.byteLength, 0);
    this.bytes += total;
    if (!copyable(pieces)) {
      // copies need 4-byte sizes and offsets: queue writes, after everything recorded so far
      this.ctx.flush();
      writeSlot(this.ctx, pools.gateUp, slot, parts[0].data);
      writeSlot(this.ctx, pools.down, slot, parts[1].data);
      this.fallbackBytes += total;
      return;
    }
    const pinned = this.tier?.get(parts, pieces.map((p) => p.src));
    if (pinned) {
      const enc = this.ctx.commandEncoder();
      pieces.forEach((p, i) => enc.copyBufferToBuffer(pinned.buffer, pinned.offsets[i], p.dst, p.offset, p.src.byteLength));
      this.pinnedBytes += total;
      return;
    }
    const st = await this.take(total);
    const mapped = new Uint8Array(st.buffer.getMappedRange(0, total));
    let at = 0;
    const at0: number[] = [];
    for (const p of pieces) {
      mapped.set(p.src, at);
      at0.push(at);
      at += p.src.byteLength;
    }
    st.buffer.unmap();
    const enc = this.ctx.commandEncoder();
    pieces.forEach((p, i) => enc.copyBufferToBuffer(st.buffer, at0[i], p.dst, p.offset, p.src.byteLength));
    st.state = 'queued';
    st.ready = null;
    this.ctx.afterSubmit(() => {
      st.state = 'mapping';
      st.ready = st.buffer.mapAsync(GPUMapMode.WRITE);
      st.ready.catch(() => {}); // destroyed while mapping: nothing to do
    });
  }

  /**
   * Writes one expert into the pinned tier ahead of its first page-in (a load-time fill), as upload() would lay it
   * out for `pools`; false when there is no tier or the expert cannot be pinned (too large, unaligned pieces).
   */
  pin(pools: MlpWeights, parts: MatrixPart[]): boolean {
    const pieces = this.expertPieces(pools, 0, parts);
    if (!this.tier || !copyable(pieces)) return false;
    return this.tier.get(parts, pieces.map((p) => p.src)) !== null;
  }

  /** An expert's pieces (gate+up, then down) for slot `slot` of `pools`. */
  private expertPieces(pools: MlpWeights, slot: number, parts: MatrixPart[]): Piece[] {
    return [...this.piecesOf(pools.gateUp, slot, parts[0]), ...this.piecesOf(pools.down, slot, parts[1])];
  }

  private piecesOf(pool: LinearWeight, slot: number, part: MatrixPart): Piece[] {
    const place = slotPlace(pool, slot);
    if (pool.format === 'f32') {
      if (!(part.data instanceof Float32Array)) throw new Error(`${pool.name}: an f32 slot takes f32 data`);
      if (part.data.byteLength !== place.data[1]) throw new Error(`${pool.name}: an expert of ${part.data.byteLength} bytes does not fill a slot of ${place.data[1]}`);
      return [{ src: bytesOf(part.data), dst: place.seg.weights, offset: place.data[0] }];
    }
    const q = part.data instanceof Float32Array ? quantizeQ4(part.data, part.rows, part.cols) : part.data;
    if (q.qs.byteLength !== place.data[1] || q.scales.byteLength !== place.scales[1]) throw new Error(`${pool.name}: an expert's q4 data does not fill a slot`);
    return [
      { src: bytesOf(q.qs), dst: place.seg.weights, offset: place.data[0] },
      { src: bytesOf(q.scales), dst: place.seg.scales!, offset: place.scales[0] },
    ];
  }

  /** The next staging buffer of the ring, mapped and at least `size` bytes. */
  private async take(size: number): Promise<Staging> {
    const i = this.next;
    this.next = (this.next + 1) % this.ring.length;
    let st = this.ring[i];
    if (st) {
      const t0 = performance.now();
      if (st.state === 'queued') this.ctx.flush(); // its copies are recorded but not submitted: submit them now
      if (st.state === 'mapping') {
        await st.ready;
        st.state = 'mapped';
      }
      this.waitMs += performance.now() - t0;
      if (st.buffer.size < size) {
        st.buffer.destroy();
        st = null;
      }
    }
    if (!st) {
      const buffer = this.ctx.device.createBuffer({ size: Math.ceil(size / 4) * 4, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: `expert staging ${i}` });
      st = { buffer, state: 'mapped', ready: null };
      this.ring[i] = st;
    }
    return st;
  }

  /** GPU bytes of the staging ring */
  get stagingBytes(): number {
    return this.ring.reduce((s, st) => s + (st?.buffer.size ?? 0), 0);
  }

  /** Frees the staging ring and the pinned tier. */
  destroy(): void {
    for (const st of this.ring) st?.buffer.destroy();
    this.ring = this.ring.map(() => null);
    this.tier?.destroy();
    this.tier = null;
  }
}
