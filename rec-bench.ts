import { createNodeGpu } from './cli/node-gpu.ts';
import { loadConfig } from './cli/bench-model.ts';
import { syntheticTextWeights } from './cli/synthetic-model.ts';
import { createRunState, Llama4Text } from './worker/model/llama4.ts';
const { ctx } = await createNodeGpu();
const config = loadConfig('/tmp/scout-narrow.json', null);
const c = config.text;
const { weights } = await syntheticTextWeights(ctx, config, 'q4', c.numExperts, 1, false);
const state = createRunState(ctx, c, 256);
const model = new Llama4Text(ctx, c, weights, state);
model.submitEveryLayers = 0;
for (let i = 0; i < 30; i++) {
  const d0 = ctx.dispatchCount;
  const t0 = performance.now();
  await model.forward(Uint32Array.of(5), i, { defer: true });
  const t1 = performance.now();
  ctx.flush();
  await ctx.device.queue.onSubmittedWorkDone();
  if (i > 2) console.log(`record ${(t1 - t0).toFixed(2)} ms for ${ctx.dispatchCount - d0} dispatches = ${((t1 - t0) * 1000 / (ctx.dispatchCount - d0)).toFixed(2)} µs each`);
}
process.exit(0);
