// The KV cache's elements as f16, two to a u32 (element 2w in the low half of word w), through WGSL's
// pack2x16float / unpack2x16float: no shader-f16 feature needed. Same interface as kv-f32.wgsl. Values are clamped to
// ±65504 before packing (out of f16's range pack2x16float's result is not defined); the rounding to f16 is the
// implementation's (to nearest, or toward zero: within one f16 ulp either way).
alias KvVec = vec2<u32>;
alias KvWord = u32;
alias KvPair = u32;
const KV_PER_WORD = 2u;
const KV_F16_MAX = 65504.0;

fn kv_vec(v: KvVec) -> vec4<f32> { return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y)); }
fn kv_pack(v: vec4<f32>) -> KvVec {
  let c = clamp(v, vec4<f32>(-KV_F16_MAX), vec4<f32>(KV_F16_MAX));
  return vec2<u32>(pack2x16float(c.xy), pack2x16float(c.zw));
}
fn kv_round(v: vec4<f32>) -> vec4<f32> { return kv_vec(kv_pack(v)); }
fn kv_elem(w: KvWord, i: u32) -> f32 { return unpack2x16float(w)[i & 1u]; }
fn kv_pair(p: vec2<f32>) -> KvPair { return pack2x16float(clamp(p, vec2<f32>(-KV_F16_MAX), vec2<f32>(KV_F16_MAX))); }
