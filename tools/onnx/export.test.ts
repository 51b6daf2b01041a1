// The ONNX export against the fixtures' q4 references, run with onnxruntime-node (CPU) and with transformers.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Reference } from '../../cli/reference.ts';
import { fixturesDir, removeDir } from '../../testing/fixtures.ts';
import { exportOnnxModel } from './export.ts';
import { parseConfig } from '../../worker/model/config.ts';
import { readFileSync } from 'node:fs';

interface Feeds { [name: string]: ort.Tensor }

/** Runs the exported decoder on `ids` after `past` (null: empty cache); returns logits and the present cache. */
async function run(session: ort.InferenceSession, layers: number, kvHeads: number, headDim: number, ids: number[], pastLen: number, past: Feeds | null) {
  const S = ids.length;
  const feeds: Feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, S]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(pastLen + S).fill(1n), [1, pastLen + S]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: S }, (_, i) => BigInt(pastLen + i)), [1, S]),
  };
  for (let l = 0; l < layers; l++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kv}`] = past?.[`present.${l}.${kv}`] ?? new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    }
  }
  return (await session.run(feeds)) as Feeds;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  test(`${fixture}: onnxruntime-node runs the export to the q4 reference logits`, async () => {
    const out = mkdtempSync(join(tmpdir(), `tabscout-onnx-${fixture}-`));
    try {
      const modelDir = join(fixturesDir(), fixture, 'model');
      const result = await exportOnnxModel(modelDir, out);
      const c = parseConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'))).text;
      const ref = await Reference.load(join(fixturesDir(), fixture, 'reference'));
      const session = await ort.InferenceSession.create(result.onnxPath, { executionProviders: ['cpu'] });
      for (const name of ['chat', 'long']) {
        const ids = ref.ids(`${name}.input_ids`);
        const expected = ref.f32(`${name}.q4.logits`);
        const outputs = await run(session, c.numLayers, c.numKvHeads, c.headDim, ids, 0, null);
        const d = maxAbsDiff(outputs.logits.data as Float32Array, expected);
        console.log(fixture, name, 'max |Δ|', d);
        assert.ok(d <= 1e-3, `${name}: max |Δlogit| ${d}`);
      }
    } finally {
      removeDir(out);
    }
  });
}
