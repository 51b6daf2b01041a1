// Bad input through the real loading path (GPU): a tensor missing or of the wrong shape, a truncated checkpoint,
// an unsupported model_type, and a prompt longer than the configured context. Each error says what is wrong.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { testGpu } from '../../testing/gpu.ts';
import { EngineError, type EngineErrorCode } from '../../protocol/errors.ts';
import type { SamplingOptions } from '../../protocol/api.ts';
import { ModelSession } from '../session.ts';
import { fixturesDir, readSafetensorsFile, removeDir, tempModelCopy, writeSafetensorsFile } from '../../testing/fixtures.ts';

const temps: string[] = [];
after(() => temps.forEach(removeDir));
function scoutCopy(): string {
  const dir = tempModelCopy('tiny-scout');
  temps.push(dir);
  return dir;
}

const greedy: SamplingOptions = { maxNewTokens: 2, temperature: 0, topK: 0, topP: 1, seed: 1 };

async function assertLoadFails(dir: string, code: EngineErrorCode, ...patterns: RegExp[]): Promise<void> {
  const ctx = await testGpu();
  await assert.rejects(ModelSession.load(ctx, new FsModelFiles(dir), { weights: 'f32' }), (e: unknown) => {
    assert.ok(e instanceof EngineError, `expected an EngineError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('a tensor missing from model.safetensors: the error names it', { timeout: 60_000 }, async () => {
  const dir = scoutCopy();
  const path = join(dir, 'model.safetensors');
  const missing = 'language_model.model.layers.2.self_attn.k_proj.weight';
  writeSafetensorsFile(path, readSafetensorsFile(path).filter((t) => t.name !== missing));
  await assertLoadFails(dir, 'bad-model', /tensor language_model\.model\.layers\.2\.self_attn\.k_proj\.weight is missing/);
});

test('a tensor of the wrong shape: the error names it with the expected and found shapes', { timeout: 60_000 }, async () => {
  const dir = scoutCopy();
  const path = join(dir, 'model.safetensors');
  const name = 'language_model.model.layers.1.feed_forward.experts.down_proj'; // [4, 64, 64]
  const tensors = readSafetensorsFile(path).map((t) => (t.name === name ? { ...t, shape: [4, 32, 64], data: t.data.subarray(0, t.data.byteLength / 2) } : t));
  writeSafetensorsFile(path, tensors);
  await assertLoadFails(dir, 'bad-model', /tensor language_model\.model\.layers\.1\.feed_forward\.experts\.down_proj/, /shape \[4, 32, 64\]/, /expected \[4, 64, 64\]/);
  // same element count, transposed: still the wrong shape
  const q = 'language_model.model.layers.0.self_attn.k_proj.weight'; // [32, 64]
  writeSafetensorsFile(path, readSafetensorsFile(join(fixturesDir(), 'tiny-scout', 'model', 'model.safetensors')).map((t) => (t.name === q ? { ...t, shape: [64, 32] } : t)));
  await assertLoadFails(dir, 'bad-model', /tensor language_model\.model\.layers\.0\.self_attn\.k_proj\.weight/, /shape \[64, 32\]/, /expected \[32, 64\]/);
});

test('a weight stored with an integer dtype: the error names the tensor and the dtype', { timeout: 60_000 }, async () => {
  const dir = scoutCopy();
  const path = join(dir, 'model.safetensors');
  const name = 'language_model.model.norm.weight'; // [64] BF16
  writeSafetensorsFile(path, readSafetensorsFile(path).map((t) => (t.name === name ? { ...t, dtype: 'I32', data: new Uint8Array(64 * 4) } : t)));
  await assertLoadFails(dir, 'bad-model', /tensor language_model\.model\.norm\.weight/, /dtype I32/, /BF16, F16 or F32/);
});

test('a truncated model.safetensors: an error naming the tensor, not a hang', { timeout: 60_000 }, async () => {
  const dir = scoutCopy();
  const path = join(dir, 'model.safetensors');
  const full = readFileSync(path);
  writeFileSync(path, full.subarray(0, Math.floor(full.length * 0.7)));
  await assertLoadFails(dir, 'bad-model', /model\.safetensors/, /tensor \S+ ends at byte/, /truncated/);
  writeFileSync(path, full.subarray(0, 64));
  await assertLoadFails(dir, 'bad-model', /model\.safetensors/, /truncated/);
});

test('config.json with model_type "llama3": the error names the field and the value', { timeout: 60_000 }, async () => {
  const dir = scoutCopy();
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'llama3', architectures: ['LlamaForCausalLM'] }));
  await assertLoadFails(dir, 'bad-model', /model_type/, /"llama3"/);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['MistralForCausalLM'] }));
  await assertLoadFails(dir, 'bad-model', /architectures/, /MistralForCausalLM/);
});

test('a prompt longer than the configured context: EngineError context-too-long', { timeout: 120_000 }, async () => {
  const ctx = await testGpu();
  const dir = scoutCopy();
  const session = await ModelSession.load(ctx, new FsModelFiles(dir), { weights: 'f32', contextLength: 16 });
  try {
    const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
    const tokens: number[] = [];
    await assert.rejects(session.generate(ids, greedy, (t) => tokens.push(t.tokenId)), (e: unknown) => {
      assert.ok(e instanceof EngineError, `expected an EngineError, got ${String(e)}`);
      assert.equal(e.code, 'context-too-long');
      assert.match(e.message, /20 tokens/);
      assert.match(e.message, /context is 16/);
      return true;
    });
    assert.deepEqual(tokens, [], 'nothing generated');
    // the session is still usable with a prompt that fits
    const ok = await session.generate(ids.slice(0, 8), greedy, () => {});
    assert.equal(ok.tokenIds.length, 2);
  } finally {
    session.destroy();
  }
});
