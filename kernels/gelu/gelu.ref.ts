// CPU reference for gelu(): erf by its Maclaurin series in f64 (±1 beyond |z| = 4).
function erf(z: number): number {
  if (Math.abs(z) > 4) return Math.sign(z); // erfc(4) < 2e-8; the series cancels badly beyond
  let sum = 0, term = z, n = 0;
  while (Math.abs(term) > 1e-17 * Math.abs(sum) || n < 3) {
    sum += term / (2 * n + 1);
    n++;
    term *= (-z * z) / n;
    if (n > 200) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export function geluRef(x: Float32Array): Float32Array {
  return x.map((v) => v * 0.5 * (1 + erf(v / Math.SQRT2)));
}
