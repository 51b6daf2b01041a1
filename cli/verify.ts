// npm run verify -- --model <model-dir> --reference <reference-dir> --weights f32|q4 [--expert-slots N] [--json]
// Runs every case of a fixture's cases.json through the engine (Node + WebGPU) and compares with Hugging Face.
import { parseArgs } from 'node:util';
import { createNodeGpu } from './node-gpu.ts';
import { FsModelFiles } from './fs-model-files.ts';
import { Reference } from './reference.ts';
import { compareLogits } from './parity.ts';
import { ModelSession } from '../worker/session.ts';
import type { WeightMode } from '../worker/api.ts';

const MAX_ABS_DIFF = 1e-3;

interface CaseReport {
  name: string;
  template_match: boolean | null;
  input_ids_match: boolean | null;
  max_abs_diff: number | null;
  top1_agreement: number | null;
  kl_mean: number | null;
  greedy_match: boolean | null;
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
    },
  });
  if (!values.model || !values.reference) throw new Error('usage: npm run verify -- --model <model-dir> --reference <reference-dir> --weights f32|q4 [--expert-slots N] [--json]');
  const weights = values.weights as WeightMode;
  if (weights !== 'f32' && weights !== 'q4') throw new Error(`--weights must be f32 or q4, got ${values.weights}`);
  if (values['expert-slots'] !== undefined && !(Number(values['expert-slots']) >= 1)) throw new Error('--expert-slots must be a positive integer');
  const log = (s: string) => (values.json ? console.error(s) : console.log(s));

  const { ctx, adapterName } = await createNodeGpu();
  const reference = await Reference.load(values.reference);
  const files = new FsModelFiles(values.model);
  log(`adapter: ${adapterName}`);
  const longest = Math.max(...reference.cases.map((c) => (reference.has(`${c.name}.input_ids`) ? reference.shape(`${c.name}.input_ids`)[0] : 0)));
  const genLongest = Math.max(0, ...reference.cases.map((c) => (reference.has(`${c.name}.generated_ids`) ? reference.shape(`${c.name}.generated_ids`)[0] : 0)));
  const session = await ModelSession.load(ctx, files, { weights, contextLength: longest + genLongest + 1, vision: values.vision });
  const vocab = session.config.text.vocabSize;
  const tag = weights === 'q4' ? '.q4' : '';
  const reports: CaseReport[] = [];

  for (const c of reference.cases) {
    const r: CaseReport = { name: c.name, template_match: null, input_ids_match: null, max_abs_diff: null, top1_agreement: null, kl_mean: null, greedy_match: null };
    if (c.messages && c.prompt !== undefined) {
      r.template_match = session.tokenizer.applyChatTemplate(c.messages, c.add_generation_prompt ?? true) === c.prompt;
    }
    const refIds = reference.ids(`${c.name}.input_ids`);
    // image cases run the vision tower on the reference pixel_values, so it is tested apart from the resize
    const images = c.image ? [{ pixelValues: reference.f32(`${c.name}.pixel_values`), tiles: reference.shape(`${c.name}.pixel_values`)[0] }] : [];
    if (c.image && (!values.vision || !session.vision)) {
      r.skipped = values.vision ? 'the model has no vision tower' : 'no vision yet';
      log(`${c.name}: skipped (${r.skipped}), template_match=${r.template_match}`);
      reports.push(r);
      continue;
    }
    if (c.prompt !== undefined && !c.image) {
      const ids = session.tokenizer.encode(c.prompt);
      r.input_ids_match = ids.length === refIds.length && ids.every((v, i) => v === refIds[i]);
    }
    if (reference.has(`${c.name}${tag}.logits`)) {
      const figures = compareLogits(await session.logitsFor(refIds, { images }), reference.f32(`${c.name}${tag}.logits`), vocab);
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
    log(`${c.name}: template_match=${r.template_match} input_ids_match=${r.input_ids_match} max_abs_diff=${r.max_abs_diff?.toExponential(3)} top1=${r.top1_agreement} kl_mean=${r.kl_mean?.toExponential(3)} greedy_match=${r.greedy_match}`);
  }
  const pass = reports.every(
    (r) => r.skipped !== undefined || (r.template_match !== false && r.input_ids_match !== false && (r.max_abs_diff === null || r.max_abs_diff <= MAX_ABS_DIFF) && r.greedy_match !== false),
  ) && reports.some((r) => r.max_abs_diff !== null);
  const summary = { model: values.model, weights, adapter: adapterName, expert_slots: values['expert-slots'] ? Number(values['expert-slots']) : null, cases: reports, pass };
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
