// Uploads a whole [rows, cols] matrix given as f32 values or as already-quantized Q4_0 data (a weight package),
// split into row segments that each fit one binding.
import type { GpuContext } from '../runtime.ts';
import { uploadLinear, type LinearSegment, type LinearWeight, type WeightFormat } from './linear.ts';
import type { Q4Data } from './q4-format.ts';

export function isQ4Data(d: Float32Array | Q4Data): d is Q4Data {
  return !(d instanceof Float32Array);
}

export function uploadMatrix(ctx: GpuContext, name: string, format: WeightFormat, rows: number, cols: number, data: Float32Array | Q4Data): LinearWeight {
  if (!isQ4Data(data)) return uploadLinear(ctx, name, format, rows, cols, (s, n) => data.subarray(s * cols, (s + n) * cols));
  if (format !== 'q4') throw new Error(`${name}: quantized data for an f32 weight`);
  const nb = cols / 32;
  const rowBytes = nb * 16;
  let perSegment = Math.max(2, Math.floor(ctx.maxBindingBytes / rowBytes));
  perSegment -= perSegment % 2; // segments start on an even block so the f16 scale pairs stay aligned
  const segments: LinearSegment[] = [];
  for (let start = 0; start < rows; start += perSegment) {
    const count = Math.min(perSegment, rows - start);
    const label = `${name}[${start}:${start + count}]`;
    segments.push({
      rowStart: start,
      rows: count,
      weights: ctx.upload(data.qs.subarray(start * nb * 4, (start + count) * nb * 4), label),
      scales: ctx.upload(data.scales.subarray(start * nb, (start + count) * nb), label + '.scales'),
      expertBase: 0,
      expertCount: 0,
    });
  }
  return { name, format, rows, cols, segments };
}
