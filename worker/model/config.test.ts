// config.json parsing: the fixture configs (rope_parameters form), the real Scout and Maverick configs (older
// rope_scaling + rope_theta form, attn_temperature_tuning: 4, no_rope_layers: [] derived from the interval,
// explicit moe_layers), a text-only Llama4ForCausalLM config, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../../protocol/errors.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { parseConfig } from './config.ts';

type Json = Record<string, any>;
const readJson = (...parts: string[]): Json => JSON.parse(readFileSync(join(fixturesDir(), ...parts), 'utf8'));
const scoutJson = () => readJson('configs', 'Llama-4-Scout-17B-16E-Instruct.config.json');
const maverickJson = () => readJson('configs', 'Llama-4-Maverick-17B-128E-Instruct.config.json');
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Asserts that parsing throws an EngineError('bad-model') whose message matches every pattern. */
function assertBadConfig(json: unknown, ...patterns: RegExp[]): void {
  assert.throws(
    () => parseConfig(json),
    (e: unknown) => {
      assert.ok(e instanceof EngineError, `expected an EngineError, got ${String(e)}`);
      assert.equal(e.code, 'bad-model');
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
}

test('real Scout config (rope_scaling + rope_theta form): every derived field', () => {
  const c = parseConfig(scoutJson());
  assert.equal(c.architecture, 'Llama4ForConditionalGeneration');
  assert.equal(c.textPrefix, 'language_model.');
  assert.equal(c.imageTokenIndex, 200092);
  const t = c.text;
  assert.equal(t.vocabSize, 202048);
  assert.equal(t.hiddenSize, 5120);
  assert.equal(t.intermediateSize, 8192);
  assert.equal(t.intermediateSizeMlp, 16384);
  assert.equal(t.numLayers, 48);
  assert.equal(t.numHeads, 40);
  assert.equal(t.numKvHeads, 8);
  assert.equal(t.headDim, 128);
  assert.equal(t.rmsNormEps, 1e-5);
  assert.equal(t.ropeTheta, 500000);
  assert.deepEqual(t.ropeScaling, { type: 'llama3', factor: 16, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPositionEmbeddings: 8192 });
  assert.equal(t.numExperts, 16);
  assert.equal(t.topK, 1);
  assert.deepEqual(t.isMoe, range(48).map(() => true));
  // no_rope_layers: [] → derived from the interval 4: NoPE at 3, 7, …, 47
  assert.deepEqual(range(48).filter((i) => !t.usesRope[i]), [3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47]);
  assert.equal(t.usesRope.length, 48);
  assert.equal(t.attentionChunkSize, 8192);
  assert.equal(t.useQkNorm, true);
  assert.equal(t.attnTemperatureTuning, true, 'the hub json has attn_temperature_tuning: 4 (truthy)');
  assert.equal(t.floorScale, 8192);
  assert.equal(t.attnScale, 0.1);
  assert.equal(t.maxPositionEmbeddings, 10485760);
  assert.equal(t.bosTokenId, 200000);
  assert.deepEqual(t.eosTokenIds, [200001, 200007, 200008]);
  assert.equal(t.padTokenId, 200018);
  assert.deepEqual(c.vision, {
    hiddenSize: 1408,
    numLayers: 34,
    numHeads: 16,
    intermediateSize: 5632,
    imageSize: 336,
    patchSize: 14,
    pixelShuffleRatio: 0.5,
    projectorInputDim: 4096,
    projectorOutputDim: 4096,
    visionOutputDim: 4096,
    ropeTheta: 10000,
  });
});

test('real Maverick config: MoE on odd layers, no QK norm, plain RoPE (rope_scaling: null)', () => {
  const c = parseConfig(maverickJson());
  const t = c.text;
  assert.equal(t.numExperts, 128);
  assert.deepEqual(range(48).filter((i) => t.isMoe[i]), range(24).map((i) => 2 * i + 1));
  assert.deepEqual(range(48).filter((i) => !t.usesRope[i]), range(12).map((i) => 4 * i + 3));
  assert.equal(t.useQkNorm, false);
  assert.equal(t.attnTemperatureTuning, true);
  assert.equal(t.ropeTheta, 500000);
  assert.deepEqual(t.ropeScaling, { type: 'default' });
  assert.equal(t.maxPositionEmbeddings, 1048576);
  assert.equal(t.intermediateSizeMlp, 16384);
  assert.deepEqual(t.eosTokenIds, [200001, 200007, 200008]);
  assert.equal(t.bosTokenId, 200000);
});

test('moe_layers: derived from interleave_moe_layer_step when absent; an explicit [] means all dense', () => {
  const j = maverickJson();
  delete j.text_config.moe_layers;
  assert.deepEqual(parseConfig(j).text.isMoe, range(48).map((i) => i % 2 === 1));
  j.text_config.interleave_moe_layer_step = 1;
  assert.deepEqual(parseConfig(j).text.isMoe, range(48).map(() => true));
  j.text_config.moe_layers = [];
  assert.deepEqual(parseConfig(j).text.isMoe, range(48).map(() => false));
});

test('fixture configs (rope_parameters form): tiny-scout and tiny-maverick', () => {
  const scout = parseConfig(readJson('tiny-scout', 'model', 'config.json'));
  const s = scout.text;
  assert.equal(scout.architecture, 'Llama4ForConditionalGeneration');
  assert.equal(scout.imageTokenIndex, 1043);
  assert.equal(s.vocabSize, 1088);
  assert.equal(s.hiddenSize, 64);
  assert.equal(s.numLayers, 4);
  assert.equal(s.numHeads, 4);
  assert.equal(s.numKvHeads, 2);
  assert.equal(s.headDim, 16);
  assert.equal(s.intermediateSize, 64);
  assert.equal(s.intermediateSizeMlp, 128);
  assert.equal(s.numExperts, 4);
  assert.deepEqual(s.usesRope, [true, true, true, false]);
  assert.deepEqual(s.isMoe, [true, true, true, true]);
  assert.equal(s.attentionChunkSize, 16);
  assert.equal(s.floorScale, 8);
  assert.equal(s.useQkNorm, true);
  assert.equal(s.ropeTheta, 500000);
  assert.deepEqual(s.ropeScaling, { type: 'llama3', factor: 16, lowFreqFactor: 1, highFreqFactor: 1, originalMaxPositionEmbeddings: 64 });
  assert.equal(s.bosTokenId, 1024);
  assert.deepEqual(s.eosTokenIds, [1025, 1031, 1032]);
  assert.equal(s.padTokenId, 1036);
  assert.equal(s.maxPositionEmbeddings, 512);
  assert.equal(scout.vision?.imageSize, 112);
  assert.equal(scout.vision?.hiddenSize, 32);
  assert.equal(scout.vision?.ropeTheta, 10000);

  const mav = parseConfig(readJson('tiny-maverick', 'model', 'config.json'));
  assert.deepEqual(mav.text.isMoe, [false, true, false, true]);
  assert.deepEqual(mav.text.usesRope, [true, true, true, false]);
  assert.equal(mav.text.numExperts, 8);
  assert.equal(mav.text.useQkNorm, false);
  assert.equal(mav.text.ropeTheta, 500000);
  assert.deepEqual(mav.text.ropeScaling, { type: 'default' });
});

test('layer_types of the fixture agree with the usesRope derivation', () => {
  for (const name of ['tiny-scout', 'tiny-maverick']) {
    const j = readJson(name, 'model', 'config.json');
    const t = parseConfig(j).text;
    assert.deepEqual(t.usesRope.map((r) => (r ? 'chunked_attention' : 'full_attention')), j.text_config.layer_types, name);
  }
});

test('text-only Llama4ForCausalLM config (model_type llama4_text at the top level): no vision, no prefix', () => {
  const j = { ...scoutJson().text_config, architectures: ['Llama4ForCausalLM'] };
  const c = parseConfig(j);
  assert.equal(c.architecture, 'Llama4ForCausalLM');
  assert.equal(c.textPrefix, '');
  assert.equal(c.vision, null);
  assert.equal(c.imageTokenIndex, null);
  assert.deepEqual(c.text, parseConfig(scoutJson()).text);
  // without an architectures list, model_type decides
  delete (j as Json).architectures;
  assert.equal(parseConfig(j).architecture, 'Llama4ForCausalLM');
});

test('bad input: unsupported model_type names the field and the value', () => {
  assertBadConfig({ ...scoutJson(), model_type: 'llama3' }, /model_type/, /"llama3"/);
  assertBadConfig({ architectures: ['LlamaForCausalLM'], model_type: 'llama' }, /model_type/, /"llama"/);
  const j = scoutJson();
  j.text_config.model_type = 'mistral';
  assertBadConfig(j, /text_config\.model_type/, /"mistral"/);
  assertBadConfig({ ...scoutJson(), model_type: undefined }, /model_type/);
});

test('bad input: wrong architecture names the field and the value', () => {
  assertBadConfig({ ...scoutJson(), architectures: ['LlamaForCausalLM'] }, /architectures/, /LlamaForCausalLM/, /Llama4ForConditionalGeneration/);
  assertBadConfig({ ...scoutJson().text_config, architectures: ['Llama4ForConditionalGeneration'] }, /architectures/, /Llama4ForConditionalGeneration/, /Llama4ForCausalLM/);
});

test('bad input: missing or malformed fields', () => {
  const j = scoutJson();
  delete j.text_config.hidden_size;
  assertBadConfig(j, /text_config\.hidden_size is missing/);
  const top = { ...scoutJson().text_config };
  delete top.hidden_size;
  assertBadConfig(top, /hidden_size is missing/);
  const noText = scoutJson();
  delete noText.text_config;
  assertBadConfig(noText, /text_config is missing/);
  const s = scoutJson();
  s.text_config.num_attention_heads = '40';
  assertBadConfig(s, /num_attention_heads must be a number, found "40"/);
  const r = scoutJson();
  r.text_config.rope_scaling = { rope_type: 'yarn', factor: 4 };
  assertBadConfig(r, /rope type "yarn" is not supported/);
  const n = scoutJson();
  n.text_config.no_rope_layers = [1, 1, 0];
  assertBadConfig(n, /no_rope_layers has 3 entries for 48 layers/);
  assertBadConfig(null, /not a JSON object/);
  assertBadConfig('config', /not a JSON object/);
});
