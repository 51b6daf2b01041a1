// Staged streaming read in ONE dispatch, a grid-wide barrier between stages: a benchmark of what a persistent kernel
// would save over a dispatch boundary (cli/structure-floor.ts). Benchmarks only: WGSL's atomics are relaxed (no
// device-scope ordering of other memory) and nothing guarantees that the workgroups run at the same time, so no
// engine kernel may rely on a barrier like this one.
// Stage s reads the vec4s stages[s].x .. stages[s].x + stages[s].y − 1 of src, grid-stride (read-window.wgsl), and
// folds them into the checksum out[0] (Σ of the u32 words, mod 2^32). The barrier: each workgroup adds 1 to out[1]
// and waits until it reaches P.base + (s + 1) · workgroups; a wait past SPIN_LIMIT polls sets out[2] (the workgroups
// were not all resident) and goes on, and once out[2] is set (checked every 1024 polls) no barrier waits any more,
// so the dispatch always ends, and soon.
// Bindings: src [ ] vec4<u32>; stages [P.stages] vec2<u32> (first vec4, count); out [3] atomic u32.
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> stages: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> out: array<atomic<u32>>;

const SPIN_LIMIT = 1048576u;

var<workgroup> wgSum: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) { atomicStore(&wgSum, 0u); }
  workgroupBarrier();
  let G = nwg.x * 256u;
  for (var s = 0u; s < P.stages; s++) {
    let acc = read_window(stages[s].x, stages[s].y, gid.x, G); // read-window.wgsl
    // the stage's loads are consumed before the workgroup arrives
    atomicAdd(&wgSum, acc.x + acc.y + acc.z + acc.w);
    workgroupBarrier();
    if (lid == 0u) {
      atomicAdd(&out[1], 1u);
      let arrivals = P.base + (s + 1u) * nwg.x;
      var spins = 0u;
      loop {
        if (atomicLoad(&out[1]) >= arrivals) { break; }
        spins += 1u;
        if ((spins & 1023u) == 1023u && atomicLoad(&out[2]) != 0u) { break; }
        if (spins >= SPIN_LIMIT) {
          atomicStore(&out[2], 1u);
          break;
        }
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { atomicAdd(&out[0], atomicLoad(&wgSum)); }
}
