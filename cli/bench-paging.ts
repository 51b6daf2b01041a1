// npm run bench -- paging [--quick] [--json]
// Expert paging on a synthetic Llama-4-shaped MoE whose routed experts do not fit the slot budget: decode speed
// with paged experts against the same model with every expert resident, measured in the same run, plus hit rate,
// next-layer prediction accuracy, time spent waiting for expert reads per token and bytes paged in.
// The backing tier here is RAM (Node has no IndexedDB); the store's read throughput is measured in the browser.
import { createNodeGpu } from './node-gpu.ts';
import { parseTextConfig, type ModelConfig } from '../worker/model/config.ts';
import { keys, formatFor, type EngineTensor } from '../worker/model/engine-tensors.ts';
import { loadTextWeights, residentExperts, destroyTextWeights } from '../worker/model/weights.ts';
import { createRunState, destroyRunState, Llama4Text } from '../worker/model/llama4.ts';
import { ExpertPager, RamExperts } from '../worker/pager/pager.ts';
import { sampleToken } from '../kernels/sample/sample.ts';
import type { WeightFormat } from '../kernels/linear/weight-format.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const JSON_OUT = args.includes('--json');
const log = (s: string) => (JSON_OUT ? console.error(s) : console.log(s));

const dims = QUICK
  ? { hidden: 256, ffn: 512, experts: 16, layers: 4, heads: 4, kvHeads: 2, headDim: 64, vocab: 1024, slots: 4, prompt: 8, tokens: 16 }
  : { hidden: 1024, ffn: 2048, experts: 16, layers: 4, heads: 8, kvHeads: 2, headDim: 128, vocab: 8192, slots: 4, prompt: 16, tokens: 64 };

function syntheticConfig(): ModelConfig {
  const text = parseTextConfig({
    model_type: 'llama4_text',
    vocab_size: dims.vocab,
    hidden_size: dims.hidden,
    intermediate_size: dims.ffn,
    intermediate_size_mlp: 2 * dims.ffn,
    num_hidden_layers: dims.layers,
    num_attention_heads: dims.heads,
    num_key_value_heads: dims.kvHeads,
    head_dim: dims.headDim,
    num_local_experts: dims.experts,
    num_experts_per_tok: 1,
    interleave_moe_layer_step: 1,
    max_position_embeddings: 4096,
  });
  return { architecture: 'Llama4ForCausalLM', text, vision: null, imageTokenIndex: null, textPrefix: '' };
}

/** A seeded stream of random weights in the engine's layout (the same keys as engineTensors). */
async function* syntheticTensors(config: ModelConfig, mode: WeightFormat): AsyncGenerator<EngineTensor> {
  const c = config.text, H = c.hiddenSize, F = c.intermediateSize;
  let seed = 12345;
  const random = (n: number, scale: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      a[i] = ((seed / 4294967296) * 2 - 1) * scale;
    }
    return a;
  };
  const lin = (key: string, rows: number, cols: number, f32 = false): EngineTensor => ({
    key,
    kind: 'linear',
    parts: [{ part: 'weight', format: f32 ? 'f32' : formatFor(mode, cols), rows, cols, data: random(rows * cols, 1 / Math.sqrt(cols)) }],
  });
  const vec = (key: string): EngineTensor => ({ key, kind: 'vector', parts: [{ part: 'weight', format: 'f32', rows: 1, cols: H, data: new Float32Array(H).fill(1) }] });
  yield lin(keys.embed, c.vocabSize, H);
  for (let l = 0; l < c.numLayers; l++) {
    yield vec(keys.inputNorm(l));
    yield lin(keys.attention(l, 'q'), c.numHeads * c.headDim, H);
    yield lin(keys.attention(l, 'k'), c.numKvHeads * c.headDim, H);
    yield lin(keys.attention(l, 'v'), c.numKvHeads * c.headDim, H);
    yield lin(keys.attention(l, 'o'), H, c.numHeads * c.headDim);
    yield vec(keys.postAttentionNorm(l));
    yield lin(keys.router(l), c.numExperts, H, true);
    yield lin(keys.shared(l, 'gate_up'), 2 * F, H);
    yield lin(keys.shared(l, 'down'), H, F);
    for (let e = 0; e < c.numExperts; e++) {
      yield {
        key: keys.expert(l, e),
        kind: 'expert',
        layer: l,
        expert: e,
        parts: [
          { part: 'gate_up', format: formatFor(mode, H), rows: 2 * F, cols: H, data: random(2 * F * H, 1 / Math.sqrt(H)) },
          { part: 'down', format: formatFor(mode, F), rows: H, cols: F, data: random(H * F, 1 / Math.sqrt(F)) },
        ],
      };
    }
  }
  yield vec(keys.norm);
  yield lin(keys.lmHead, c.vocabSize, H);
}

async function main(): Promise<void> {
  const { ctx, adapterName } = await createNodeGpu();
  const config = syntheticConfig();
  const c = config.text;
  const expertBytes = 3 * c.hiddenSize * c.intermediateSize * (18 / 32);
  log(`adapter: ${adapterName}`);
  log(`synthetic MoE: ${c.numLayers} layers × ${c.numExperts} experts, hidden ${c.hiddenSize}, expert FFN ${c.intermediateSize}, q4`);
  log(`routed experts ${((expertBytes * c.numExperts * c.numLayers) / 2 ** 20).toFixed(1)} MiB; paged budget ${dims.slots} slots per layer = ${((expertBytes * dims.slots * c.numLayers) / 2 ** 20).toFixed(1)} MiB`);
  const out = ctx.createBuffer(4, 'token');
  const run = async (paged: boolean) => {
    const pager = paged ? new ExpertPager(ctx, dims.slots, new RamExperts()) : null;
    const weights = await loadTextWeights(ctx, config, syntheticTensors(config, 'q4'), pager ?? residentExperts(c.numExperts, ctx));
    const state = createRunState(ctx, c, dims.prompt + dims.tokens + 1);
    const model = new Llama4Text(ctx, c, weights, state, pager);
    const prompt = Uint32Array.from({ length: dims.prompt }, (_, i) => (i * 7919) % c.vocabSize);
    await model.forward(prompt, 0);
    const ids: number[] = [];
    let t0 = 0;
    for (let i = 0; i < dims.tokens; i++) {
      sampleToken(ctx, state.logits, 0, c.vocabSize, null, 0, out, { temperature: 0, topK: 0, topP: 1, u: 0 });
      const id = (await ctx.readU32(out, 0, 1))[0];
      ids.push(id);
      if (i === 0) {
        t0 = performance.now();
        if (pager) Object.assign(pager.stats, { hits: 0, misses: 0, bytesRead: 0, stallMs: 0 });
      }
      if (i + 1 < dims.tokens) await model.forward(Uint32Array.of(id), dims.prompt + i);
    }
    const seconds = (performance.now() - t0) / 1000;
    const result = { tokensPerSecond: (dims.tokens - 1) / seconds, ids, stats: pager ? { ...pager.stats } : null };
    destroyTextWeights(weights);
    destroyRunState(state);
    return result;
  };
  const resident = await run(false);
  const paged = await run(true);
  if (paged.ids.some((v, i) => v !== resident.ids[i])) throw new Error('paged decode produced different tokens than resident decode');
  const s = paged.stats!;
  const decoded = dims.tokens - 1;
  const report = {
    adapter: adapterName,
    resident_tok_s: resident.tokensPerSecond,
    paged_tok_s: paged.tokensPerSecond,
    paged_vs_resident: paged.tokensPerSecond / resident.tokensPerSecond,
    hit_rate: s.hits / (s.hits + s.misses),
    prefetch_accuracy: s.prefetchAccuracy,
    stall_ms_per_token: s.stallMs / decoded,
    paged_in_mib_per_token: s.bytesRead / decoded / 2 ** 20,
  };
  log(`resident: ${report.resident_tok_s.toFixed(2)} tok/s; paged: ${report.paged_tok_s.toFixed(2)} tok/s (${(100 * report.paged_vs_resident).toFixed(1)} % of resident)`);
  log(`hit rate ${(100 * report.hit_rate).toFixed(1)} %, next-layer prediction ${(100 * (report.prefetch_accuracy ?? 0)).toFixed(1)} %, stall ${report.stall_ms_per_token.toFixed(3)} ms/token, paged in ${report.paged_in_mib_per_token.toFixed(2)} MiB/token; same tokens as resident: yes`);
  if (JSON_OUT) console.log(JSON.stringify(report));
}

await main();
