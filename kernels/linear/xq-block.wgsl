// Writing x in integer form (quantize-x.wgsl's layout: per block of 32, three signed byte planes of the 23-bit fixed
// point X = round(x · 2^k), Σ X and the step 2^−k), shared by quantize-x.wgsl, add-norm.wgsl (h), expert_q4.wgsl
// (the activations) and the decode attention (its output); xq-reduce.wgsl has the reduction over a block's 8 threads and xq-write.wgsl xq_write, the block writer.

// XQ_PLANES = 2 (an experiment, GpuContext.xqPlanes; off by default): a 15-bit fixed point instead, X = A·2^8 + B
// (|X| < 2^14, A ∈ [−64, 63], B ∈ [−128, 127]), the C plane left zero: the q4 mat-vecs then load 5 of a block's 7
// vec4 and take two 4×8-bit dot products per 4 weights, not three, for x rounded to 2^−15 of its block's max.
override XQ_PLANES: u32 = 3u;

// k of a block whose max |x| is m: 2^k·m < 2^22 (frexp; 2^14 with two planes), capped so that 2^k stays a normal f32 (blocks of max |x| below
// 2^−104 lose precision, not range)
fn xq_exponent(m: f32) -> i32 {
  return min(select(22, 14, XQ_PLANES == 2u) - frexp(max(m, 1e-30)).exp, 126);
}

// the A, B and C words of 4 elements: X + 0x408080 ≥ 0 splits into bytes a', b', c'; A = a' − 64, B = b' − 128, C = c' − 128
fn xq_planes(X: vec4<i32>) -> vec3<u32> {
  if (XQ_PLANES == 2u) {
    // X + 0x4080 ≥ 0 splits into bytes a', b'; A = a' − 64, B = b' − 128; no C
    let V = vec4<u32>(X + vec4<i32>(0x4080));
    return vec3<u32>(pack4xI8(vec4<i32>(V >> vec4<u32>(8u)) - vec4<i32>(64)), pack4xI8(vec4<i32>(V & vec4<u32>(255u)) - vec4<i32>(128)), 0u);
  }
  let U = vec4<u32>(X + vec4<i32>(0x408080));
  return vec3<u32>(pack4xI8(vec4<i32>(U >> vec4<u32>(16u)) - vec4<i32>(64)),
                   pack4xI8(vec4<i32>((U >> vec4<u32>(8u)) & vec4<u32>(255u)) - vec4<i32>(128)),
                   pack4xI8(vec4<i32>(U & vec4<u32>(255u)) - vec4<i32>(128)));
}

// word 25 of a block: the step 2^−k, 0 for an all-zero block
fn xq_step_bits(m: f32, k: i32) -> u32 {
  return select(bitcast<u32>(ldexp(1.0, -k)), 0u, m == 0.0);
}
