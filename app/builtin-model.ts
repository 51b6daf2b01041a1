// The one place that describes the model shipped with the app (the first-run note, the model panel and the README's
// wording follow it). Its folder comes from lib/default-model.ts (shared with the library and the PWA); when a trained
// default model replaces the random tiny one, change the folder there and the description here.
import { BUILT_IN_MODEL_PATH } from '../lib/default-model.ts';

export const BUILTIN_MODEL = {
  /** folder of the model next to the page, laid out like a Hugging Face repo (the library ships the same one) */
  path: `./${BUILT_IN_MODEL_PATH}`,
  name: BUILT_IN_MODEL_PATH.replace(/\/+$/, '').split('/').pop()!,
  /** what a user should know about it, in a sentence or two */
  description:
    'The built-in model is a tiny Llama 4 checkpoint (about 1 MB, 4 layers, 4 experts) with random weights: it shows that the engine runs on your GPU, offline, but its replies are gibberish by design. Its context holds 512 tokens.',
} as const;

/**
 * What it takes to run Llama 4 Scout (meta-llama/Llama-4-Scout-17B-16E-Instruct) in int4, from the memory plan of its
 * config (worker/model/memory-plan.ts, the same figures the import's fit check uses; app/builtin-model.test.ts keeps
 * them in step). GB = 10^9 bytes.
 */
export const SCOUT_NEEDS = {
  repo: 'meta-llama/Llama-4-Scout-17B-16E-Instruct',
  /** browser storage for the int4 records, vision tower included (the fit check refuses an import below this) */
  storageGB: 62.4,
  /** GPU memory always resident: every text weight except the routed experts, plus the vision tower */
  residentGpuGB: 6.8,
  /** one routed expert of one layer */
  expertMiB: 67.5,
  moeLayers: 48,
  expertsPerLayer: 16,
  /** GPU memory with one expert slot per layer (the least; experts page in from storage) */
  minExpertGpuGB: 3.4,
  /** GPU memory with all experts resident (no paging) */
  allExpertsGpuGB: 54.4,
} as const;
