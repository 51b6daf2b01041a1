// Token embedding gather from a (possibly segmented, possibly q4) embedding matrix.
import type { GpuContext, KernelSpec } from '../runtime.ts';
import type { LinearWeight } from '../linear/linear.ts';
import q4Source from './embedding_q4.wgsl';
import f32Source from './embedding_f32.wgsl';
import q4Prelude from '../linear/q4.wgsl';

const uniforms = ['rowStart:u32', 'rows:u32', 'cols:u32'] as const;
export const embeddingQ4Kernel: KernelSpec = { name: 'embedding_q4', source: q4Source, uniforms, includes: [q4Prelude] };
export const embeddingF32Kernel: KernelSpec = { name: 'embedding_f32', source: f32Source, uniforms };

/** x[t] = table[ids[t]] for `tokens` ids. */
export function embedding(ctx: GpuContext, table: LinearWeight, ids: GPUBuffer, x: GPUBuffer, tokens: number): void {
  for (const s of table.segments) {
    const params = { rowStart: s.rowStart, rows: s.rows, cols: table.cols };
    ctx.dispatch(
      table.format === 'q4'
        ? { kernel: embeddingQ4Kernel, params, bindings: [s.weights, s.scales!, ids, x], workgroups: [tokens] }
        : { kernel: embeddingF32Kernel, params, bindings: [s.weights, ids, x], workgroups: [tokens] },
    );
  }
}
