// dst[i] = a random word from hash(i, seed), for synthetic weights made on the GPU (benchmarks: no CPU generation,
// no upload). mode 0: raw u32 (q4 nibbles); 1: two f16 in ±[amp/10, amp] (q4 scales); 2: f32 in [−amp, amp].
// Grid-stride over n words; the binding is one window of the buffer (offset/size), so any buffer size works.
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

fn u01(h: u32) -> f32 { return f32(h >> 8u) / 16777216.0; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let G = nw.x * 256u;
  for (var i = g.x; i < P.n; i += G) {
    let h = pcg(i ^ pcg(P.seed));
    if (P.mode == 0u) {
      dst[i] = h;
    } else if (P.mode == 1u) {
      let h2 = pcg(h);
      let a = P.amp * (0.1 + 0.9 * u01(h)) * select(1.0, -1.0, (h & 1u) == 1u);
      let b = P.amp * (0.1 + 0.9 * u01(h2)) * select(1.0, -1.0, (h2 & 1u) == 1u);
      dst[i] = pack2x16float(vec2<f32>(a, b));
    } else {
      dst[i] = bitcast<u32>((u01(h) * 2.0 - 1.0) * P.amp);
    }
  }
}
