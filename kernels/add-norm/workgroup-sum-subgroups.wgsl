// workgroup-sum.wgsl with subgroups (the kernel is built with `enable subgroups;`, GpuContext.subgroups): a butterfly
// of subgroupShuffleXor within each subgroup (lanes i and i ^ m add the same two values, so after log2(size) steps every
// lane holds the same sum, in an order fixed by lane), one barrier, then every thread adds the WG/size subgroup sums in
// order. Any subgroup size up to WG (WebGPU allows 4–128; WG ≥ 128 then, so every subgroup is full). It takes the
// subgroups of a 1-D workgroup to be runs of `size` consecutive local_invocation_index, lane = index % size, as Dawn's
// backends (Vulkan, D3D12, Metal) number them; WGSL does not promise it, and without it the sum could differ by a
// rounding from workgroup to workgroup.
struct Group {
  @builtin(workgroup_id) id: vec3<u32>,
  @builtin(subgroup_size) subgroupSize: u32,
}

var<workgroup> sumPartial: array<f32, WG>;

fn workgroup_sum(v: f32, lid: u32, g: Group) -> f32 {
  let size = g.subgroupSize;
  var s = v;
  for (var m = 1u; m < size; m <<= 1u) { s += subgroupShuffleXor(s, m); }
  if (lid % size == 0u) { sumPartial[lid / size] = s; }
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < WG / size; i++) { total += sumPartial[i]; }
  return total;
}
