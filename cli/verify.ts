// npm run verify -- --model <model-dir> --reference <reference-dir> --weights f32|q4 [--expert-slots N] [--gpu-kernels] [--json]
// --gpu-kernels: the kernel variants real GPUs run (tiled GEMM prefill, workgroup reductions) even on a CPU adapter
// (SwiftShader picks its thread-per-row variants by default), so they are checked against the reference here too.
// Runs every case of a fixture's cases.json through the engine (Node + WebGPU) and compares with Hugging Face:
// logits and greedy tokens of every case that has them (image cases through the vision tower), the image cases'
// preprocessing and prompt layout, and the vision tower's features where the reference has them.
import { parseArgs } from 'node:util';
import { createNodeGpu, releaseNodeGpu } from './node-gpu.ts';
import { GpuContext } from '../kernels/runtime.ts';
import { FsModelFiles } from './fs-model-files.ts';
import { Reference } from './reference.ts';
import { compareLogits } from './parity.ts';
import { ModelSession } from '../worker/session.ts';
import { LoadTimings } from '../worker/load-timings.ts';
import type { WeightFormat } from '../kernels/linear/weight-format.ts';
import { imageKey } from '../worker/chat-input.ts';
import { maxAbsDiff } from '../testing/gpu.ts';
import { decodePng } from '../worker/image/png.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

const MAX_ABS_DIFF = 1e-3;

interface CaseReport {
  name: string;
  template_match: boolean | null;
  input_ids_match: boolean | null;
  max_abs_diff: number | null;
  top1_agreement: number | null;
  kl_mean: number | null;
  greedy_match: boolean | null;
  /** the engine's greedy tokens (where the reference has generated_ids) */
  greedy_ids?: number[];
  pixel_values_max_abs_diff?: number;
  pixel_values_mean_abs_diff?: number;
  /** max |Δ| of the vision adapter's output and of the projected features, per tile as HF computes them */
  vision_features_max_abs_diff?: number;
  projected_features_max_abs_diff?: number;
  skipped?: string;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      reference: { type: 'string' },
      weights: { type: 'string', default: 'f32' },
      'expert-slots': { type: 'string' },
      'gpu-kernels': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      // no effect: image cases always run through the vision tower (kept so that older command lines still work)
      vision: { type: 'boolean', default: false },
    },
  });
  if (!values.model || !values.reference) {
    throw new Error('usage: npm run verify -- --model <model-dir> --reference <reference-dir> --weights f32|q4 [--expert-slots N] [--gpu-kernels] [--json]');
  }
  const weights = values.weights as WeightFormat;
  if (weights !== 'f32' && weights !== 'q4') throw new Error(`--weights must be f32 or q4, got ${values.weights}`);
  if (values['expert-slots'] !== undefined && !(Number(values['expert-slots']) >= 1)) throw new Error('--expert-slots must be a positive integer');
  const log = (s: string) => (values.json ? console.error(s) : console.log(s));

  const gpu = await createNodeGpu();
  const ctx = values['gpu-kernels'] ? new GpuContext(gpu.ctx.device, { cpuKernels: false, integerDot: gpu.ctx.integerDot }) : gpu.ctx;
  const adapterName = gpu.adapterName + (values['gpu-kernels'] && gpu.ctx.cpuKernels ? ' (GPU kernel variants forced)' : '');
  const reference = await Reference.load(values.reference);
  const files = new FsModelFiles(values.model);
  log(`adapter: ${adapterName}`);
  const longest = Math.max(...reference.cases.map((c) => (reference.has(`${c.name}.input_ids`) ? reference.shape(`${c.name}.input_ids`)[0] : 0)));
  const genLongest = Math.max(0, ...reference.cases.map((c) => (reference.has(`${c.name}.generated_ids`) ? reference.shape(`${c.name}.generated_ids`)[0] : 0)));
  const expertSlots = values['expert-slots'] !== undefined ? Number(values['expert-slots']) : undefined;
  // a large checkpoint (Scout width: ~22 GB) reports its loading every 10 % (to stderr with --json)
  const loadStart = performance.now();
  const timings = new LoadTimings();
  const seconds = () => ((performance.now() - loadStart) / 1000).toFixed(1);
  let nextTenth = 1;
  const onProgress = (loaded: number, total: number) => {
    if (total < 2 ** 30 || loaded < (nextTenth * total) / 10) return;
    log(`  loading: ${Math.floor((loaded / total) * 100)} % of ${(total / 1e9).toFixed(2)} GB read, ${seconds()} s`);
    nextTenth = Math.floor((loaded / total) * 10) + 1;
  };
  const session = await ModelSession.load(ctx, files, { weights, contextLength: longest + genLongest + 1, expertSlots, onProgress, timings });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const phases = Object.fromEntries(Object.entries(timings.ms).map(([k, ms]) => [k, Math.round(ms) / 1000]));
  log(`loaded in ${loadSeconds.toFixed(1)} s: ${(session.weights.gpuBytes / 1e9).toFixed(2)} GB of ${weights} text weights on the GPU; phases (s) ${JSON.stringify(phases)}`);
  const vocab = session.config.text.vocabSize;
  const tag = weights === 'q4' ? '.q4' : '';
  const reports: CaseReport[] = [];

  for (const c of reference.cases) {
    const r: CaseReport = { name: c.name, template_match: null, input_ids_match: null, max_abs_diff: null, top1_agreement: null, kl_mean: null, greedy_match: null };
    if (c.messages && c.prompt !== undefined) {
      r.template_match = session.tokenizer.applyChatTemplate(c.messages, c.add_generation_prompt ?? true) === c.prompt;
    }
    const refIds = reference.ids(`${c.name}.input_ids`);
    if (c.image) {
      if (!session.vision) {
        r.skipped = 'the model has no vision tower';
        reports.push(r);
        continue;
      }
      // preprocessing and prompt layout from the case's PNG, as the app does it
      const bytes = await readFile(join(values.reference, c.image));
      const image = await session.image(await imageKey(bytes), async () => decodePng(bytes, inflateSync));
      const prompt = session.prompt([{ role: 'user', content: textOf(c), images: [image] }]);
      r.input_ids_match = prompt.ids.length === refIds.length && prompt.ids.every((v, i) => v === refIds[i]);
      const refPixels = reference.f32(`${c.name}.pixel_values`);
      const ours = await image.pixels();
      if (ours.length === refPixels.length) {
        let max = 0, sum = 0;
        for (let i = 0; i < ours.length; i++) {
          const d = Math.abs(ours[i] - refPixels[i]);
          max = Math.max(max, d);
          sum += d;
        }
        r.pixel_values_max_abs_diff = max;
        r.pixel_values_mean_abs_diff = sum / ours.length;
      } else {
        r.pixel_values_max_abs_diff = Infinity;
        r.pixel_values_mean_abs_diff = Infinity;
      }
    }
    // image cases run the vision tower on the reference pixel_values, so it is tested apart from the resize
    const images = c.image ? [{ pixelValues: reference.f32(`${c.name}.pixel_values`), tiles: reference.shape(`${c.name}.pixel_values`)[0] }] : [];
    if (c.image && reference.has(`${c.name}${tag}.vision_features`)) {
      const features = await visionFeatures(session, images[0].pixelValues, images[0].tiles);
      r.vision_features_max_abs_diff = maxAbsDiff(features.vision, reference.f32(`${c.name}${tag}.vision_features`));
      r.projected_features_max_abs_diff = maxAbsDiff(features.projected, reference.f32(`${c.name}${tag}.projected_features`));
    }
    if (c.prompt !== undefined && !c.image) {
      const ids = session.tokenizer.encode(c.prompt);
      r.input_ids_match = ids.length === refIds.length && ids.every((v, i) => v === refIds[i]);
    }
    if (reference.has(`${c.name}${tag}.logits`)) {
      // a reference may keep only the logits of its last rows (to stay small): compare those rows
      const all = await session.logitsFor(refIds, { images });
      const ref = reference.f32(`${c.name}${tag}.logits`);
      const figures = compareLogits(ref.length < all.length ? all.subarray(all.length - ref.length) : all, ref, vocab);
      r.max_abs_diff = figures.maxAbsDiff;
      r.top1_agreement = figures.top1Agreement;
      r.kl_mean = figures.klMean;
    }
    if (reference.has(`${c.name}${tag}.generated_ids`)) {
      const expected = reference.ids(`${c.name}${tag}.generated_ids`);
      const result = await session.generate(refIds, { maxNewTokens: expected.length, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true }, () => {}, () => false, { images, reuse: false });
      r.greedy_match = result.tokenIds.length === expected.length && result.tokenIds.every((v, i) => v === expected[i]);
      r.greedy_ids = [...result.tokenIds];
      if (!r.greedy_match) log(`  ${c.name}: greedy ${JSON.stringify(result.tokenIds)}\n  expected ${JSON.stringify(expected)}`);
    }
    reports.push(r);
    if (r.pixel_values_max_abs_diff !== undefined) log(`  ${c.name}: pixel_values max |Δ| ${r.pixel_values_max_abs_diff}, mean |Δ| ${r.pixel_values_mean_abs_diff}`);
    if (r.vision_features_max_abs_diff !== undefined) log(`  ${c.name}: vision_features max |Δ| ${r.vision_features_max_abs_diff.toExponential(3)}, projected_features max |Δ| ${r.projected_features_max_abs_diff!.toExponential(3)}`);
    log(`${c.name}: template_match=${r.template_match} input_ids_match=${r.input_ids_match} max_abs_diff=${r.max_abs_diff?.toExponential(3)} top1=${r.top1_agreement} kl_mean=${r.kl_mean?.toExponential(3)} greedy_match=${r.greedy_match}`);
  }
  const pass = reports.every(
    (r) => r.pixel_values_mean_abs_diff === undefined || r.pixel_values_mean_abs_diff <= 0.02,
  ) && reports.every(
    (r) => r.skipped !== undefined || (r.template_match !== false && r.input_ids_match !== false && (r.max_abs_diff === null || r.max_abs_diff <= MAX_ABS_DIFF) && r.greedy_match !== false),
  ) && reports.every(
    (r) => (r.vision_features_max_abs_diff ?? 0) <= MAX_ABS_DIFF && (r.projected_features_max_abs_diff ?? 0) <= MAX_ABS_DIFF,
  ) && reports.some((r) => r.max_abs_diff !== null);
  const p = session.model.pager?.stats;
  const pager = p ? { hits: p.hits, misses: p.misses, prefetch_accuracy: p.prefetchAccuracy, bytes_read: p.bytesRead } : null;
  if (pager) log(`pager: ${JSON.stringify(pager)}`);
  const summary = { model: values.model, weights, adapter: adapterName, expert_slots: expertSlots ?? null, load_s: loadSeconds, load_phases_s: phases, cases: reports, pass, ...(pager ? { pager } : {}) };
  session.destroy();
  await releaseNodeGpu(ctx);
  if (values.json) console.log(JSON.stringify(summary));
  else log(pass ? 'PASS' : 'FAIL');
  return pass ? 0 : 1;
}

main().then(
  (code) => process.exit(process.exitCode || code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);

/** The vision adapter's output and the projected features of every tile, [tiles·N, width] each. */
async function visionFeatures(session: ModelSession, pixelValues: Float32Array, tiles: number): Promise<{ vision: Float32Array; projected: Float32Array }> {
  const encoder = session.vision!.encoder;
  const N = encoder.tokens;
  const per = pixelValues.length / tiles;
  const visionWidth = session.config.vision!.projectorOutputDim;
  const hidden = session.config.text.hiddenSize;
  const vision = new Float32Array(tiles * N * visionWidth);
  const projected = new Float32Array(tiles * N * hidden);
  for (let t = 0; t < tiles; t++) {
    encoder.encodeTile(pixelValues.subarray(t * per, (t + 1) * per));
    vision.set(await session.ctx.readF32(encoder.adapterOutput, 0, N * visionWidth), t * N * visionWidth);
    projected.set(await session.ctx.readF32(encoder.features, 0, N * hidden), t * N * hidden);
  }
  return { vision, projected };
}

/** The user text of a case's messages (the image is passed separately). */
function textOf(c: { messages?: { content: string | { type: string; text?: string }[] }[] }): string {
  const content = c.messages?.[c.messages.length - 1]?.content ?? '';
  return typeof content === 'string' ? content : content.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('');
}
