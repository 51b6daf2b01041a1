// A pool of expert slots: one LinearWeight in expert layout (rowsPerExpert rows per slot) whose slots are filled
// one at a time, so experts can be uploaded as they stream in and paged in and out. Slots are grouped into
// segments of whole slots that each fit one binding; the gather kernel skips slots of other segments.
import type { GpuContext } from '../runtime.ts';
import { createLinear, writeRows, type LinearWeight, type WeightFormat } from './linear.ts';
import type { Q4Data } from './q4-format.ts';

export function createLinearPool(ctx: GpuContext, name: string, format: WeightFormat, slots: number, rowsPerExpert: number, cols: number): LinearWeight {
  return createLinear(ctx, name, format, slots * rowsPerExpert, cols, rowsPerExpert);
}

/** Writes one expert's [rowsPerExpert, cols] weights into a slot (quantizing f32 data for a q4 pool). */
export function writeSlot(ctx: GpuContext, pool: LinearWeight, slot: number, data: Float32Array | Q4Data): void {
  const rpe = pool.rowsPerExpert!;
  if (slot < 0 || (slot + 1) * rpe > pool.rows) throw new Error(`${pool.name}: slot ${slot} is out of range`);
  writeRows(ctx, pool, slot * rpe, rpe, data);
}

/** Where slot `slot` lies: its segment, and the byte range [offset, size] of its weights and (q4) scales there. */
export function slotPlace(pool: LinearWeight, slot: number): { seg: LinearWeight['segments'][number]; data: [number, number]; scales: [number, number] } {
  const rpe = pool.rowsPerExpert!;
  const seg = pool.segments.find((s) => slot >= s.expertBase && slot < s.expertBase + s.expertCount);
  if (!seg) throw new Error(`${pool.name}: slot ${slot} is out of range`);
  const local = slot - seg.expertBase;
  if (pool.format === 'f32') return { seg, data: [local * rpe * pool.cols * 4, rpe * pool.cols * 4], scales: [0, 0] };
  const blocks = (rpe * pool.cols) / 32;
  return { seg, data: [local * blocks * 16, blocks * 16], scales: [local * blocks * 2, blocks * 2] };
}

/** Reads one slot back (what writeSlot wrote): f32 values, or Q4Data for a q4 pool. */
export async function readSlot(ctx: GpuContext, pool: LinearWeight, slot: number): Promise<Float32Array | Q4Data> {
  const { seg, data, scales } = slotPlace(pool, slot);
  const bytes = await ctx.read(seg.weights, data[0], data[1]);
  if (pool.format === 'f32') return new Float32Array(bytes);
  return { qs: new Uint32Array(bytes), scales: new Uint16Array(await ctx.read(seg.scales!, scales[0], scales[1])) };
}

/** Copies slot `from` of one pool into slot `to` of another of the same shape, on the GPU. */
export function copySlot(ctx: GpuContext, src: LinearWeight, from: number, dst: LinearWeight, to: number): void {
  if (src.format !== dst.format || src.cols !== dst.cols || src.rowsPerExpert !== dst.rowsPerExpert) throw new Error(`${src.name} → ${dst.name}: pools differ in shape`);
  const a = slotPlace(src, from), b = slotPlace(dst, to);
  const enc = ctx.commandEncoder();
  enc.copyBufferToBuffer(a.seg.weights, a.data[0], b.seg.weights, b.data[0], a.data[1]);
  if (src.format === 'q4') enc.copyBufferToBuffer(a.seg.scales!, a.scales[0], b.seg.scales!, b.scales[0], a.scales[1]);
}
