// The memory plan on the real Scout and Maverick configs (figures of llama4-spec.md §6), on the fixtures (against
// the tensors their checkpoints actually hold), and the layer schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { parseConfig } from './config.ts';
import { kvCacheBytes, layerSchedule, memoryPlan } from './memory-plan.ts';
import { readCheckpointIndex } from './safetensors.ts';

const config = (...parts: string[]) => parseConfig(JSON.parse(readFileSync(join(fixturesDir(), ...parts), 'utf8')));
const scout = () => config('configs', 'Llama-4-Scout-17B-16E-Instruct.config.json');
const maverick = () => config('configs', 'Llama-4-Maverick-17B-128E-Instruct.config.json');
const GB = 1e9;
const round2 = (bytes: number) => Math.round((bytes / GB) * 100) / 100;

test('Scout: parameter counts and int4 (4.5 bit) bytes of spec §6', () => {
  const p = memoryPlan(scout(), 'q4');
  assert.equal(p.total.params, 108_641_793_536);
  assert.equal(p.text.params, 107_769_861_120);
  assert.equal(p.embedding.params, 1_034_485_760);
  assert.equal(p.lmHead.params, 1_034_485_760);
  assert.equal(p.attention.params, 3_019_898_880);
  assert.equal(p.sharedExperts.params, 6_039_797_760);
  assert.equal(p.denseMlp.params, 0);
  assert.equal(p.routers.params, 3_932_160);
  assert.equal(p.norms.params, 496_640);
  assert.equal(p.oneExpert.params, 125_829_120);
  assert.equal(p.oneExpert.int4Bytes, 70_778_880);
  assert.equal(p.oneExpert.int4Bytes / 2 ** 20, 67.5);
  assert.equal(p.routedExperts.params, 96_636_764_160);
  assert.equal(round2(p.routedExperts.int4Bytes), 54.36);
  assert.equal(p.nonExpertText.params, 11_133_096_960);
  assert.equal(round2(p.nonExpertText.int4Bytes), 6.26);
  assert.equal(round2(p.text.int4Bytes), 60.62);
  assert.equal(round2(p.total.int4Bytes), 61.11);
  assert.equal(p.vision.params, 850_960_896);
  assert.equal(p.projector.params, 20_971_520);
  // active per token: the non-expert part plus one expert in each of the 48 layers
  assert.equal(p.nonExpertText.params + 48 * p.oneExpert.params, 17_172_894_720);
});

test('Scout: engine storage in q4 (router, norms and vision vectors stay f32) and f32', () => {
  const q4 = memoryPlan(scout(), 'q4');
  // every expert matrix has an input dim that is a multiple of 32: stored exactly at 18 B / 32 weights
  assert.equal(q4.oneExpert.bytes, 70_778_880);
  assert.equal(q4.routedExperts.bytes, q4.routedExperts.int4Bytes);
  assert.equal(q4.routers.bytes, 3_932_160 * 4);
  assert.equal(q4.norms.bytes, 496_640 * 4);
  const quantized = q4.nonExpertText.params - 3_932_160 - 496_640;
  assert.equal(q4.nonExpertText.bytes, (quantized / 32) * 18 + (3_932_160 + 496_640) * 4);
  assert.equal(q4.nonExpertText.bytes, 6_277_591_040);
  assert.equal(q4.projector.bytes, (20_971_520 / 32) * 18);
  assert.ok(q4.vision.bytes > q4.vision.int4Bytes, 'patch/position embeddings, biases and layernorms are f32');
  const f32 = memoryPlan(scout(), 'f32');
  assert.equal(f32.weights, 'f32');
  for (const key of ['oneExpert', 'routedExperts', 'nonExpertText', 'vision', 'projector', 'total'] as const) {
    assert.equal(f32[key].bytes, f32[key].params * 4, key);
    assert.equal(f32[key].int4Bytes, q4[key].int4Bytes, key);
  }
});

test('Maverick: parameter counts of spec §6', () => {
  const p = memoryPlan(maverick(), 'q4');
  assert.equal(p.total.params, 401_583_781_376);
  assert.equal(p.text.params, 400_711_848_960);
  assert.equal(p.routedExperts.params, 386_547_056_640);
  assert.equal(round2(p.routedExperts.int4Bytes), 217.43);
  assert.equal(p.nonExpertText.params, 14_164_792_320);
  assert.equal(p.denseMlp.params, 6_039_797_760);
  assert.equal(p.oneExpert.params, 125_829_120);
  assert.equal(p.nonExpertText.params + 24 * p.oneExpert.params, 17_184_691_200);
  assert.equal(p.vision.params, 850_960_896);
  assert.equal(p.projector.params, 20_971_520);
});

test('text-only Llama4ForCausalLM: no vision tower, no projector', () => {
  const j = JSON.parse(readFileSync(join(fixturesDir(), 'configs', 'Llama-4-Scout-17B-16E-Instruct.config.json'), 'utf8'));
  const p = memoryPlan(parseConfig({ ...j.text_config, architectures: ['Llama4ForCausalLM'] }), 'q4');
  assert.equal(p.vision.params, 0);
  assert.equal(p.projector.params, 0);
  assert.equal(p.total.params, 107_769_861_120);
  assert.deepEqual(p.total, p.text);
});

test('KV cache: f32 K and V; RoPE layers keep at most one chunk', () => {
  for (const c of [scout(), maverick()]) {
    const p = memoryPlan(c, 'q4');
    assert.equal(p.kv.bytesPerTokenPerLayer, 2 * 8 * 128 * 4);
    assert.equal(p.kv.ropeBytesPerToken, 36 * 8192);
    assert.equal(p.kv.nopeBytesPerToken, 12 * 8192);
    assert.equal(p.kv.bytesPerToken, 48 * 8192);
    assert.equal(kvCacheBytes(c, 1), 48 * 8192);
    assert.equal(kvCacheBytes(c, 8192), 8192 * p.kv.bytesPerToken);
    // past one chunk only the NoPE layers grow
    assert.equal(kvCacheBytes(c, 8193), 8192 * p.kv.ropeBytesPerToken + 8193 * p.kv.nopeBytesPerToken);
    assert.equal(kvCacheBytes(c, 131072), 8192 * 294_912 + 131072 * 98_304);
  }
  // the tiny fixture: chunk 16, 3 RoPE layers + 1 NoPE, 2 kv heads × 16
  const tiny = config('tiny-scout', 'model', 'config.json');
  assert.equal(kvCacheBytes(tiny, 100), 3 * 16 * 256 + 100 * 256);
});

test('layer schedule: RoPE/NoPE, chunked/full attention, MoE/dense', () => {
  const s = layerSchedule(scout());
  assert.equal(s.length, 48);
  for (const l of s) {
    const nope = l.layer % 4 === 3;
    assert.deepEqual(l, { layer: l.layer, rope: !nope, attention: nope ? 'full' : 'chunked', ffn: 'moe' });
  }
  const m = layerSchedule(maverick());
  assert.deepEqual(m.slice(0, 4), [
    { layer: 0, rope: true, attention: 'chunked', ffn: 'dense' },
    { layer: 1, rope: true, attention: 'chunked', ffn: 'moe' },
    { layer: 2, rope: true, attention: 'chunked', ffn: 'dense' },
    { layer: 3, rope: false, attention: 'full', ffn: 'moe' },
  ]);
  assert.equal(m.filter((l) => l.ffn === 'moe').length, 24);
  assert.equal(m.filter((l) => l.attention === 'full').length, 12);
  assert.deepEqual(layerSchedule(config('tiny-maverick', 'model', 'config.json')), m.slice(0, 4));
});

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  test(`${fixture}: the plan counts exactly the tensors of the checkpoint, and q4 bytes follow the quantization rule`, async () => {
    const dir = join(fixturesDir(), fixture, 'model');
    const c = config(fixture, 'model', 'config.json');
    const tensors = [...(await readCheckpointIndex(new FsModelFiles(dir))).values()];
    let params = 0;
    let q4 = 0;
    for (const t of tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      params += n;
      // make_tiny_llama4.py quantize_model_q4: experts along their input dim (HF [E, in, out]), 2-D weights along
      // the last dim; router, vectors, position embedding, and anything whose input dim is not a multiple of 32 stay f32
      const isExpert = /experts\.(gate_up|down)_proj$/.test(t.name);
      const inDim = isExpert ? t.shape[1] : t.shape[t.shape.length - 1];
      const quantized = !t.name.includes('router') && !t.name.includes('positional_embedding') && t.shape.length >= 2 && inDim % 32 === 0;
      q4 += quantized ? (n / 32) * 18 : n * 4;
    }
    const plan = memoryPlan(c, 'q4');
    assert.equal(plan.total.params, params);
    assert.equal(plan.total.bytes, q4);
    assert.equal(memoryPlan(c, 'f32').total.bytes, params * 4);
    const textParams = tensors.filter((t) => t.name.startsWith('language_model.')).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(plan.text.params, textParams);
  });
}
