// Writing x in integer form (quantize-x.wgsl's layout: per block of 32, three signed byte planes of the 23-bit fixed
// point X = round(x · 2^k), Σ X and the step 2^−k), shared by quantize-x.wgsl, add-norm.wgsl (h), expert_q4.wgsl
// (the activations) and the decode attention (its output); xq-reduce.wgsl has the reduction over a block's 8 threads and xq-write.wgsl xq_write, the block writer.

// k of a block whose max |x| is m: 2^k·m < 2^22 (frexp), capped so that 2^k stays a normal f32 (blocks of max |x| below
// 2^−104 lose precision, not range)
fn xq_exponent(m: f32) -> i32 {
  return min(22 - frexp(max(m, 1e-30)).exp, 126);
}

// the A, B and C words of 4 elements: X + 0x408080 ≥ 0 splits into bytes a', b', c'; A = a' − 64, B = b' − 128, C = c' − 128
fn xq_planes(X: vec4<i32>) -> vec3<u32> {
  let U = vec4<u32>(X + vec4<i32>(0x408080));
  return vec3<u32>(pack4xI8(vec4<i32>(U >> vec4<u32>(16u)) - vec4<i32>(64)),
                   pack4xI8(vec4<i32>((U >> vec4<u32>(8u)) & vec4<u32>(255u)) - vec4<i32>(128)),
                   pack4xI8(vec4<i32>(U & vec4<u32>(255u)) - vec4<i32>(128)));
}

// word 25 of a block: the step 2^−k, 0 for an all-zero block
fn xq_step_bits(m: f32, k: i32) -> u32 {
  return select(bitcast<u32>(ldexp(1.0, -k)), 0u, m == 0.0);
}
