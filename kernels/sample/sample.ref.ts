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
    let above = 0;
    for (const i of order) {
      if (!kept.has(i)) continue;
      // ties share one threshold: keep every token whose strictly-larger mass is below top_p
      const strictlyAbove = order.filter((j) => kept.has(j) && l[j] > l[i]).reduce((s, j) => s + w(j), 0);
      if (strictlyAbove / z < p.topP) keep.add(i);
      above += w(i);
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
