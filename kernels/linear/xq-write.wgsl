// Writing one block of x in integer form (xq-block.wgsl) from the 8 threads that hold it, for quantize-x.wgsl,
// add-norm.wgsl and the decode attention (its output, o_proj's input), after xq_block_reduce (xq-reduce.wgsl, or
// xq-reduce-subgroups.wgsl with subgroups); the including kernel declares the output
// `var<storage, read_write> xq: array<u32>`.

// Block `block` of x into xq: v holds its elements 4·(lid % 8) .. + 3. live is the same for the 8 threads of a block
// (false: no block, nothing written). Call in uniform control flow.
fn xq_write(block: u32, lid: u32, v: vec4<f32>, live: bool) {
  let a = abs(v);
  let m = bitcast<f32>(xq_block_reduce(lid, bitcast<u32>(max(max(a.x, a.y), max(a.z, a.w))), true));
  let k = xq_exponent(m);
  let X = vec4<i32>(round(v * ldexp(1.0, k)));
  let sum = xq_block_reduce(lid, bitcast<u32>(X.x + X.y + X.z + X.w), false);
  if (!live) { return; }
  let planes = xq_planes(X);
  let part = lid % 8u;
  let o = block * 28u;
  xq[o + part] = planes.x;
  xq[o + 8u + part] = planes.y;
  xq[o + 16u + part] = planes.z;
  if (part == 0u) {
    xq[o + 24u] = sum;
    xq[o + 25u] = xq_step_bits(m, k);
    xq[o + 26u] = 0u;
    xq[o + 27u] = 0u;
  }
}
