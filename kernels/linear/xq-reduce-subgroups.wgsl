// xq-reduce.wgsl's xq_block_reduce with subgroups (the kernel is built with `enable subgroups;`; xq-write.wgsl's
// xq_write follows it). The 8 threads of a block are lanes lid & ~7 .. + 7 (subgroups taken as runs of
// consecutive local_invocation_index, as workgroup-sum-subgroups.wgsl; WGSL does not promise it, and without it a block
// would take another block's max: wrong words): a subgroupShuffleXor butterfly over masks
// 1 … XQ_SG/2 (XQ_SG = min(8, the adapter's smallest subgroup size)). XQ_SG = 8: no workgroup memory, no barrier.
// XQ_SG = 4 (SwiftShader): the block's two halves then meet through `lanes` (two barriers, as xq-reduce.wgsl). Max
// and integer sums do not depend on the order: the same bits as xq-reduce.wgsl. Call in uniform control flow.
override XQ_SG: u32 = 8u;

fn xq_combine(a: u32, b: u32, isMax: bool) -> u32 {
  if (isMax) { return bitcast<u32>(max(bitcast<f32>(a), bitcast<f32>(b))); }
  return bitcast<u32>(bitcast<i32>(a) + bitcast<i32>(b));
}

fn xq_block_reduce(lid: u32, v: u32, isMax: bool) -> u32 {
  var r = v;
  for (var m = 1u; m < min(XQ_SG, 8u); m <<= 1u) { r = xq_combine(r, subgroupShuffleXor(r, m), isMax); }
  if (XQ_SG >= 8u) { return r; }
  lanes[lid] = r;
  workgroupBarrier();
  let first = lid & ~7u;
  r = xq_combine(lanes[first], lanes[first + 4u], isMax);
  workgroupBarrier();
  return r;
}
