// The sampler's thresholds, found without sorting and without float atomics: a radix select over the 32-bit key of
// the logits, 8 bits per round from the top, 4 rounds. Round r takes the keys whose top 8r bits equal the prefix
// found so far and, per bin of their next 8 bits, top-k counts them and top-p sums their masses
// w = exp((l − max)/T) (keys ≥ the top-k threshold only) in fixed point. Each workgroup adds its chunk's bins into
// hist with u32 atomics: integer sums, exact, so the order of the additions does not matter. Every workgroup of the
// next dispatch reads the 256 bins and fixes the next 8 bits itself (the same integers everywhere, so the same
// answer; workgroup 0 writes it down for later dispatches): no select dispatch between rounds.
//   top-k: the k-th largest key K, the largest K with count(key ≥ K) ≥ k. A round takes the highest bin b where
//     (count above the prefix) + (count in bins ≥ b) ≥ k.
//   top-p: the smallest K with mass(key > K) < top_p · total, so i is kept iff the mass strictly above it is
//     < top_p. A round takes the lowest bin b where ((mass above the prefix) + (mass in bins > b)) / total < top_p.
// STAGE: 0–3 top-k round r, 4–7 top-p round r − 4, 8 the kept mass of each chunk (for sample_pick.wgsl).
// PREV: the stage dispatched before this one, whose selection this one finishes first; NONE if there is none.
// Threads: one workgroup of 256 per chunk of CHUNK logits, PER strided logits per thread (coalesced loads).
override STAGE: u32 = 0u;
override PREV: u32 = NONE;
const MASS = 8u;

var<workgroup> lbin: array<atomic<u32>, 512>; // this chunk's bins: counts, or masses as (lo, hi) pairs
var<workgroup> sLo: array<u32, WG>;
var<workgroup> sHi: array<u32, WG>;
var<workgroup> flag: array<u32, WG>;
var<workgroup> chosen: vec4<u32>;

/** after a round: the key prefix found so far (in place, lower bits 0), the count or mass of the keys above it, the total mass */
struct Sel {
  prefix: u32,
  above: vec2<u32>,
  total: vec2<u32>,
}

/** Σ over bins ≥ lid of h (inclusive suffix sums, 64-bit) */
fn suffix64(lid: u32, h: vec2<u32>) -> vec2<u32> {
  var s = h;
  for (var d = 1u; d < WG; d <<= 1u) {
    workgroupBarrier();
    sLo[lid] = s.x;
    sHi[lid] = s.y;
    workgroupBarrier();
    if (lid + d < WG) { s = add64(s, vec2(sLo[lid + d], sHi[lid + d])); }
  }
  return s;
}

/** the bit shift of round r's digit */
fn digitShift(r: u32) -> u32 { return 24u - 8u * r; }

fn stateK(r: u32) -> Sel {
  if (r == NONE) { return Sel(0u, vec2(0u), vec2(0u)); }
  return Sel(work[ST_K + 2u * r], vec2(work[ST_K + 2u * r + 1u], 0u), vec2(0u));
}

fn stateP(r: u32) -> Sel {
  let total = vec2(work[ST_TOTAL], work[ST_TOTAL + 1u]);
  if (r == NONE) { return Sel(0u, vec2(0u), total); }
  return Sel(work[ST_P + 3u * r], vec2(work[ST_P + 3u * r + 1u], work[ST_P + 3u * r + 2u]), total);
}

/** top-k round r's selection from its histogram, given the state before it (rounds from 0: r − 1 wraps to NONE) */
fn selectK(lid: u32, wg: u32, r: u32) -> Sel {
  let before = stateK(r - 1u);
  let h = atomicLoad(&hist[r * WG + lid]);
  let s = suffix64(lid, vec2(h, 0u)).x;
  let ok = before.above.x + s >= P.topK; // true for bins 0 ..= the answer
  if (lid == 0u) { chosen = vec4(0u, before.above.x, 0u, 0u); } // not reached while k ≤ vocab
  flag[lid] = select(0u, 1u, ok);
  workgroupBarrier();
  if (ok && (lid == WG - 1u || flag[lid + 1u] == 0u)) { chosen = vec4(lid, before.above.x + s - h, 0u, 0u); }
  let c = workgroupUniformLoad(&chosen);
  let after = Sel(before.prefix | (c.x << digitShift(r)), vec2(c.y, 0u), vec2(0u));
  if (wg == 0u && lid == 0u) {
    work[ST_K + 2u * r] = after.prefix;
    work[ST_K + 2u * r + 1u] = after.above.x;
  }
  return after;
}

/** top-p round r's selection from its histogram; round 0 also sums the total mass */
fn selectP(lid: u32, wg: u32, r: u32) -> Sel {
  var before = stateP(r - 1u);
  let at = HIST_P + r * 2u * WG + 2u * lid;
  let h = vec2(atomicLoad(&hist[at]), atomicLoad(&hist[at + 1u]));
  let s = suffix64(lid, h);
  if (r == 0u) {
    if (lid == 0u) { chosen = vec4(s, 0u, 0u); }
    let t = workgroupUniformLoad(&chosen);
    before.total = t.xy;
    if (wg == 0u && lid == 0u) {
      work[ST_TOTAL] = t.x;
      work[ST_TOTAL + 1u] = t.y;
    }
  }
  let above = add64(before.above, sub64(s, h)); // the mass strictly above every key of bin lid
  let ok = float64(above) / float64(before.total) < P.topP; // true for bins from the answer up
  workgroupBarrier();
  if (lid == 0u) { chosen = vec4(WG - 1u, before.above, 0u); } // none (top_p ≤ 0): the top bin, and max() clamps later
  flag[lid] = select(0u, 1u, ok);
  workgroupBarrier();
  if (ok && (lid == 0u || flag[lid - 1u] == 0u)) { chosen = vec4(lid, above, 0u); }
  let c = workgroupUniformLoad(&chosen);
  let after = Sel(before.prefix | (c.x << digitShift(r)), c.yz, before.total);
  if (wg == 0u && lid == 0u) {
    work[ST_P + 3u * r] = after.prefix;
    work[ST_P + 3u * r + 1u] = after.above.x;
    work[ST_P + 3u * r + 2u] = after.above.y;
  }
  return after;
}

fn addLocal(isP: bool, b: u32, q: vec2<u32>) {
  if (b == NONE || (q.x == 0u && q.y == 0u)) { return; }
  if (!isP) {
    atomicAdd(&lbin[b], q.x);
    return;
  }
  let old = atomicAdd(&lbin[2u * b], q.x);
  let hi = q.y + select(0u, 1u, old + q.x < old); // the carry out of the low word
  if (hi != 0u) { atomicAdd(&lbin[2u * b + 1u], hi); }
}

/** round r's bins of chunk c, added into hist: counts (top-k) or fixed-point masses of keys ≥ kThreshold (top-p) */
fn histogram(c: u32, lid: u32, r: u32, isP: bool, prefix: u32, kThreshold: u32, maxV: f32, invT: f32) {
  atomicStore(&lbin[lid], 0u);
  atomicStore(&lbin[lid + WG], 0u);
  workgroupBarrier();
  let end = min((c + 1u) * CHUNK, P.vocab);
  let v = load_batch(c * CHUNK + lid, WG, end);
  let mask = ~(0xffffffffu >> (8u * r)); // the bits fixed by the rounds before
  // equal bins in a row are summed here first: in the first rounds most keys share a few bins
  var bin = NONE;
  var acc = vec2(0u);
  for (var j = 0u; j < PER; j++) {
    let k = key(v[j]);
    if (c * CHUNK + j * WG + lid >= end || (k & mask) != prefix || (isP && k < kThreshold)) { continue; }
    let b = (k >> digitShift(r)) & 0xffu;
    var q = vec2(1u, 0u);
    if (isP) { q = fixed(exp((v[j] - maxV) * invT)); }
    if (b == bin) {
      acc = add64(acc, q);
    } else {
      addLocal(isP, bin, acc);
      bin = b;
      acc = q;
    }
  }
  addLocal(isP, bin, acc);
  workgroupBarrier();
  if (!isP) {
    let n = atomicLoad(&lbin[lid]);
    if (n != 0u) { atomicAdd(&hist[r * WG + lid], n); }
  } else {
    let q = vec2(atomicLoad(&lbin[2u * lid]), atomicLoad(&lbin[2u * lid + 1u]));
    let at = HIST_P + r * 2u * WG + 2u * lid;
    if (q.x != 0u) {
      let old = atomicAdd(&hist[at], q.x);
      let hi = q.y + select(0u, 1u, old + q.x < old);
      if (hi != 0u) { atomicAdd(&hist[at + 1u], hi); }
    } else if (q.y != 0u) {
      atomicAdd(&hist[at + 1u], q.y);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wgId: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wgId.x;
  let invT = 1.0 / P.temperature;
  if (STAGE < 4u) {
    var prefix = 0u;
    if (PREV != NONE) { prefix = selectK(lid, c, PREV).prefix; }
    histogram(c, lid, STAGE, false, prefix, 0u, 0.0, invT);
    return;
  }
  let maxV = globalMax(lid);
  // the top-k threshold: finished here (after top-k's last round) or by an earlier dispatch
  var kThreshold = 0u;
  if (PREV == 3u) {
    kThreshold = selectK(lid, c, 3u).prefix;
  } else if (P.topK > 0u) {
    kThreshold = work[ST_K + 6u];
  }
  if (STAGE < MASS) {
    let r = STAGE - 4u;
    var prefix = 0u;
    if (r > 0u) { prefix = selectP(lid, c, r - 1u).prefix; }
    histogram(c, lid, r, true, prefix, kThreshold, maxV, invT);
    return;
  }
  // STAGE == MASS: the final threshold, then this chunk's kept mass (the scan sample_pick.wgsl repeats in its chunk)
  var threshold = kThreshold;
  if (PREV == 7u) { threshold = clamp(selectP(lid, c, 3u).prefix, kThreshold, key(maxV)); }
  if (c == 0u && lid == 0u) {
    work[ST_THRESHOLD] = threshold;
    work[ST_MAX] = bitcast<u32>(maxV);
  }
  let m = scanF(lid, keptPart(c, lid, threshold, maxV, invT));
  if (lid == WG - 1u) { work[WORK_STATE + 2u * chunks() + c] = bitcast<u32>(m); }
}
