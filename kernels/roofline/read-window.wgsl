// The grid-stride streaming read of roofline.wgsl and grid-read.wgsl (included by both): thread `gid` of `G` sums the
// vec4s src[first + i], i = gid, gid + G, gid + 2G, … < n, issuing 4 independent 16-byte loads per iteration (i, i+G,
// i+2G, i+3G) so that many loads are in flight. Uses the including kernel's module-scope `src: array<vec4<u32>>`.
fn read_window(first: u32, n: u32, gid: u32, G: u32) -> vec4<u32> {
  var acc = vec4<u32>(0u);
  var i = gid;
  // i + 3G < n written so it cannot overflow u32
  while (i < n && n - i > 3u * G) {
    let a = src[first + i];
    let b = src[first + i + G];
    let c = src[first + i + 2u * G];
    let d = src[first + i + 3u * G];
    acc += (a + b) + (c + d);
    i += 4u * G;
  }
  while (i < n) {
    acc += src[first + i];
    i += G;
  }
  return acc;
}
