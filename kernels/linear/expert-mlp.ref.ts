// CPU reference for expert-mlp.ts: routed + shared gate+up, SwiGLU, routed + shared down (sums in f64, rounded to f32).
import { linearRef } from './linear.ref.ts';
import { swigluRef } from '../swiglu/swiglu.ref.ts';

export interface ExpertMlpRefInput {
  tokens: number;
  k: number;
  hidden: number;
  ffn: number;
  /** [slots·2F, hidden] and [slots·hidden, F]: the routed pool */
  poolGateUp: Float32Array;
  poolDown: Float32Array;
  /** [2F, hidden] and [hidden, F] */
  sharedGateUp: Float32Array;
  sharedDown: Float32Array;
  /** [tokens, hidden] */
  x: Float32Array;
  /** [tokens·k]: each routed item's slot, and the router score on its input */
  slots: Uint32Array;
  scores: Float32Array;
}

/** act: [tokens·k + tokens, F] (routed rows, then shared); out: [tokens, hidden] = shared + item (t, 0); rest: items (t, j ≥ 1). */
export function expertMlpRef(p: ExpertMlpRefInput): { act: Float32Array; out: Float32Array; rest: Float32Array } {
  const { tokens: T, k, hidden: H, ffn: F } = p;
  const routed = linearRef(p.poolGateUp, p.poolGateUp.length / H, H, p.x, T * k, { xRowDiv: k, expertIds: p.slots, rowsPerExpert: 2 * F, scores: p.scores });
  const shared = linearRef(p.sharedGateUp, 2 * F, H, p.x, T);
  const actRouted = swigluRef(routed, T * k, F);
  const actShared = swigluRef(shared, T, F);
  const act = new Float32Array((T * k + T) * F);
  act.set(actRouted);
  act.set(actShared, T * k * F);
  const out = new Float32Array(T * H);
  const rest = new Float32Array(T * (k - 1) * H);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < k; j++) {
      const n = t * k + j;
      const wBase = p.slots[n] * H;
      for (let r = 0; r < H; r++) {
        let acc = 0;
        for (let i = 0; i < F; i++) acc += p.poolDown[(wBase + r) * F + i] * actRouted[n * F + i];
        if (j === 0) {
          for (let i = 0; i < F; i++) acc += p.sharedDown[r * F + i] * actShared[t * F + i];
          out[t * H + r] = acc;
        } else {
          rest[(t * (k - 1) + j - 1) * H + r] = acc;
        }
      }
    }
  }
  return { act, out, rest };
}

/** A dense MLP: down(silu(gate(x)) · up(x)) of [tokens, hidden]. */
export function denseMlpRef(gateUp: Float32Array, down: Float32Array, hidden: number, ffn: number, x: Float32Array, tokens: number): Float32Array {
  return linearRef(down, hidden, ffn, swigluRef(linearRef(gateUp, 2 * ffn, hidden, x, tokens), tokens, ffn), tokens);
}
