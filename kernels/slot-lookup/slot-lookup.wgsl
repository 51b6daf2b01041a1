// Paged experts without a CPU round trip: each routed item's slot from the layer's slot table, and its expert id
// logged for the one read-back at the end of the step (worker/pager/pager.ts, speculative steps):
//   slots[i] = table[tableBase + ids[i]]   (0xffffffff: the expert is not resident; the expert kernels skip it)
//   log[logBase + i] = ids[i]
// Ids outside [0, experts) give 0xffffffff. One thread per item.
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> slots: array<u32>;
@group(0) @binding(4) var<storage, read_write> log: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= P.items) { return; }
  let e = ids[i];
  var s = 0xffffffffu;
  if (e < P.experts) { s = table[P.tableBase + e]; }
  slots[i] = s;
  log[P.logBase + i] = e;
}
