// Uploads a whole [rows, cols] matrix given as f32 values or as already-quantized Q4_0 data (a weight package),
// split into row segments that each fit one binding.
import type { GpuContext } from '../runtime.ts';
import { createLinear, writeRows, type LinearWeight, type WeightFormat } from './linear.ts';
import type { Q4Data } from './q4-format.ts';

export function isQ4Data(d: Float32Array | Q4Data): d is Q4Data {
  return !(d instanceof Float32Array);
}

export function uploadMatrix(ctx: GpuContext, name: string, format: WeightFormat, rows: number, cols: number, data: Float32Array | Q4Data): LinearWeight {
  if (isQ4Data(data) && format !== 'q4') throw new Error(`${name}: quantized data for an f32 weight`);
  const w = createLinear(ctx, name, format, rows, cols);
  // segment by segment, so an f32 matrix quantized here never exists whole as Q4Data
  for (const s of w.segments) {
    writeRows(ctx, w, s.rowStart, s.rows, isQ4Data(data) ? sliceQ4(data, s.rowStart, s.rows, cols) : data.subarray(s.rowStart * cols, (s.rowStart + s.rows) * cols));
  }
  return w;
}

/** Rows [start, start + count) of Q4Data (start on an even block), as views. */
export function sliceQ4(data: Q4Data, start: number, count: number, cols: number): Q4Data {
  const nb = cols / 32;
  return { qs: data.qs.subarray(start * nb * 4, (start + count) * nb * 4), scales: data.scales.subarray(start * nb, (start + count) * nb) };
}
