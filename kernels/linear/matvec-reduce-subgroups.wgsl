// matvec-reduce.wgsl with subgroups (the kernel is built with `enable subgroups;`; linear.ts matvecSubgroupWidth picks
// it and MV_SG): the same interface, the same sums in another order. MV_SG = min(CT, the adapter's smallest subgroup
// size), a power of two ≥ RP (R rounded up to a power of two). It takes the subgroups of a 1-D workgroup to be runs of
// consecutive local_invocation_index (as workgroup-sum-subgroups.wgsl), so the CT column threads of a row group are
// CT / MV_SG runs of MV_SG lanes, lane ^ m = lid ^ m for m < MV_SG (WGSL does not promise that layout; without it the
// sums would mix rows: wrong, not just rounded differently). In each run: recursive halving by subgroupShuffleXor
// (masks RP/2 … 1: a lane keeps half of its rows and adds its partner's half of them; RP − 1 values shuffled), then a
// butterfly over masks RP … MV_SG/2, so column thread c holds the run's sum of row c % RP of its row group.
// MV_SG = CT: no workgroup memory, no barrier; column threads c < R give row rg·R + c. MV_SG < CT: those of each run
// write its sum to `partial`, one barrier, thread lid < RW adds the CT / MV_SG run sums of row lid in run order.
// Every row's sum is the same tree over the column threads (addition commutes), wherever the row sits.
// Call in uniform control flow.
override MV_SG: u32 = 32u;

fn matvec_row_sum(a0: vec4<f32>, a1: vec4<f32>, lid: u32) -> f32 {
  let ct = lid % CT;
  var v = a0; // RP = 8: rows 0..3 or 4..7, by bit 2 of ct
  if (R > 4u) {
    let hi = (ct & 4u) != 0u;
    v = select(a0, a1, hi) + subgroupShuffleXor(select(a1, a0, hi), 4u);
  }
  var w = v.xy;
  if (R > 2u) {
    let hi = (ct & 2u) != 0u;
    w = select(v.xy, v.zw, hi) + subgroupShuffleXor(select(v.zw, v.xy, hi), 2u);
  }
  var s = w.x;
  if (R > 1u) {
    let hi = (ct & 1u) != 0u;
    s = select(w.x, w.y, hi) + subgroupShuffleXor(select(w.y, w.x, hi), 1u);
  }
  let RP = select(select(select(1u, 2u, R > 1u), 4u, R > 2u), 8u, R > 4u);
  for (var m = RP; m < MV_SG; m <<= 1u) { s += subgroupShuffleXor(s, m); }
  if (MV_SG >= CT) { return s; }
  let RW = (WG / CT) * R;
  let c = ct % MV_SG;
  if (c < R) { partial[(ct / MV_SG) * RW + (lid / CT) * R + c] = s; }
  workgroupBarrier();
  var sum = 0.0;
  if (lid < RW) {
    for (var j = 0u; j < CT / MV_SG; j++) { sum += partial[j * RW + lid]; }
  }
  return sum;
}

// the workgroup row (0 .. RW − 1) whose sum matvec_row_sum gives thread lid, and whether it gives one
fn matvec_sum_row(lid: u32) -> u32 {
  if (MV_SG >= CT) { return (lid / CT) * R + lid % CT; }
  return lid;
}

fn matvec_sum_owner(lid: u32) -> bool {
  if (MV_SG >= CT) { return lid % CT < R; }
  return lid < (WG / CT) * R;
}
