// CPU reference for slotLookup(): the slots it gives, and the log after it.
import type { SlotLookup } from './slot-lookup.ts';

export function slotLookupRef(table: Uint32Array, ids: Uint32Array, log: Uint32Array, o: SlotLookup): { slots: Uint32Array; log: Uint32Array } {
  const slots = new Uint32Array(o.items);
  const out = log.slice();
  for (let i = 0; i < o.items; i++) {
    const e = ids[i];
    slots[i] = e < o.experts ? table[o.tableBase + e] : 0xffffffff;
    out[o.logBase + i] = e;
  }
  return { slots, log: out };
}
