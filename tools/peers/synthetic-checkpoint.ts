// A text-only Llama 4 checkpoint (Llama4ForCausalLM, bf16) of one of tools/peers/mid-fixtures.json's configs with
// seeded random weights, for measuring load and speed where the fixture script (torch) is not at hand, e.g. the
// peers bench's load phases on this machine: `npm run bench -- peers --node --model DIR`. No reference: the bench
// prints no correctness column for it. Tokenizer files come from ../shared/fixtures/tiny-scout (the mid fixtures'
// vocabulary is the same size).
//   node --import tsx tools/peers/synthetic-checkpoint.ts dense-mid OUT_DIR [--layers N]
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturesDir } from '../../testing/fixtures.ts';

interface MidText {
  hidden_size: number;
  intermediate_size: number;
  intermediate_size_mlp: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  num_local_experts: number;
  moe_layers?: number[];
  interleave_moe_layer_step: number;
  initializer_range: number;
  [k: string]: unknown;
}

/** The tensors (name, shape) of a text-only checkpoint of `t` with `vocab` rows of embedding and lm_head. */
export function checkpointTensors(t: MidText, vocab: number): { name: string; shape: number[]; norm: boolean }[] {
  const H = t.hidden_size, q = t.num_attention_heads * t.head_dim, kv = t.num_key_value_heads * t.head_dim;
  const moe = new Set(t.moe_layers ?? Array.from({ length: t.num_hidden_layers }, (_, l) => l).filter((l) => (l + 1) % t.interleave_moe_layer_step === 0));
  const out = [{ name: 'model.embed_tokens.weight', shape: [vocab, H], norm: false }];
  for (let l = 0; l < t.num_hidden_layers; l++) {
    const L = `model.layers.${l}.`;
    out.push(
      { name: `${L}input_layernorm.weight`, shape: [H], norm: true },
      { name: `${L}self_attn.q_proj.weight`, shape: [q, H], norm: false },
      { name: `${L}self_attn.k_proj.weight`, shape: [kv, H], norm: false },
      { name: `${L}self_attn.v_proj.weight`, shape: [kv, H], norm: false },
      { name: `${L}self_attn.o_proj.weight`, shape: [H, q], norm: false },
      { name: `${L}post_attention_layernorm.weight`, shape: [H], norm: true },
    );
    const f = `${L}feed_forward.`;
    if (moe.has(l)) {
      const F = t.intermediate_size, E = t.num_local_experts;
      out.push(
        { name: `${f}router.weight`, shape: [E, H], norm: false },
        { name: `${f}shared_expert.gate_proj.weight`, shape: [F, H], norm: false },
        { name: `${f}shared_expert.up_proj.weight`, shape: [F, H], norm: false },
        { name: `${f}shared_expert.down_proj.weight`, shape: [H, F], norm: false },
        { name: `${f}experts.gate_up_proj`, shape: [E, H, 2 * F], norm: false },
        { name: `${f}experts.down_proj`, shape: [E, F, H], norm: false },
      );
    } else {
      const F = t.intermediate_size_mlp;
      out.push(
        { name: `${f}gate_proj.weight`, shape: [F, H], norm: false },
        { name: `${f}up_proj.weight`, shape: [F, H], norm: false },
        { name: `${f}down_proj.weight`, shape: [H, F], norm: false },
      );
    }
  }
  out.push({ name: 'model.norm.weight', shape: [H], norm: true }, { name: 'lm_head.weight', shape: [vocab, H], norm: false });
  return out;
}

/** bf16 of normal-ish values (sum of 4 uniforms) of standard deviation `std`, or 1 ± small for norms. */
function bf16Values(n: number, std: number, norm: boolean, seed: number): Uint8Array {
  const out = new Uint16Array(n);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  let s = seed >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = 0; i < n; i++) {
    const g = (next() + next() + next() + next() - 2) * Math.sqrt(3); // mean 0, sd 1
    f[0] = norm ? 1 + 0.1 * g : std * g;
    out[i] = u[0] >>> 16;
  }
  return new Uint8Array(out.buffer);
}

export function writeSyntheticCheckpoint(name: string, outDir: string, layers?: number): void {
  const mid = JSON.parse(readFileSync(fileURLToPath(new URL('./mid-fixtures.json', import.meta.url)), 'utf8')) as Record<string, { seed: number; vocab_pad: number; text: MidText }>;
  const spec = mid[name];
  if (!spec) throw new Error(`${name}: not in mid-fixtures.json (${Object.keys(mid).join(', ')})`);
  const text: MidText = { ...spec.text, ...(layers ? { num_hidden_layers: layers } : {}) };
  if (layers && text.moe_layers) text.moe_layers = text.moe_layers.filter((l) => l < layers);
  const tiny = JSON.parse(readFileSync(join(fixturesDir(), 'tiny-scout', 'model', 'config.json'), 'utf8')) as { text_config: Record<string, unknown> };
  const t = tiny.text_config;
  const vocab = spec.vocab_pad;
  const config = {
    architectures: ['Llama4ForCausalLM'],
    model_type: 'llama4_text',
    vocab_size: vocab,
    bos_token_id: t.bos_token_id,
    eos_token_id: t.eos_token_id,
    pad_token_id: t.pad_token_id,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    ...text,
    moe_layers: text.moe_layers ?? Array.from({ length: text.num_hidden_layers }, (_, l) => l).filter((l) => (l + 1) % text.interleave_moe_layer_step === 0),
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'generation_config.json']) {
    const src = join(fixturesDir(), 'tiny-scout', 'model', f);
    if (existsSync(src)) copyFileSync(src, join(outDir, f));
  }
  const tensors = checkpointTensors(text, vocab);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const x of tensors) {
    const bytes = x.shape.reduce((a, b) => a * b, 1) * 2;
    header[x.name] = { dtype: 'BF16', shape: x.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20);
  headerBytes.set(json);
  const fd = openSync(join(outDir, 'model.safetensors'), 'w');
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
    writeSync(fd, len);
    writeSync(fd, headerBytes);
    tensors.forEach((x, i) => writeSync(fd, bf16Values(x.shape.reduce((a, b) => a * b, 1), text.initializer_range, x.norm, spec.seed * 1000 + i)));
  } finally {
    closeSync(fd);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [name, out, ...rest] = process.argv.slice(2);
  if (!name || !out) throw new Error('usage: synthetic-checkpoint.ts dense-mid|moe-mid OUT_DIR [--layers N]');
  const li = rest.indexOf('--layers');
  writeSyntheticCheckpoint(name, out, li >= 0 ? Number(rest[li + 1]) : undefined);
  console.log(`${name}: ${out}`);
}
