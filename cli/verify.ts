// npm run verify -- --model <model-dir> --reference <reference-dir> --weights f32|q4 [--expert-slots N] [--json]
// Runs every case of a fixture's cases.json through the engine (Node + WebGPU) and compares with Hugging Face.
import { parseArgs } from 'node:util';
import { createNodeGpu } from './node-gpu.ts';
import { FsModelFiles } from './fs-model-files.ts';
import { Reference } from './reference.ts';
import { compareLogits } from './parity.ts';
import { ModelSession } from '../worker/session.ts';
import type { WeightFormat } from '../kernels/linear/weight-format.ts';
import { buildPrompt, imageConfigFor } from '../worker/chat-input.ts';
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
  pixel_values_max_abs_diff?: number;
  pixel_values_mean_abs_diff?: number;
  skipped?: string;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      reference: { type: 'string' },
      weights: { type: 'string', default: 'f32' },
      'expert-slots': { type: 'string' },
      json: { type: 'boolean', default: false },
      // image cases through the vision tower; off by default until it matches Hugging Face (issue: vision)
      vision: { type: 'boolean', default: false },
      // a safetensors file whose image-case tensors replace the fixture's (see docs/FIXTURES.md)
      'image-reference': { type: 'string' },
    },
  });
  if (!values.model || !values.reference) {
    throw new Error('usage: npm run verify -- --model <model-dir> --reference <reference-dir> --weights f32|q4 [--expert-slots N] [--json] [--vision [--image-reference <file>]]');
  }
  const weights = values.weights as WeightFormat;
  if (weights !== 'f32' && weights !== 'q4') throw new Error(`--weights must be f32 or q4, got ${values.weights}`);
  if (values['expert-slots'] !== undefined && !(Number(values['expert-slots']) >= 1)) throw new Error('--expert-slots must be a positive integer');
  const log = (s: string) => (values.json ? console.error(s) : console.log(s));

  const { ctx, adapterName } = await createNodeGpu();
  const fixture = await Reference.load(values.reference);
  const override = values['image-reference'] ? await Reference.fromTensors([], values['image-reference']) : null;
  // tensors of the override file win over the fixture's
  const reference = {
    cases: fixture.cases,
    has: (n: string) => override?.has(n) || fixture.has(n),
    shape: (n: string) => (override?.has(n) ? override : fixture).shape(n),
    f32: (n: string) => (override?.has(n) ? override : fixture).f32(n),
    ids: (n: string) => (override?.has(n) ? override : fixture).ids(n),
  };
  const files = new FsModelFiles(values.model);
  log(`adapter: ${adapterName}`);
  const longest = Math.max(...reference.cases.map((c) => (reference.has(`${c.name}.input_ids`) ? reference.shape(`${c.name}.input_ids`)[0] : 0)));
  const genLongest = Math.max(0, ...reference.cases.map((c) => (reference.has(`${c.name}.generated_ids`) ? reference.shape(`${c.name}.generated_ids`)[0] : 0)));
  const expertSlots = values['expert-slots'] !== undefined ? Number(values['expert-slots']) : undefined;
  const session = await ModelSession.load(ctx, files, { weights, contextLength: longest + genLongest + 1, vision: values.vision, expertSlots });
  const vocab = session.config.text.vocabSize;
  const imageConfig = await imageConfigFor(session, files);
  const tag = weights === 'q4' ? '.q4' : '';
  const reports: CaseReport[] = [];

  for (const c of reference.cases) {
    const r: CaseReport = { name: c.name, template_match: null, input_ids_match: null, max_abs_diff: null, top1_agreement: null, kl_mean: null, greedy_match: null };
    if (c.messages && c.prompt !== undefined) {
      r.template_match = session.tokenizer.applyChatTemplate(c.messages, c.add_generation_prompt ?? true) === c.prompt;
    }
    const refIds = reference.ids(`${c.name}.input_ids`);
    if (c.image) {
      if (!imageConfig) {
        r.skipped = 'the model has no vision tower';
        reports.push(r);
        continue;
      }
      // preprocessing and prompt layout from the case's PNG, as the app does it
      const png = decodePng(await readFile(join(values.reference, c.image)), inflateSync);
      const prompt = buildPrompt(session, imageConfig, [{ role: 'user', content: textOf(c), images: [png] }]);
      r.input_ids_match = prompt.ids.length === refIds.length && prompt.ids.every((v, i) => v === refIds[i]);
      const refPixels = reference.f32(`${c.name}.pixel_values`);
      const ours = prompt.images[0].pixelValues;
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
    if (c.image && (!values.vision || !session.vision) && reference.has(`${c.name}${tag}.logits`)) {
      r.skipped = 'no vision yet: the image references of the shared fixtures have a defect (docs/FIXTURES.md); use --vision';
      log(`${c.name}: logits skipped (${r.skipped}), template_match=${r.template_match} input_ids_match=${r.input_ids_match} pixel_values max/mean |Δ| ${r.pixel_values_max_abs_diff}/${r.pixel_values_mean_abs_diff}`);
      reports.push(r);
      continue;
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
      const result = await session.generate(refIds, { maxNewTokens: expected.length, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true }, () => {}, () => false, { images });
      r.greedy_match = result.tokenIds.length === expected.length && result.tokenIds.every((v, i) => v === expected[i]);
      if (!r.greedy_match) log(`  ${c.name}: greedy ${JSON.stringify(result.tokenIds)}\n  expected ${JSON.stringify(expected)}`);
    }
    reports.push(r);
    if (r.pixel_values_max_abs_diff !== undefined) log(`  ${c.name}: pixel_values max |Δ| ${r.pixel_values_max_abs_diff}, mean |Δ| ${r.pixel_values_mean_abs_diff}`);
    log(`${c.name}: template_match=${r.template_match} input_ids_match=${r.input_ids_match} max_abs_diff=${r.max_abs_diff?.toExponential(3)} top1=${r.top1_agreement} kl_mean=${r.kl_mean?.toExponential(3)} greedy_match=${r.greedy_match}`);
  }
  const pass = reports.every(
    (r) => r.pixel_values_mean_abs_diff === undefined || r.pixel_values_mean_abs_diff <= 0.02,
  ) && reports.every(
    (r) => r.skipped !== undefined || (r.template_match !== false && r.input_ids_match !== false && (r.max_abs_diff === null || r.max_abs_diff <= MAX_ABS_DIFF) && r.greedy_match !== false),
  ) && reports.some((r) => r.max_abs_diff !== null);
  const p = session.model.pager?.stats;
  const pager = p ? { hits: p.hits, misses: p.misses, prefetch_accuracy: p.prefetchAccuracy, bytes_read: p.bytesRead } : null;
  if (pager) log(`pager: ${JSON.stringify(pager)}`);
  const summary = { model: values.model, weights, adapter: adapterName, expert_slots: expertSlots ?? null, cases: reports, pass, ...(pager ? { pager } : {}) };
  session.destroy();
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

/** The user text of a case's messages (the image is passed separately). */
function textOf(c: { messages?: { content: string | { type: string; text?: string }[] }[] }): string {
  const content = c.messages?.[c.messages.length - 1]?.content ?? '';
  return typeof content === 'string' ? content : content.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('');
}
