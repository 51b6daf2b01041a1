// CPU reference for fmaRoofline(): the value thread `thread` writes (plain multiply-add; the GPU may fuse, so compare
// with a tolerance).
export function fmaRooflineRef(thread: number, iterations: number): number {
  const m = 0.9990234375, c = 0.0009765625;
  let total = 0;
  for (let k = 0; k < 8; k++) {
    for (let lane = 0; lane < 4; lane++) {
      let a = Math.fround((thread & 1023) / 1024 + lane * 0.03125 + k * 0.125);
      for (let i = 0; i < iterations; i++) a = Math.fround(Math.fround(a * m) + c);
      total += a;
    }
  }
  return total;
}
