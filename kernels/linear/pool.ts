// A pool of expert slots: one LinearWeight in expert layout (rowsPerExpert rows per slot) whose slots are filled
// one at a time, so experts can be uploaded as they stream in and paged in and out. Slots are grouped into
// segments of whole slots that each fit one binding; the gather kernel skips slots of other segments.
import type { GpuContext } from '../runtime.ts';
import type { LinearSegment, LinearWeight, WeightFormat } from './linear.ts';
import { quantizeQ4, type Q4Data } from './q4-format.ts';

export function createLinearPool(ctx: GpuContext, name: string, format: WeightFormat, slots: number, rowsPerExpert: number, cols: number): LinearWeight {
  if (format === 'q4' && ((rowsPerExpert * cols) / 32) % 2 !== 0) throw new Error(`${name}: an expert must have an even number of q4 blocks`);
  const slotBytes = rowsPerExpert * (format === 'q4' ? (cols / 32) * 16 : cols * 4);
  const perSegment = Math.max(1, Math.floor(ctx.maxBindingBytes / slotBytes));
  const segments: LinearSegment[] = [];
  for (let first = 0; first < slots; first += perSegment) {
    const count = Math.min(perSegment, slots - first);
    const label = `${name}[slots ${first}:${first + count}]`;
    segments.push({
      rowStart: first * rowsPerExpert,
      rows: count * rowsPerExpert,
      weights: ctx.createBuffer(count * slotBytes, label),
      scales: format === 'q4' ? ctx.createBuffer((count * rowsPerExpert * cols) / 32 / 2 * 4, label + '.scales') : undefined,
      expertBase: first,
      expertCount: count,
    });
  }
  return { name, format, rows: slots * rowsPerExpert, cols, rowsPerExpert, segments };
}

/** Writes one expert's [rowsPerExpert, cols] weights into a slot (quantizing f32 data for a q4 pool). */
export function writeSlot(ctx: GpuContext, pool: LinearWeight, slot: number, data: Float32Array | Q4Data): void {
  const rpe = pool.rowsPerExpert!;
  const seg = pool.segments.find((s) => slot >= s.expertBase && slot < s.expertBase + s.expertCount);
  if (!seg) throw new Error(`${pool.name}: slot ${slot} is out of range`);
  const local = slot - seg.expertBase;
  if (pool.format === 'q4') {
    const q = data instanceof Float32Array ? quantizeQ4(data, rpe, pool.cols) : data;
    const blocks = (rpe * pool.cols) / 32;
    ctx.write(seg.weights, q.qs, local * blocks * 16);
    ctx.write(seg.scales!, q.scales.subarray(0, blocks), local * blocks * 2);
  } else {
    if (!(data instanceof Float32Array)) throw new Error(`${pool.name}: an f32 pool takes f32 data`);
    ctx.write(seg.weights, data, local * rpe * pool.cols * 4);
  }
}
