// Q4_0 block decoding, shared by every kernel that reads q4 weights (KernelSpec.includes): 32 consecutive weights
// share one f16 scale d; weight = (q − 8)·d. qs: 16 bytes per block as vec4<u32>, byte j holds q[j] in its low
// nibble and q[j+16] in its high one; sc: the f16 scales packed in pairs (block b in the low half of word b/2 when b
// is even). The including kernel declares `sc: array<u32>`.

// The scale of `block` out of the word that holds its pair.
fn q4_scale_in(word: u32, block: u32) -> f32 {
  return unpack2x16float(select(word, word >> 16u, (block & 1u) == 1u)).x;
}

fn q4_scale(block: u32) -> f32 {
  return q4_scale_in(sc[block >> 1u], block);
}

// (q − 8) of weights 4k..4k+3 of a block, from word k of its qs
fn q4_lo(word: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(word, word >> 8u, word >> 16u, word >> 24u) & vec4<u32>(15u)) - vec4<f32>(8.0);
}

// (q − 8) of weights 16+4k..16+4k+3 of a block, from word k of its qs
fn q4_hi(word: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(word >> 4u, word >> 12u, word >> 20u, word >> 28u) & vec4<u32>(15u)) - vec4<f32>(8.0);
}
