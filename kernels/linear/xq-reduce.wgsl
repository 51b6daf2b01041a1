// The reduction over the 8 threads that hold one block of x, for xq-write.wgsl's xq_write (the including kernel
// declares `var<workgroup> lanes: array<u32, ≥ WG>`). This is the version without subgroups; xq-reduce-subgroups.wgsl
// has the other xq_block_reduce.
// The max (f32 bits) or the sum (i32 bits) of v over the 8 threads (lid & ~7) .. + 7 that share a block, left in each.
// Call in uniform control flow.
fn xq_block_reduce(lid: u32, v: u32, isMax: bool) -> u32 {
  lanes[lid] = v;
  workgroupBarrier();
  let first = lid & ~7u;
  var r = lanes[first];
  for (var i = 1u; i < 8u; i++) {
    let w = lanes[first + i];
    if (isMax) { r = bitcast<u32>(max(bitcast<f32>(r), bitcast<f32>(w))); } else { r = bitcast<u32>(bitcast<i32>(r) + bitcast<i32>(w)); }
  }
  workgroupBarrier();
  return r;
}
