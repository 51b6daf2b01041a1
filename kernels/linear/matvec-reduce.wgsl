// The last step of every mat-vec kernel (linear_q4.wgsl, expert_q4.wgsl, expert_f32.wgsl): a workgroup of WG threads
// is (WG / CT) row groups × CT column threads, each thread holding partial sums of R rows. The including kernel
// declares the overrides WG, CT, R and `var<workgroup> partial: array<f32, ≥ CT·(RW + 1)>`, RW = R·WG/CT.
// This is the version without subgroups; matvec-reduce-subgroups.wgsl is the other (same interface: the caller writes
// row matvec_sum_row(lid) of the workgroup where matvec_sum_owner(lid)).

// The sum over the CT column threads of each of the workgroup's RW = R·WG/CT rows, from each thread's R partial sums
// (a0: rows 0..3, a1: rows 4..7 of its row group); thread lid < RW gets row lid's sum. Two serial stages through
// workgroup memory (two barriers, no tree): every thread adds R partial sums, then one thread per row the rest.
// Call in uniform control flow.
fn matvec_row_sum(a0: vec4<f32>, a1: vec4<f32>, lid: u32) -> f32 {
  let ct = lid % CT;
  let rg = lid / CT;
  let RW = (WG / CT) * R;
  let RW1 = RW + 1u;
  let pw = ct * RW1 + rg * R;
  partial[pw] = a0.x;
  if (R > 1u) { partial[pw + 1u] = a0.y; }
  if (R > 2u) { partial[pw + 2u] = a0.z; }
  if (R > 3u) { partial[pw + 3u] = a0.w; }
  if (R > 4u) { partial[pw + 4u] = a1.x; }
  if (R > 5u) { partial[pw + 5u] = a1.y; }
  if (R > 6u) { partial[pw + 6u] = a1.z; }
  if (R > 7u) { partial[pw + 7u] = a1.w; }
  workgroupBarrier();
  let C = WG / RW; // = CT / R chunks per row
  let row1 = lid % RW;
  let c1 = lid / RW;
  if (c1 < C) {
    var sum1 = 0.0;
    for (var i = c1; i < CT; i += C) { sum1 += partial[i * RW1 + row1]; }
    partial[c1 * RW1 + row1] = sum1;
  }
  workgroupBarrier();
  var sum = 0.0;
  if (lid < RW) {
    for (var i = 0u; i < min(C, CT); i++) { sum += partial[i * RW1 + lid]; }
  }
  return sum;
}

// the workgroup row (0 .. RW − 1) whose sum matvec_row_sum gives thread lid, and whether it gives one: lid < RW here
fn matvec_sum_row(lid: u32) -> u32 {
  return lid;
}

fn matvec_sum_owner(lid: u32) -> bool {
  return lid < (WG / CT) * R;
}
