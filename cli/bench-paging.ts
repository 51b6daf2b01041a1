// npm run bench -- paging [--quick] [--json]
// Expert paging on a small synthetic Llama-4-shaped MoE whose routed experts do not fit the slot budget (4 slots of
// 16 per layer): the model bench (bench-model.ts) run resident and paged in the same process, with the check that
// both decode the same tokens. For Scout's own shapes: npm run bench -- model --config <Scout> --expert-budget-gib X.
import { parseConfig } from '../worker/model/config.ts';
import { weightBytes } from '../kernels/linear/linear.ts';
import { createNodeGpu } from './node-gpu.ts';
import { parseRouting, runModelBench } from './bench-model.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const JSON_OUT = args.includes('--json');
const log = (s: string) => (JSON_OUT ? console.error(s) : console.log(s));

const d = QUICK
  ? { hidden: 256, ffn: 512, experts: 16, layers: 4, heads: 4, kvHeads: 2, headDim: 64, vocab: 1024, slots: 4, prompt: 8, tokens: 16 }
  : { hidden: 1024, ffn: 2048, experts: 16, layers: 4, heads: 8, kvHeads: 2, headDim: 128, vocab: 8192, slots: 4, prompt: 16, tokens: 64 };

const config = parseConfig({
  architectures: ['Llama4ForCausalLM'],
  model_type: 'llama4_text',
  vocab_size: d.vocab,
  hidden_size: d.hidden,
  intermediate_size: d.ffn,
  intermediate_size_mlp: 2 * d.ffn,
  num_hidden_layers: d.layers,
  num_attention_heads: d.heads,
  num_key_value_heads: d.kvHeads,
  head_dim: d.headDim,
  num_local_experts: d.experts,
  num_experts_per_tok: 1,
  interleave_moe_layer_step: 1,
  max_position_embeddings: 4096,
});
const expertBytes = weightBytes('q4', 2 * d.ffn, d.hidden) + weightBytes('q4', d.hidden, d.ffn);
const { ctx, adapterName } = await createNodeGpu();
const report = await runModelBench(
  ctx,
  adapterName,
  {
    config,
    configName: `synthetic MoE (${d.layers} layers × ${d.experts} experts, hidden ${d.hidden}, expert FFN ${d.ffn})`,
    weights: 'q4',
    prompt: d.prompt,
    tokens: d.tokens,
    expertBudgetGiB: (d.slots * d.layers * expertBytes) / 1024 ** 3,
    routing: parseRouting('random'),
    context: null,
    alsoResident: true,
    submitEvery: null,
    kernelProfile: false,
    kernelAblation: false,
    noSpeculate: false,
    pinnedTier: false,
    structureFloor: false,
    gridFloor: [],
    kvCache: 'f32',
    sampling: null,
    quick: QUICK,
  },
  log,
);
if (report.pagedMatchesResident === false) throw new Error('paged decode produced different tokens than resident decode');
if (JSON_OUT) console.log(JSON.stringify(report));
