// The ONNX export against the fixtures' q4 references (GGUF Q4_0 numerics, ../shared/fixtures/README.md), run with
// onnxruntime-node on the CPU and through transformers.js, which loads the exported folder as a user would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoModelForCausalLM, Tensor, env } from '@huggingface/transformers';
import { Reference } from '../../cli/reference.ts';
import { fixturesDir, removeDir } from '../../testing/fixtures.ts';
import { dequantizeQ4, quantizeQ4 } from '../../kernels/linear/q4-format.ts';
import { parseConfig, type TextConfig } from '../../worker/model/config.ts';
import { exportOnnxModel, ONNX_DATA_FILE } from './export.ts';
import { matMulNBitsWeight } from './matmul-nbits.ts';
import { readOnnxNodes } from './onnx-nodes.ts';
import { widenedMoeModel } from './wide-moe.ts';

type Feeds = Record<string, ort.Tensor>;

/**
 * onnxruntime-node's WebGPU provider brings its own Dawn, which finds no adapter on a machine without a GPU unless
 * pointed at a Vulkan driver: Debian chromium's SwiftShader, as cli/node-gpu.ts does for the engine.
 */
function useSwiftShaderWhenNoGpu(): void {
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(icd) && !existsSync('/dev/nvidia0')) process.env.VK_ICD_FILENAMES = icd;
}

/** Runs the exported decoder on `ids` at positions past.. (past: the previous run's outputs, or none). */
async function run(session: ort.InferenceSession, c: TextConfig, ids: number[], pastLen = 0, past: Feeds | null = null): Promise<Feeds> {
  const S = ids.length;
  const feeds: Feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, S]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(pastLen + S).fill(1n), [1, pastLen + S]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: S }, (_, i) => BigInt(pastLen + i)), [1, S]),
  };
  for (let l = 0; l < c.numLayers; l++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kv}`] = past?.[`present.${l}.${kv}`] ?? new ort.Tensor('float32', new Float32Array(0), [1, c.numKvHeads, 0, c.headDim]);
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

const rows = (logits: Float32Array, vocab: number, from: number, to: number) => logits.subarray(from * vocab, to * vocab);

/** Top-1 minus top-2 of each row. */
function margins(logits: Float32Array, vocab: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / vocab; r++) {
    const sorted = [...logits.subarray(r * vocab, (r + 1) * vocab)].sort((a, b) => b - a);
    out.push(sorted[0] - sorted[1]);
  }
  return out;
}

test('MatMulNBits packing holds the Q4_0 values: nibble pairs (2i, 2i+1), f16 scales widened, implicit zero point 8', () => {
  const rowsN = 3, cols = 64;
  const w = Float32Array.from({ length: rowsN * cols }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
  const expected = dequantizeQ4(quantizeQ4(w, rowsN, cols), rowsN, cols);
  const packed = matMulNBitsWeight(w, rowsN, cols);
  assert.deepEqual([packed.n, packed.k, packed.b.length, packed.scales.length], [rowsN, cols, rowsN * 2 * 16, rowsN * 2]);
  const unpacked = new Float32Array(rowsN * cols);
  for (let i = 0; i < unpacked.length; i++) {
    const byte = packed.b[i >> 1];
    unpacked[i] = Math.fround((((i & 1) === 0 ? byte & 15 : byte >> 4) - 8) * packed.scales[i >> 5]);
  }
  assert.deepEqual(unpacked, expected);
});

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  const modelDir = join(fixturesDir(), fixture, 'model');
  const c = parseConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'))).text;

  test(`${fixture}: onnxruntime-node (CPU) reproduces the q4 reference logits; decode steps with past_key_values equal the full sequence`, async () => {
    const out = mkdtempSync(join(tmpdir(), `tabscout-onnx-${fixture}-`));
    try {
      const result = await exportOnnxModel(modelDir, out);
      assert.equal(result.dataPath, null, 'a tiny model stays in one file');
      const ref = await Reference.load(join(fixturesDir(), fixture, 'reference'));
      const session = await ort.InferenceSession.create(result.onnxPath, { executionProviders: ['cpu'] });
      for (const name of ['chat', 'long']) {
        const d = maxAbsDiff((await run(session, c, ref.ids(`${name}.input_ids`))).logits.data as Float32Array, ref.f32(`${name}.q4.logits`));
        assert.ok(d <= 1e-3, `${name}: max |Δlogit| ${d}`);
      }
      // `long` split mid-chunk (37 = 2 chunks of 16 + 5), then four single-token steps that cross into the next chunk
      const ids = ref.ids('long.input_ids');
      const full = ref.f32('long.q4.logits');
      let outputs = await run(session, c, ids.slice(0, 43));
      assert.ok(maxAbsDiff(outputs.logits.data as Float32Array, rows(full, c.vocabSize, 0, 43)) <= 1e-3);
      for (let p = 43; p < 50; p++) {
        outputs = await run(session, c, [ids[p]], p, outputs);
        assert.deepEqual(outputs['present.0.key'].dims, [1, c.numKvHeads, p + 1, c.headDim]);
        const d = maxAbsDiff(outputs.logits.data as Float32Array, rows(full, c.vocabSize, p, p + 1));
        assert.ok(d <= 1e-3, `decode step at position ${p}: max |Δlogit| ${d}`);
      }
    } finally {
      removeDir(out);
    }
  });

  test(`${fixture}: onnxruntime-node's WebGPU provider (SwiftShader here) runs the export to the q4 reference logits`, async () => {
    useSwiftShaderWhenNoGpu();
    const out = mkdtempSync(join(tmpdir(), `tabscout-onnx-webgpu-${fixture}-`));
    try {
      const result = await exportOnnxModel(modelDir, out);
      const ref = await Reference.load(join(fixturesDir(), fixture, 'reference'));
      const session = await ort.InferenceSession.create(result.onnxPath, { executionProviders: ['webgpu'] });
      for (const name of ['chat', 'long']) {
        const d = maxAbsDiff((await run(session, c, ref.ids(`${name}.input_ids`))).logits.data as Float32Array, ref.f32(`${name}.q4.logits`));
        // SwiftShader's sin/cos are approximate (WGSL allows it): measured 6.6e-4 at 200 positions, 2.5e-6 on the CPU
        assert.ok(d <= 2e-3, `${name}: max |Δlogit| ${d}`);
      }
      await session.release();
    } finally {
      removeDir(out);
    }
  });

  test(`${fixture}: the TopK router form (for top-k > 1) gives the same logits as the top-1 form`, async () => {
    const out = mkdtempSync(join(tmpdir(), `tabscout-onnx-topk-${fixture}-`));
    try {
      const result = await exportOnnxModel(modelDir, out, { graph: { router: 'topk' } });
      const ref = await Reference.load(join(fixturesDir(), fixture, 'reference'));
      const session = await ort.InferenceSession.create(result.onnxPath, { executionProviders: ['cpu'] });
      const d = maxAbsDiff((await run(session, c, ref.ids('chat.input_ids'))).logits.data as Float32Array, ref.f32('chat.q4.logits'));
      assert.ok(d <= 1e-3, `max |Δlogit| ${d}`);
    } finally {
      removeDir(out);
    }
  });

  for (const device of ['cpu', 'webgpu'] as const) {
    test(`${fixture}: transformers.js loads the export (dtype q4, device ${device}) and greedy-generates the q4 reference tokens`, async () => {
      if (device === 'webgpu') useSwiftShaderWhenNoGpu();
      const out = mkdtempSync(join(tmpdir(), `tabscout-onnx-tjs-${fixture}-`));
      try {
        // external data here, so the data file and transformers.js's use_external_data_format are covered too
        await exportOnnxModel(modelDir, out, { externalData: true });
        assert.ok(readFileSync(join(out, 'onnx', ONNX_DATA_FILE)).byteLength > 0);
        env.allowRemoteModels = false;
        env.allowLocalModels = true;
        env.localModelPath = tmpdir() + '/';
        const model = await AutoModelForCausalLM.from_pretrained(out.slice(tmpdir().length + 1), { dtype: 'q4', device });
        const ref = await Reference.load(join(fixturesDir(), fixture, 'reference'));
        const prompt = ref.ids('chat.input_ids');
        const expected = ref.ids('chat.q4.generated_ids');
        const output = (await model.generate({
          input_ids: new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]),
          max_new_tokens: expected.length,
          min_new_tokens: expected.length, // as the reference: EOS cannot end it early
          do_sample: false,
        })) as Tensor;
        const generated = (output.tolist() as bigint[][])[0].slice(prompt.length).map(Number);
        // tokens agree up to the first step whose reference top-1/top-2 margin is a near tie (then they may diverge)
        const m = margins(ref.f32('chat.q4.generated_logits'), c.vocabSize);
        const clear = m.findIndex((x) => x <= 1e-2);
        const n = clear < 0 ? expected.length : clear + 1;
        assert.ok(n >= 10, `only ${n} clear steps to compare`);
        assert.deepEqual(generated.slice(0, n), expected.slice(0, n));
        await model.dispose();
      } finally {
        removeDir(out);
      }
    });
  }
}

/**
 * onnxruntime's WebGPU provider runs a node as one shader that binds each of its tensors as a storage buffer, and it
 * asks the device for the adapter's maxStorageBuffersPerShaderStage, which WebGPU lets be as low as 8 (SwiftShader
 * here: 12; an H200 through onnxruntime-node's Dawn: 16, where a 16-way Split of the router scores failed).
 */
const WEBGPU_DEFAULT_STORAGE_BUFFERS = 8;

test('a 16-expert export: no node has more than 8 tensor inputs + outputs (WebGPU\'s default storage buffers per shader)', async () => {
  const modelDir = widenedMoeModel('tiny-scout', 4);
  const out = mkdtempSync(join(tmpdir(), 'tabscout-onnx-16e-'));
  try {
    const c = parseConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'))).text;
    assert.equal(c.numExperts, 16);
    const result = await exportOnnxModel(modelDir, out);
    const nodes = readOnnxNodes(readFileSync(result.onnxPath));
    const layer0 = nodes.filter((n) => n.name.startsWith('/layers.0.ffn/') && n.opType === 'MatMulNBits');
    assert.ok(layer0.length >= 3 * 16, `layer 0 has ${layer0.length} MatMulNBits, not the 16 experts' 48 and more`);
    const tensors = (n: { inputs: string[]; outputs: string[] }) => [...n.inputs, ...n.outputs].filter((x) => x !== '').length;
    const over = nodes.filter((n) => tensors(n) > WEBGPU_DEFAULT_STORAGE_BUFFERS).map((n) => `${n.name} (${n.opType}: ${tensors(n)})`);
    assert.deepEqual(over, [], 'nodes binding more storage buffers than a WebGPU device has by default');
    assert.ok(Math.max(...nodes.map(tensors)) <= 15);
  } finally {
    removeDir(out);
    removeDir(modelDir);
  }
});

test('a 16-expert export (tiny-scout with each expert repeated 4×) runs on onnxruntime-node CPU and WebGPU (SwiftShader here) to tiny-scout\'s q4 logits', async () => {
  useSwiftShaderWhenNoGpu();
  const modelDir = widenedMoeModel('tiny-scout', 4);
  const out = mkdtempSync(join(tmpdir(), 'tabscout-onnx-16e-run-'));
  try {
    const c = parseConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'))).text;
    const result = await exportOnnxModel(modelDir, out);
    const ref = await Reference.load(join(fixturesDir(), 'tiny-scout', 'reference'));
    for (const [provider, tolerance] of [['cpu', 1e-3], ['webgpu', 2e-3]] as const) {
      const session = await ort.InferenceSession.create(result.onnxPath, { executionProviders: [provider] });
      const d = maxAbsDiff((await run(session, c, ref.ids('chat.input_ids'))).logits.data as Float32Array, ref.f32('chat.q4.logits'));
      assert.ok(d <= tolerance, `${provider}: max |Δlogit| ${d}`);
      await session.release();
    }
  } finally {
    removeDir(out);
    removeDir(modelDir);
  }
});
