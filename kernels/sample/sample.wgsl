// Next-token choice on the GPU, reading back one u32. Over logits l[0..vocab) of one row (banned ids get −∞):
//   greedy (temperature = 0): argmax, lowest index on ties.
//   sampling: p_i ∝ exp((l_i − max)/T) over the tokens kept by top-k (the k largest logits) then top-p (the
//   smallest set of most likely tokens whose mass reaches top_p); then the token where the running sum of kept
//   p_i in vocabulary order passes u·Σp, u ∈ [0, 1) from the caller's seeded generator.
// Thresholds are found without sorting: bisection over the 32-bit order-preserving key of l, each step a
// counting (top-k) or mass (top-p) reduction, so the result is exact after 32 steps.
// Threads: one workgroup of 256; thread i owns the contiguous slice [i·per, (i+1)·per) of the vocabulary (the argmax
// pass strides instead: coalesced loads). One workgroup walks the whole vocabulary (Scout: 202048 logits, ~790 per
// thread), so every pass loads B logits at a time before it uses them: their latencies overlap instead of adding up
// (one at a time, the greedy pass alone took 322 µs on the H200). Each thread still takes its logits in the same order,
// so the results do not depend on B.
// Bindings: logits [≥ offset + vocab] f32; banned [nBanned] u32; out [1] u32.
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> banned: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

var<workgroup> redF: array<f32, 256>;
var<workgroup> redU: array<u32, 256>;
var<workgroup> resultF: f32;
var<workgroup> resultU: u32;

fn logit(i: u32) -> f32 {
  for (var j = 0u; j < P.nBanned; j++) { if (banned[j] == i) { return -3.0e38; } }
  return logits[P.offset + i];
}

const B = 8u;

/** logits i0, i0 + stride, … (B of them) loaded together; those at ≥ end are −3.4e38 and must not be used */
fn load_batch(i0: u32, stride: u32, end: u32) -> array<f32, B> {
  var v: array<f32, B>;
  for (var j = 0u; j < B; j++) {
    let i = i0 + j * stride;
    v[j] = select(-3.4e38, logit(min(i, end - 1u)), i < end);
  }
  return v;
}

fn key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn sumF(lid: u32, v: f32) -> f32 {
  workgroupBarrier();
  redF[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { redF[lid] += redF[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { resultF = redF[0]; }
  return workgroupUniformLoad(&resultF);
}

fn sumU(lid: u32, v: u32) -> u32 {
  workgroupBarrier();
  redU[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { redU[lid] += redU[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { resultU = redU[0]; }
  return workgroupUniformLoad(&resultU);
}

fn minU(lid: u32, v: u32) -> u32 {
  workgroupBarrier();
  redU[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { redU[lid] = min(redU[lid], redU[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { resultU = redU[0]; }
  return workgroupUniformLoad(&resultU);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  let per = (P.vocab + 255u) / 256u;
  let lo = min(lid * per, P.vocab);
  let hi = min(lo + per, P.vocab);

  // argmax (value, index), lowest index on ties; strided (coalesced loads: this pass is all greedy decoding does)
  var bestV = -3.4e38;
  var bestI = 0xffffffffu;
  for (var i0 = lid; i0 < P.vocab; i0 += 256u * B) {
    let v = load_batch(i0, 256u, P.vocab);
    for (var j = 0u; j < B; j++) {
      let i = i0 + j * 256u;
      if (i < P.vocab && (bestI == 0xffffffffu || v[j] > bestV)) { bestV = v[j]; bestI = i; }
    }
  }
  redF[lid] = bestV;
  redU[lid] = bestI;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = redF[lid + s];
      let oi = redU[lid + s];
      if (oi != 0xffffffffu && (redU[lid] == 0xffffffffu || ov > redF[lid] || (ov == redF[lid] && oi < redU[lid]))) {
        redF[lid] = ov;
        redU[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { resultF = redF[0]; }
  let maxV = workgroupUniformLoad(&resultF);
  if (lid == 0u) { resultU = redU[0]; }
  let argmax = workgroupUniformLoad(&resultU);
  if (P.temperature <= 0.0) {
    if (lid == 0u) { out[0] = argmax; }
    return;
  }
  let invT = 1.0 / P.temperature;

  // top-k: the largest key K with count(key >= K) >= k
  var kThreshold = 0u;
  if (P.topK > 0u && P.topK < P.vocab) {
    var a = 0u;
    var b = 0xffffffffu;
    for (var it = 0u; it < 32u; it++) {
      let mid = a + (b - a) / 2u + ((b - a) & 1u); // ceil, without overflowing
      var c = 0u;
      for (var i0 = lo; i0 < hi; i0 += B) {
        let v = load_batch(i0, 1u, hi);
        for (var j = 0u; j < B; j++) { if (i0 + j < hi && key(v[j]) >= mid) { c++; } }
      }
      if (sumU(lid, c) >= P.topK) { a = mid; } else { b = mid - 1u; }
      if (a == b) { break; }
    }
    kThreshold = a;
  }

  // probability mass of the top-k set
  var z = 0.0;
  for (var i0 = lo; i0 < hi; i0 += B) {
    let v = load_batch(i0, 1u, hi);
    for (var j = 0u; j < B; j++) { if (i0 + j < hi && key(v[j]) >= kThreshold) { z += exp((v[j] - maxV) * invT); } }
  }
  let total = sumF(lid, z);

  // top-p: keep i iff the mass strictly above it is < top_p, i.e. key_i >= the smallest K with massAbove(K) < top_p
  var pThreshold = kThreshold;
  if (P.topP < 1.0) {
    var a = kThreshold;
    var b = key(maxV);
    for (var it = 0u; it < 32u; it++) {
      if (a >= b) { break; }
      let mid = a + (b - a) / 2u;
      var m = 0.0;
      for (var i0 = lo; i0 < hi; i0 += B) {
        let v = load_batch(i0, 1u, hi);
        for (var j = 0u; j < B; j++) { if (i0 + j < hi && key(v[j]) > mid && key(v[j]) >= kThreshold) { m += exp((v[j] - maxV) * invT); } }
      }
      if (sumF(lid, m) / total < P.topP) { b = mid; } else { a = mid + 1u; }
    }
    pThreshold = max(a, kThreshold);
  }

  // sample: thread slices in order, an exclusive scan over the 256 slice masses
  var mine = 0.0;
  for (var i0 = lo; i0 < hi; i0 += B) {
    let v = load_batch(i0, 1u, hi);
    for (var j = 0u; j < B; j++) { if (i0 + j < hi && key(v[j]) >= pThreshold) { mine += exp((v[j] - maxV) * invT); } }
  }
  workgroupBarrier();
  redF[lid] = mine;
  workgroupBarrier();
  if (lid == 0u) {
    var run = 0.0;
    for (var j = 0u; j < 256u; j++) { let m = redF[j]; redF[j] = run; run += m; }
    resultF = run;
  }
  let kept = workgroupUniformLoad(&resultF);
  let goal = P.u * kept;
  let start = redF[lid];
  // the first slice whose end passes the goal; if rounding leaves none, the last slice with mass
  let first = minU(lid, select(0xffffffffu, lid, mine > 0.0 && goal < start + mine));
  let last = 255u - minU(lid, select(0xffffffffu, 255u - lid, mine > 0.0));
  let owner = select(first, last, first == 0xffffffffu);
  if (lid == owner) {
    var run = start;
    var chosen = argmax;
    for (var i = lo; i < hi; i++) {
      let v = logit(i);
      if (key(v) >= pThreshold) {
        chosen = i;
        run += exp((v - maxV) * invT);
        if (run > goal) { break; }
      }
    }
    out[0] = chosen;
  }
}
