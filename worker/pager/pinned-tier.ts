// A RAM tier the GPU can copy from: each expert's bytes written once into a buffer of host-visible memory
// (MAP_WRITE | COPY_SRC, unmapped after the write), so a page-in is a copyBufferToBuffer into the slot and no CPU
// work. Through the staging ring every page-in is a CPU memcpy first: on an H100 host that path moved 5.7–7.6 GB/s,
// a copy from this tier 50 GB/s (tools/probe-host-tier.mjs; docs/PERFORMANCE.md, run P). Dawn places mappable
// buffers in host memory (GPU memory did not grow with a 3 GiB tier there).
// Keyed by the parts array a source returns, so sources that hand out one array for many (layer, expert) pairs
// (the bench's synthetic payloads) pin it once; least recently used first out past `maxBytes`. A source that reads an
// expert again into a new array (CachedExperts, after its RAM tier let it go) pins it again; the old copy ages out.
import type { GpuContext } from '../../kernels/runtime.ts';

/** One pinned expert: its pieces' bytes back to back in `buffer`, piece i at offsets[i]. */
export interface PinnedExpert {
  buffer: GPUBuffer;
  offsets: number[];
}

export class PinnedTier {
  /** Map order is the LRU order (a use re-inserts) */
  private pinned = new Map<object, PinnedExpert>();
  bytes = 0;
  /** experts written into the tier, and the time it took (ms) */
  fills = 0;
  fillMs = 0;

  constructor(
    private ctx: GpuContext,
    readonly maxBytes: number,
  ) {}

  /**
   * The pinned copy of the expert `key` (the parts array its source returned) whose pieces are `pieces` (4-byte
   * multiples), written now if it is not in the tier; null when it is larger than the whole tier.
   */
  get(key: object, pieces: Uint8Array[]): PinnedExpert | null {
    const hit = this.pinned.get(key);
    if (hit) {
      this.pinned.delete(key);
      this.pinned.set(key, hit);
      return hit;
    }
    const size = pieces.reduce((s, p) => s + p.byteLength, 0);
    if (size > this.maxBytes) return null;
    this.evictFor(size);
    const t0 = performance.now();
    const buffer = this.ctx.device.createBuffer({ size, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: 'pinned expert' });
    const mapped = new Uint8Array(buffer.getMappedRange());
    const offsets: number[] = [];
    let at = 0;
    for (const p of pieces) {
      mapped.set(p, at);
      offsets.push(at);
      at += p.byteLength;
    }
    buffer.unmap();
    this.fillMs += performance.now() - t0;
    this.fills++;
    const entry = { buffer, offsets };
    this.pinned.set(key, entry);
    this.bytes += size;
    return entry;
  }

  private evictFor(size: number): void {
    for (const [key, old] of this.pinned) {
      if (this.bytes + size <= this.maxBytes) break;
      this.pinned.delete(key);
      this.bytes -= old.buffer.size;
      // copies from it may be recorded and not yet submitted: destroy it once they are
      this.ctx.afterSubmit(() => old.buffer.destroy());
    }
  }

  destroy(): void {
    for (const p of this.pinned.values()) p.buffer.destroy();
    this.pinned.clear();
    this.bytes = 0;
  }
}
