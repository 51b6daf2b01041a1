// Processor settings: the fixtures (112 px tiles, 4 tiles, 16 tokens per tile), the real Scout preprocessor config
// (336 px, 16 tiles, 144 tokens), either file missing, both missing, and malformed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../../protocol/errors.ts';
import type { ModelFiles } from '../model/safetensors.ts';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { fixturesDir } from '../../testing/fixtures.ts';
import { loadImageProcessorConfig, parseImageProcessorConfig, tokensPerTile } from './processor-config.ts';

type Json = Record<string, any>;
const readJson = (...parts: string[]): Json => JSON.parse(readFileSync(join(fixturesDir(), ...parts), 'utf8'));
const fixtureVision = { patchSize: 14, pixelShuffleRatio: 0.5, imageSize: 112 };

/** ModelFiles over an in-memory set of text files. */
function memoryFiles(files: Record<string, string>): ModelFiles {
  return {
    label: 'memory-model',
    async text(name) {
      if (!(name in files)) throw new Error(`${name} missing`);
      return files[name];
    },
    async maybeText(name) {
      return files[name] ?? null;
    },
    async range() {
      throw new Error('not used');
    },
    async size() {
      throw new Error('not used');
    },
  };
}

function assertBad(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof EngineError, `expected an EngineError, got ${String(e)}`);
    assert.equal(e.code, 'bad-model');
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('fixture models: 112 px tiles, 4 tiles, patch 14, 16 tokens per tile', async () => {
  for (const fixture of ['tiny-scout', 'tiny-maverick']) {
    const cfg = await loadImageProcessorConfig(new FsModelFiles(join(fixturesDir(), fixture, 'model')), fixtureVision);
    assert.deepEqual(
      { ...cfg, source: undefined },
      {
        tileSize: 112,
        maxTiles: 4,
        imageMean: [0.5, 0.5, 0.5],
        imageStd: [0.5, 0.5, 0.5],
        rescaleFactor: 0.00392156862745098,
        doRescale: true,
        doNormalize: true,
        resizeToMaxCanvas: false,
        patchSize: 14,
        pixelShuffleRatio: 0.5,
        tokensPerTile: 16,
        source: undefined,
      },
    );
    assert.equal(cfg.source, 'preprocessor_config.json');
  }
});

test('either file alone is enough; processor_config.json patch_size wins over vision_config', () => {
  const pre = readJson('tiny-scout', 'model', 'preprocessor_config.json');
  const proc = readJson('tiny-scout', 'model', 'processor_config.json');
  const fromProc = parseImageProcessorConfig(null, proc, { ...fixtureVision, patchSize: 99 });
  assert.equal(fromProc.source, 'processor_config.json (image_processor)');
  assert.equal(fromProc.tileSize, 112);
  assert.equal(fromProc.patchSize, 14);
  const fromPre = parseImageProcessorConfig(pre, null, { patchSize: 16, pixelShuffleRatio: 0.5 });
  assert.equal(fromPre.patchSize, 16); // from vision_config when processor_config.json is missing
  assert.equal(fromPre.tokensPerTile, 12); // (112/16)² = 49, // 4
});

test('the real Scout preprocessor config: 336 px tiles, 16 tiles, 144 tokens per tile', () => {
  const scout = readJson('configs', 'Llama-4-Scout-17B-16E-Instruct.config.json');
  const v = scout.vision_config;
  const cfg = parseImageProcessorConfig(readJson('configs', 'Llama-4-Scout-17B-16E-Instruct.preprocessor_config.json'), null, {
    patchSize: v.patch_size,
    pixelShuffleRatio: v.pixel_shuffle_ratio,
    imageSize: v.image_size,
  });
  assert.deepEqual([cfg.tileSize, cfg.maxTiles, cfg.patchSize, cfg.tokensPerTile], [336, 16, 14, 144]);
});

test('tokens per tile follow HF: (tile//patch)² // round(1/ratio²)', () => {
  assert.equal(tokensPerTile(336, 14, 0.5), 144);
  assert.equal(tokensPerTile(112, 14, 0.5), 16);
  assert.equal(tokensPerTile(448, 14, 0.5), 256);
  assert.equal(tokensPerTile(112, 14, 1), 64);
});

test('both files missing: an error naming them', async () => {
  await assert.rejects(
    loadImageProcessorConfig(memoryFiles({}), fixtureVision),
    (e: unknown) => e instanceof EngineError && /preprocessor_config\.json and processor_config\.json are both missing \(memory-model\)/.test(e.message),
  );
  await assert.rejects(
    loadImageProcessorConfig(memoryFiles({ 'processor_config.json': '{"patch_size": 14}' }), fixtureVision),
    /preprocessor_config\.json is missing and processor_config\.json has no "image_processor"/,
  );
  await assert.rejects(loadImageProcessorConfig(memoryFiles({ 'preprocessor_config.json': '{oops' }), fixtureVision), /preprocessor_config\.json is not valid JSON/);
});

test('missing fields take HF defaults; the tile size falls back to vision_config.image_size', () => {
  const cfg = parseImageProcessorConfig({}, null, { patchSize: 14, pixelShuffleRatio: 0.5, imageSize: 112 });
  assert.deepEqual([cfg.tileSize, cfg.maxTiles, cfg.rescaleFactor, cfg.resizeToMaxCanvas], [112, 16, 1 / 255, false]);
  assert.deepEqual([cfg.imageMean, cfg.imageStd], [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]);
  assertBad(() => parseImageProcessorConfig({}, null, { patchSize: 14, pixelShuffleRatio: 0.5 }), /"size" is missing/);
});

test('malformed values are bad-model errors naming the file and field', () => {
  const pre = readJson('tiny-scout', 'model', 'preprocessor_config.json');
  const with_ = (patch: Json) => () => parseImageProcessorConfig({ ...pre, ...patch }, null, fixtureVision);
  assertBad(with_({ size: { height: 112, width: 224 } }), /preprocessor_config\.json/, /square/);
  assertBad(with_({ size: { height: 0, width: 0 } }), /positive integers/);
  assertBad(with_({ size: { height: 224, width: 224 } }), /differs from vision_config\.image_size 112/);
  assertBad(with_({ max_patches: 0 }), /max_patches/);
  assertBad(with_({ image_mean: [0.5, 0.5] }), /image_mean/);
  assertBad(with_({ image_std: [0.5, 0, 0.5] }), /image_std has a zero entry/);
  assertBad(with_({ rescale_factor: -1 }), /rescale_factor/);
  assertBad(with_({ resample: 3 }), /resample 3 is not supported/);
  assertBad(() => parseImageProcessorConfig(pre, null, { patchSize: 15, pixelShuffleRatio: 0.5 }), /not a multiple of the patch size 15/);
  assertBad(() => parseImageProcessorConfig([], null, fixtureVision), /preprocessor_config\.json is not a JSON object/);
});
