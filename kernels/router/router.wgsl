// MoE routing for each token t from the router logits [tokens, experts]: the top k (topk.wgsl, included).
// Threads: one per token (experts ≤ 256 and k ≤ 8 make this tiny).
// Bindings: logits [tokens, experts] f32; ids [tokens, k] u32; scores [tokens, k] f32.
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  if (t >= P.tokens) { return; }
  route_token(t);
}

fn router_logit(t: u32, e: u32) -> f32 {
  return logits[t * P.experts + e];
}
