// Reading a later dispatch's weights into the GPU's L2 cache from workgroups of a latency-bound dispatch (decode
// attention, an add-norm) that would otherwise leave most of the GPU idle, so that the mat-vec after it reads them
// from L2 rather than from memory (docs/PERFORMANCE.md run P: o_proj 13.29 → 10.98 µs, the fused Q/K/V 14.85 →
// 12.04 µs with their weights in L2, on an H100). Benchmarks choose how much (l2-prefetch.ts); nothing is computed.
// The host kernel defines pf_unit(i) -> u32 (unit i of the buffer it binds for this, folded to one word: its loads)
// and pf_keep(v) (a store that depends on the loads' values, so that no compiler drops them, and that changes
// nothing anyone reads), and calls l2_prefetch(group, lid) from PF_GROUPS workgroups of WG threads.
override PF_GROUPS: u32 = 1u;
override PF_UNITS: u32 = 0u; // units to read in all, cut into PF_GROUPS contiguous runs
const PF_BATCH = 16u;
const PF_MAGIC = 0x7fa5a5a5u; // a NaN pattern // loads a thread issues before it waits for any of them

fn l2_prefetch(group: u32, lid: u32) {
  let per = (PF_UNITS + PF_GROUPS - 1u) / PF_GROUPS;
  let lo = group * per;
  let hi = min(lo + per, PF_UNITS);
  if (lo >= hi) { return; }
  var acc = 0u;
  for (var i = lo + lid; i < hi; i += PF_BATCH * WG) {
    var v: array<u32, PF_BATCH>;
    for (var k = 0u; k < PF_BATCH; k++) {
      let j = i + k * WG;
      v[k] = select(0u, pf_unit(min(j, hi - 1u)), j < hi); // past the run: its last unit loaded again, not counted
    }
    for (var k = 0u; k < PF_BATCH; k++) { acc ^= v[k]; }
  }
  // a write only where the words a thread read fold to PF_MAGIC (never in practice with weights; tests plant it to check
// that every unit is read); pf_keep makes even that harmless
  if (acc == PF_MAGIC) { pf_keep(acc); }
}
