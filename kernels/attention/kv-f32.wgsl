// The KV cache's elements as f32 (kv-f16.wgsl is the other form; kv-kernels.ts kvFormatKernel picks one). A kernel
// declares its cache bindings through these aliases and reads and writes through these functions:
//   KvVec: 4 consecutive elements (kv_vec reads them, kv_pack makes them);
//   KvWord: KV_PER_WORD elements (kv_elem(w, i): element i's value out of the word that holds it, word i / KV_PER_WORD);
//   KvPair: 2 consecutive elements from an even index (kv_pair makes them).
alias KvVec = vec4<f32>;
alias KvWord = f32;
alias KvPair = vec2<f32>;
const KV_PER_WORD = 1u;

fn kv_vec(v: KvVec) -> vec4<f32> { return v; }
fn kv_pack(v: vec4<f32>) -> KvVec { return v; }
fn kv_elem(w: KvWord, i: u32) -> f32 { return w; }
fn kv_pair(p: vec2<f32>) -> KvPair { return p; }
// v as the cache holds it
fn kv_round(v: vec4<f32>) -> vec4<f32> { return v; }
