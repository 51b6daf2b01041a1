// Merges the SPLIT partial results of split attention (attention.wgsl with SPLIT > 1) for each (token, head):
//   M = max_s m_s;  out = Σ_s e^(m_s − M)·acc_s / Σ_s e^(m_s − M)·l_s   (empty runs have l = 0, acc = 0).
// Threads: one workgroup of 64 per (head, token), threads over the head's dimensions.
// Bindings: part [tokens, heads, splits, headDim + 2]; out [tokens, heads, headDim].
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let t = wg.y;
  let hd = P.headDim;
  let base = (t * P.heads + h) * P.splits * (hd + 2u);
  var mMax = -3.0e38;
  for (var s = 0u; s < P.splits; s++) { mMax = max(mMax, part[base + s * (hd + 2u) + hd]); }
  var l = 0.0;
  for (var s = 0u; s < P.splits; s++) {
    let o = base + s * (hd + 2u);
    l += exp(part[o + hd] - mMax) * part[o + hd + 1u];
  }
  for (var d = lid; d < hd; d += 64u) {
    var a = 0.0;
    for (var s = 0u; s < P.splits; s++) {
      let o = base + s * (hd + 2u);
      a += exp(part[o + hd] - mMax) * part[o + d];
    }
    out[(t * P.heads + h) * hd + d] = a / l;
  }
}
