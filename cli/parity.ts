// Logit comparison figures: max |Δ|, top-1 agreement, mean KL(reference ‖ engine).
export interface LogitFigures {
  maxAbsDiff: number;
  top1Agreement: number;
  klMean: number;
}

function argmax(a: Float32Array, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
  return best;
}

function logSoftmax(a: Float32Array, off: number, n: number): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, a[off + i]);
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(a[off + i] - m);
  const lz = m + Math.log(z);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[off + i] - lz;
  return out;
}

export function compareLogits(engine: Float32Array, reference: Float32Array, vocab: number): LogitFigures {
  if (engine.length !== reference.length) throw new Error(`logits have ${engine.length} values, the reference ${reference.length}`);
  const rows = reference.length / vocab;
  let maxAbsDiff = 0, agree = 0, kl = 0;
  for (let r = 0; r < rows; r++) {
    const off = r * vocab;
    for (let i = 0; i < vocab; i++) {
      const d = Math.abs(engine[off + i] - reference[off + i]);
      if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Infinity : d;
    }
    if (argmax(engine, off, vocab) === argmax(reference, off, vocab)) agree++;
    const lp = logSoftmax(reference, off, vocab), lq = logSoftmax(engine, off, vocab);
    let k = 0;
    for (let i = 0; i < vocab; i++) k += Math.exp(lp[i]) * (lp[i] - lq[i]);
    kl += k;
  }
  return { maxAbsDiff, top1Agreement: agree / rows, klMean: kl / rows };
}
