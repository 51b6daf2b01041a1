// CPU reference of hash-fill.wgsl (one window: word i of n from seed).
import { f32ToF16Bits } from '../f16.ts';

const mul = (a: number, b: number) => Math.imul(a, b) >>> 0;

export function pcg(v: number): number {
  const s = (mul(v, 747796405) + 2891336453) >>> 0;
  const w = mul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737);
  return ((w >>> 22) ^ w) >>> 0;
}

const u01 = (h: number) => Math.fround((h >>> 8) / 16777216);
const fr = Math.fround;

export function hashFillRef(n: number, seed: number, mode: 0 | 1 | 2, amp: number): Uint32Array {
  const out = new Uint32Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const ps = pcg(seed);
  for (let i = 0; i < n; i++) {
    const h = pcg((i ^ ps) >>> 0);
    if (mode === 0) out[i] = h;
    else if (mode === 1) {
      const h2 = pcg(h);
      const a = fr(fr(amp * fr(0.1 + fr(0.9 * u01(h)))) * ((h & 1) === 1 ? -1 : 1));
      const b = fr(fr(amp * fr(0.1 + fr(0.9 * u01(h2)))) * ((h2 & 1) === 1 ? -1 : 1));
      out[i] = (f32ToF16Bits(a) | (f32ToF16Bits(b) << 16)) >>> 0;
    } else {
      f[0] = fr(fr(fr(u01(h) * 2) - 1) * amp);
      out[i] = u[0];
    }
  }
  return out;
}
