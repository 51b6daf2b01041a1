// CPU reference for sampleToken(): the straightforward sort-based definition (HF's warpers: temperature, top-k,
// top-p), then the inverse-CDF pick in vocabulary order.
import type { SampleParams } from './sample.ts';

export function sampleRef(logits: Float32Array, banned: number[], p: SampleParams): number {
  const l = Array.from(logits, (v, i) => (banned.includes(i) ? -3e38 : v));
  let argmax = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[argmax]) argmax = i;
  if (p.temperature <= 0) return argmax;
  const order = l.map((_, i) => i).sort((a, b) => l[b] - l[a] || a - b);
  let kept = new Set(order);
  if (p.topK > 0 && p.topK < l.length) {
    const kth = l[order[p.topK - 1]];
    kept = new Set(order.filter((i) => l[i] >= kth));
  }
  const w = (i: number) => Math.exp((l[i] - l[argmax]) / p.temperature);
  const z = [...kept].reduce((s, i) => s + w(i), 0);
  if (p.topP < 1) {
    const keep = new Set<number>();
    // ties share one threshold: keep every token whose strictly-larger mass is below top_p; that mass is the sum, in
    // order, of the kept tokens before its run of ties
    let sum = 0;
    let strictlyAbove = 0;
    for (let n = 0; n < order.length; n++) {
      const i = order[n];
      if (!kept.has(i)) continue;
      if (n === 0 || l[i] < l[order[n - 1]]) strictlyAbove = sum;
      if (strictlyAbove / z < p.topP) keep.add(i);
      sum += w(i);
    }
    kept = keep;
  }
  const total = [...kept].reduce((s, i) => s + w(i), 0);
  const target = p.u * total;
  let run = 0;
  let chosen = argmax;
  for (let i = 0; i < l.length; i++) {
    if (!kept.has(i)) continue;
    chosen = i;
    run += w(i);
    if (run > target) break;
  }
  return chosen;
}
