// Shared by the sampler's kernels (sample.ts): bindings, the scratch layout, the key order, workgroup reductions.
// Workgroups of 256 threads; the vocabulary-wide passes give each workgroup a chunk of CHUNK logits, 8 per thread.
// Bindings: logits [≥ offset + vocab] f32; banned [nBanned] u32; out [1] u32; work [WORK_STATE + 3·chunks] u32;
// hist [HIST_WORDS] atomic u32.
const WG = 256u;
const PER = 8u;
const CHUNK = WG * PER;
const NONE = 0xffffffffu;

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> banned: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<storage, read_write> work: array<u32>;
@group(0) @binding(5) var<storage, read_write> hist: array<atomic<u32>>;

// work: the selection state, written by workgroup 0 of the dispatch that finishes a selection and read by later
// dispatches (each word is written once per call, so no dispatch reads a word it also writes); then per chunk c its
// max (f32 bits) and argmax at WORK_STATE + 2c and + 2c + 1, and its kept mass (f32 bits) at WORK_STATE + 2·chunks + c.
const ST_K = 0u; // after top-k round r: the key prefix at ST_K + 2r, the count of keys above it at + 1
const ST_P = 8u; // after top-p round r: the key prefix at ST_P + 3r, the mass above it (fixed point: lo, hi) at + 1, + 2
const ST_TOTAL = 20u; // mass of the top-k set (fixed point: lo, hi)
const ST_THRESHOLD = 22u; // the final threshold: tokens with key ≥ it are kept
const ST_MAX = 23u; // the max logit (f32 bits)
const WORK_STATE = 32u;
// hist: top-k round r counts keys by bin at r·256 + bin; top-p round r sums masses (fixed point: lo, hi) by bin at
// HIST_P + r·512 + 2·bin. Cleared by the max pass.
const HIST_P = 1024u;
const HIST_WORDS = 3072u;

var<workgroup> redF: array<f32, WG>;
var<workgroup> redU: array<u32, WG>;
var<workgroup> resultF: f32;
var<workgroup> resultU: u32;

fn chunks() -> u32 { return (P.vocab + CHUNK - 1u) / CHUNK; }

fn logit(i: u32) -> f32 {
  for (var j = 0u; j < P.nBanned; j++) { if (banned[j] == i) { return -3.0e38; } }
  return logits[P.offset + i];
}

/** logits i0, i0 + stride, … (PER of them) loaded together (their latencies overlap); those at ≥ end are −3.4e38 and must not be used */
fn load_batch(i0: u32, stride: u32, end: u32) -> array<f32, PER> {
  var v: array<f32, PER>;
  for (var j = 0u; j < PER; j++) {
    let i = i0 + j * stride;
    v[j] = select(-3.4e38, logit(min(i, end - 1u)), i < end);
  }
  return v;
}

/** the order-preserving key of a logit: key(a) < key(b) iff a < b */
fn key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// A weight w ∈ [0, 1] as the 64-bit fixed-point number floor(w·2^40) in (lo, hi), exactly: sums of these do not
// depend on the order of the additions (atomics, from many workgroups), and a vocabulary's worth (< 2^24) fits.
fn fixed(w: f32) -> vec2<u32> {
  let s = w * 256.0;
  let hi = floor(s);
  return vec2(u32((s - hi) * 4294967296.0), u32(hi));
}

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

fn float64(a: vec2<u32>) -> f32 { return f32(a.y) * (1.0 / 256.0) + f32(a.x) * (1.0 / 1099511627776.0); }

fn maxF(lid: u32, v: f32) -> f32 {
  workgroupBarrier();
  redF[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { redF[lid] = max(redF[lid], redF[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { resultF = redF[0]; }
  return workgroupUniformLoad(&resultF);
}

fn minU(lid: u32, v: u32) -> u32 {
  workgroupBarrier();
  redU[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { redU[lid] = min(redU[lid], redU[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { resultU = redU[0]; }
  return workgroupUniformLoad(&resultU);
}

/** (value, index) of the largest value, lowest index on ties; index NONE for no value */
fn argmaxWg(lid: u32, v: f32, i: u32) -> vec2<u32> {
  workgroupBarrier();
  redF[lid] = v;
  redU[lid] = i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = redF[lid + s];
      let oi = redU[lid + s];
      if (oi != NONE && (redU[lid] == NONE || ov > redF[lid] || (ov == redF[lid] && oi < redU[lid]))) {
        redF[lid] = ov;
        redU[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { resultF = redF[0]; resultU = redU[0]; }
  return vec2(bitcast<u32>(workgroupUniformLoad(&resultF)), workgroupUniformLoad(&resultU));
}

/** inclusive scan of v over the threads (Hillis–Steele: a fixed order, so the same inputs give the same sums) */
fn scanF(lid: u32, v: f32) -> f32 {
  var s = v;
  for (var d = 1u; d < WG; d <<= 1u) {
    workgroupBarrier();
    redF[lid] = s;
    workgroupBarrier();
    if (lid >= d) { s += redF[lid - d]; }
  }
  return s;
}

/** the largest logit, from the max pass's chunk maxima */
fn globalMax(lid: u32) -> f32 {
  var m = -3.4e38;
  for (var c = lid; c < chunks(); c += WG) { m = max(m, bitcast<f32>(work[WORK_STATE + 2u * c])); }
  return maxF(lid, m);
}

/** thread lid's share of chunk c's kept mass: its PER logits in a row, in vocabulary order (key ≥ threshold kept) */
fn keptPart(c: u32, lid: u32, threshold: u32, maxV: f32, invT: f32) -> f32 {
  let i0 = c * CHUNK + lid * PER;
  let end = min((c + 1u) * CHUNK, P.vocab);
  let v = load_batch(i0, 1u, end);
  var m = 0.0;
  for (var j = 0u; j < PER; j++) {
    if (i0 + j < end && key(v[j]) >= threshold) { m += exp((v[j] - maxV) * invT); }
  }
  return m;
}
