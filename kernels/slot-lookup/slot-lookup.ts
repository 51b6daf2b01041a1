// GPU-side expert slot table lookup (slot-lookup.wgsl): the routed expert kernels of a paged layer read the right
// slot without the CPU seeing the router's ids first.
import { ceilDiv, type GpuContext, type KernelSpec } from '../runtime.ts';
import source from './slot-lookup.wgsl';

export const slotLookupKernel: KernelSpec = { name: 'slot_lookup', source, uniforms: ['items:u32', 'experts:u32', 'tableBase:u32', 'logBase:u32'] };

export interface SlotLookup {
  items: number;
  /** entries per layer in the table (the layer's expert count) */
  experts: number;
  /** first table entry of this layer */
  tableBase: number;
  /** first log entry of this layer */
  logBase: number;
}

export function slotLookup(ctx: GpuContext, table: GPUBuffer, ids: GPUBuffer, slots: GPUBuffer, log: GPUBuffer, o: SlotLookup): void {
  ctx.dispatch({ kernel: slotLookupKernel, params: { ...o }, bindings: [table, ids, slots, log], workgroups: [ceilDiv(o.items, 64)] });
}
