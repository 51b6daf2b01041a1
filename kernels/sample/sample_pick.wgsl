// The sampler's last step: the inverse-CDF pick in vocabulary order. Over the kept tokens (key ≥ the threshold),
// the token where the running sum of w = exp((l − max)/T) passes u·Σw, u ∈ [0, 1) from the caller. An exclusive scan
// over the chunks' kept masses finds the chunk, the same scan over its threads' shares (as sample_round.wgsl's mass
// stage did) the thread, which walks its PER logits. Where rounding leaves no chunk (or thread) past the goal, the last
// one with mass; within a thread, the last kept token.
// Threads: one workgroup; thread t takes the chunks [t·G, t·G + G) (G = 1 up to 256 chunks).
var<workgroup> owner: vec2<u32>;

/** scan of v over the threads: (exclusive, inclusive, total) */
fn scan3(lid: u32, v: f32) -> vec3<f32> {
  let incl = scanF(lid, v);
  workgroupBarrier();
  redF[lid] = incl;
  workgroupBarrier();
  return vec3(select(0.0, redF[max(lid, 1u) - 1u], lid > 0u), incl, redF[WG - 1u]);
}

/** the first thread whose part passes the goal; if none, the last with a part; NONE if none has */
fn ownerThread(lid: u32, has: bool, passes: bool) -> u32 {
  let first = minU(lid, select(NONE, lid, has && passes));
  let lastRev = minU(lid, select(NONE, WG - 1u - lid, has));
  return select(first, select(NONE, WG - 1u - lastRev, lastRev != NONE), first == NONE);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let threshold = work[ST_THRESHOLD];
  let maxV = bitcast<f32>(work[ST_MAX]);
  let invT = 1.0 / P.temperature;
  let n = chunks();
  let G = (n + WG - 1u) / WG;
  let massAt = WORK_STATE + 2u * n;

  // the chunk
  var m = 0.0;
  for (var g = 0u; g < G; g++) {
    let c = lid * G + g;
    if (c < n) { m += bitcast<f32>(work[massAt + c]); }
  }
  let ex = scan3(lid, m);
  let goal = P.u * ex.z;
  let t = ownerThread(lid, m > 0.0, goal < ex.y);
  if (lid == 0u) { owner = vec2(0u, 0u); }
  workgroupBarrier();
  if (lid == t) {
    var run = ex.x;
    var c = lid * G;
    var start = run;
    for (var g = 0u; g < G && lid * G + g < n; g++) {
      let mc = bitcast<f32>(work[massAt + lid * G + g]);
      if (mc > 0.0) {
        c = lid * G + g;
        start = run;
        if (goal < run + mc) { break; }
      }
      run += mc;
    }
    owner = vec2(c, bitcast<u32>(start));
  }
  let o = workgroupUniformLoad(&owner);
  let chunk = o.x;
  let start = bitcast<f32>(o.y);

  // the thread within the chunk, then the token
  let part = keptPart(chunk, lid, threshold, maxV, invT);
  let inner = scan3(lid, part);
  let u = ownerThread(lid, part > 0.0, goal < start + inner.y);
  if (lid == u) {
    let i0 = chunk * CHUNK + lid * PER;
    let end = min((chunk + 1u) * CHUNK, P.vocab);
    let v = load_batch(i0, 1u, end);
    var run = start + inner.x;
    var token = i0;
    for (var j = 0u; j < PER && i0 + j < end; j++) {
      if (key(v[j]) >= threshold) {
        token = i0 + j;
        run += exp((v[j] - maxV) * invT);
        if (run > goal) { break; }
      }
    }
    out[0] = token;
  }
}
