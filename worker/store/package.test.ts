// A converted package loads into exactly the model the checkpoint loads into: the same tensors (q4 already
// quantized), bit-identical logits and image features, on both fixtures in both weight modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeGpu } from '../../cli/node-gpu.ts';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { convertCheckpoint } from '../../cli/convert.ts';
import { Reference } from '../../cli/reference.ts';
import { quantizeQ4 } from '../../kernels/linear/q4-format.ts';
import { parseConfig } from '../model/config.ts';
import { engineTensors } from '../model/engine-tensors.ts';
import { ModelSession } from '../session.ts';
import { fixturesDir, removeDir } from '../../testing/fixtures.ts';
import { openPackage } from './package.ts';
import { storeTensors } from './reader.ts';
import { loadSessionFromPackage } from './session.ts';

const gpu = createNodeGpu(); // one device for the file: pipelines compile once

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  for (const weights of ['q4', 'f32'] as const) {
    test(`${fixture} ${weights}: a converted package (split records) loads to bit-identical tensors, logits and image features`, async () => {
      const dir = join(fixturesDir(), fixture);
      const out = mkdtempSync(join(tmpdir(), `tabscout-pkg-${fixture}-`));
      try {
        const manifest = await convertCheckpoint(join(dir, 'model'), out, { weights, maxRecordBytes: 8192 });
        assert.ok(manifest.records.some((r) => r.key.startsWith('embed_tokens@')), 'the embedding is split into records');

        // tensors: the package's are engineTensors' (quantized once, here or at upload)
        const files = new FsModelFiles(join(dir, 'model'));
        const config = parseConfig(JSON.parse(await files.text('config.json')));
        const pkg = await openPackage(new FsModelFiles(out));
        const stored = storeTensors(pkg.manifest, pkg.read);
        for await (const t of engineTensors(files, config, weights)) {
          const s = (await stored.next()).value!;
          assert.equal(s.key, t.key);
          t.parts.forEach((p, i) => {
            const q = s.parts[i];
            assert.deepEqual([q.part, q.format, q.rows, q.cols], [p.part, p.format, p.rows, p.cols], t.key);
            if (p.format === 'q4') {
              assert.ok(!(q.data instanceof Float32Array), `${t.key}: a package gives q4 data quantized`);
              const want = quantizeQ4(p.data as Float32Array, p.rows, p.cols);
              assert.deepEqual(q.data.qs, want.qs, `${t.key} qs`);
              assert.deepEqual(q.data.scales, want.scales, `${t.key} scales`);
            } else {
              assert.deepEqual(q.data, p.data, t.key);
            }
          });
        }
        assert.equal((await stored.next()).done, true);

        const { ctx } = await gpu;
        const ref = await Reference.load(join(dir, 'reference'));
        const a = await ModelSession.load(ctx, files, { weights, contextLength: 256 });
        const b = await loadSessionFromPackage(ctx, new FsModelFiles(out), { contextLength: 256 });
        try {
          assert.equal(b.weightMode, weights);
          assert.equal(b.weights.gpuBytes, a.weights.gpuBytes);
          const ids = ref.ids('chat.input_ids');
          const la = await a.logitsFor(ids);
          const lb = await b.logitsFor(ids);
          const at = la.findIndex((v, i) => !Object.is(v, lb[i]));
          assert.equal(at, -1, `chat: logits differ at ${at}`);
          // the vision tower, kept as the checkpoint has it, encodes a tile to the same features
          assert.ok(a.vision && b.vision, 'both sessions have the vision tower');
          assert.equal(b.vision.weights.gpuBytes, a.vision.weights.gpuBytes);
          const pixels = ref.f32('image_wide.pixel_values');
          const tile = pixels.subarray(0, pixels.length / ref.shape('image_wide.pixel_values')[0]);
          a.vision.encoder.encodeTile(tile);
          const fa = await ctx.readF32(a.vision.encoder.features);
          b.vision.encoder.encodeTile(tile);
          const fb = await ctx.readF32(b.vision.encoder.features);
          assert.equal(fa.findIndex((v, i) => !Object.is(v, fb[i])), -1, 'image features differ');
          assert.equal(b.tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }]), a.tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }]));
        } finally {
          a.destroy();
          b.destroy();
        }
      } finally {
        removeDir(out);
      }
    });
  }
}

test('a package whose record file belongs to another conversion, or is damaged, is refused by name', async () => {
  const dir = join(fixturesDir(), 'tiny-scout', 'model');
  const one = mkdtempSync(join(tmpdir(), 'tabscout-pkg-a-'));
  const two = mkdtempSync(join(tmpdir(), 'tabscout-pkg-b-'));
  try {
    const a = await convertCheckpoint(dir, one, { weights: 'q4' });
    await convertCheckpoint(dir, two, { weights: 'f32' });
    const entry = a.records.find((r) => r.key === 'norm')!;
    // same key, other model (f32 conversion): the header's digest differs
    writeFileSync(join(one, entry.file!), readFileSync(join(two, entry.file!)));
    const pkg = await openPackage(new FsModelFiles(one));
    await assert.rejects(pkg.read(entry), (e: Error & { code?: string }) => e.code === 'bad-model' && /records\/norm\.bin belongs to a different model/.test(e.message));
    // a flipped payload byte: the hash check names the file
    const q = a.records.find((r) => r.key === 'layers.0.attention.q')!;
    const bytes = readFileSync(join(one, q.file!));
    bytes[600] ^= 0x40;
    writeFileSync(join(one, q.file!), bytes);
    await assert.rejects(pkg.read(q), /records\/layers\.0\.attention\.q\.bin fails its SHA-256 check/);
  } finally {
    removeDir(one);
    removeDir(two);
  }
});
