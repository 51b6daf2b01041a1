// The sum of one f32 per thread over a workgroup of WG threads, the same bits to every thread, in an order fixed by
// local_invocation_index alone (so every workgroup that sums the same values in the same threads gets the same bits).
// This is the version without subgroups; workgroup-sum-subgroups.wgsl is the other (same interface). The including
// kernel declares `override WG` (a power of two) and takes `g: Group` as an entry-point parameter: the workgroup id here,
// the workgroup id and the subgroup size there (a struct of builtins that are uniform, so the analysis lets a loop
// bounded by the subgroup size hold subgroup operations). Two stages through workgroup memory, two barriers (not a
// tree's log2 WG + 1): C = WG/16 threads each add the 16 values c, c + C, …, then every thread the C chunk sums.
// Call in uniform control flow.
struct Group {
  @builtin(workgroup_id) id: vec3<u32>,
}

var<workgroup> sumPartial: array<f32, WG>;

fn workgroup_sum(v: f32, lid: u32, g: Group) -> f32 {
  sumPartial[lid] = v;
  workgroupBarrier();
  let C = max(WG / 16u, 1u);
  if (lid < C) {
    var chunk = 0.0;
    for (var i = lid; i < WG; i += C) { chunk += sumPartial[i]; }
    sumPartial[lid] = chunk; // chunk lid alone reads the values ≡ lid mod C, and its own first
  }
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < C; i++) { total += sumPartial[i]; }
  return total;
}
