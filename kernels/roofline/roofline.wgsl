// Streaming-read roofline: reads every vec4<u32> of `src` once and folds it into a checksum, so the loads cannot be
// optimised away. checksum = Σ over all u32 words of src (mod 2^32), added atomically into out[0].
// Threads: 256 per workgroup, grid-stride over vec4 index i = gid, gid + G, gid + 2G, … (G = all threads of the
// grid); the main loop (read-window.wgsl) issues 4 independent 16-byte loads per thread per iteration (i, i+G, i+2G,
// i+3G) so many loads are in flight. Per workgroup the 256 partial sums go through one workgroup atomic, then one global atomic.
// Grid: (workgroups, 1) — a fixed, device-filling count chosen by the caller, not one per element.
// Bindings: src [n] vec4<u32> (n = P.n); out [1] atomic u32 (accumulates across dispatches).
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<atomic<u32>>;

var<workgroup> wgSum: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) { atomicStore(&wgSum, 0u); }
  workgroupBarrier();
  let G = nwg.x * 256u;
  let acc = read_window(0u, P.n, gid.x, G); // read-window.wgsl
  atomicAdd(&wgSum, acc.x + acc.y + acc.z + acc.w);
  workgroupBarrier();
  if (lid == 0u) { atomicAdd(&out[0], atomicLoad(&wgSum)); }
}
