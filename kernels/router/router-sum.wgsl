// A router row's logit from its column threads' partial sums, in the one order every router kernel keeps (so that
// their logits are equal bit for bit): C = ct / 8 chunks, chunk c the sum of the threads c, c + C, …, then the C chunk
// sums in order (matvec-reduce.wgsl's matvec_row_sum with R = 8). Every thread of the workgroup calls it (it has
// barriers); threads ≥ ct pass nothing. The logit is thread 0's return value. ct ≤ 256, a multiple of 8.
var<workgroup> colSum: array<f32, 256>;

fn router_row_sum(lid: u32, ct: u32, threadSum: f32) -> f32 {
  if (lid < ct) { colSum[lid] = threadSum; }
  workgroupBarrier();
  let C = ct / 8u;
  if (lid < C) {
    var chunk = 0.0;
    for (var i = lid; i < ct; i += C) { chunk += colSum[i]; }
    colSum[lid] = chunk; // chunk lid alone reads the threads ≡ lid mod C, and thread lid first
  }
  workgroupBarrier();
  var sum = 0.0;
  if (lid == 0u) {
    for (var i = 0u; i < C; i++) { sum += colSum[i]; }
  }
  return sum;
}
