// Token-by-token decoding without a CPU round trip between steps. The sampled token stays on the GPU and is copied
// into the next step's input there, so step i+1 is recorded and submitted while the CPU still waits for token i's
// read-back: the GPU runs from one step into the next instead of idling for the read-back and the next step's
// recording (Scout on an H200: ~2–4 ms of ~12 ms per token, docs/PERFORMANCE.md). The cost is one step of
// speculation: when token i ends the reply (end of turn, a stop), the step already started for it is not used.
import type { Llama4Text } from './llama4.ts';

export interface DecodeLoop {
  /** position of the first sampled token (the prompt's length) */
  startPos: number;
  /** tokens to sample at most */
  count: number;
  /** the GPU buffer sample() writes the token id into (u32 at offset 0) */
  sampled: GPUBuffer;
  /** records the sampling of token i from the model's logits into `sampled` */
  sample(i: number): void;
  /** checked before each token is sampled: true stops the loop */
  stop?(): boolean;
  /** called just before token i's step is recorded (i + 1 < count), and once it is recorded */
  beforeStep?(i: number): void;
  afterStep?(i: number): void;
  /**
   * token i as read back, in order; `stepped`: its step (the forward that makes the logits of token i + 1) was
   * already recorded. Returning false ends the loop (that step's work is then not used).
   */
  take(id: number, i: number, stepped: boolean): boolean;
}

export async function decodeTokens(model: Llama4Text, loop: DecodeLoop): Promise<void> {
  const ctx = model.ctx;
  for (let i = 0; i < loop.count; i++) {
    if (loop.stop?.()) return;
    loop.sample(i);
    const read = ctx.readU32(loop.sampled, 0, 1); // submits the sampling; the read-back is awaited below
    const stepped = i + 1 < loop.count;
    if (stepped) {
      loop.beforeStep?.(i);
      await model.forward(new Uint32Array(1), loop.startPos + i, { defer: true, idsFrom: loop.sampled });
      loop.afterStep?.(i);
    }
    if (!loop.take((await read)[0], i, stepped)) return;
  }
}
