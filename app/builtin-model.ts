// The one place that describes the model shipped with the app (the first-run note, the model panel, the widget and
// the README's wording follow it). Its folder comes from lib/default-model.ts (shared with the library and the PWA);
// when the default model changes, change the folder there and the description here (app/builtin-model.test.ts checks
// the download size against the files in public/). What it can and cannot do is measured in docs/MODEL_CARD.md.
import { BUILT_IN_MODEL_PATH } from '../lib/default-model.ts';

const download = '15 MB';
const parametersMillions = 7.5;
const contextTokens = 4096;

export const BUILTIN_MODEL = {
  /** folder of the model next to the page, laid out like a Hugging Face repo (the library ships the same one) */
  path: `./${BUILT_IN_MODEL_PATH}`,
  name: BUILT_IN_MODEL_PATH.replace(/\/+$/, '').split('/').pop()!,
  /** every file of its folder, as the app writes sizes (formatBytes): what the first visit downloads and keeps offline */
  download,
  parametersMillions,
  contextTokens,
  /** what it is, in a sentence or two */
  description: `The built-in model, tabscout-tiny, is a very small Llama 4 (${parametersMillions} million parameters, a ${download} download kept for offline use) that the TabScout project trained from scratch. It runs on your GPU, in this tab: nothing you type leaves this browser.`,
  /** what it does well enough to try */
  can: 'It can answer simple fact questions (the capital of a country, the symbol of a chemical element), write short stories and greetings, work out two-digit sums (showing its steps), and read out the text of a short screenshot (a dialog, a form, a list, a few lines of code), in short English replies.',
  /** what it gets wrong, in plain words */
  /** one sentence for the widget's start screen (the widget reads text only) */
  short: 'The built-in model, tabscout-tiny, is tiny: it answers simple facts (capitals, chemical symbols) in short English replies and makes up anything beyond them.',
  cannot: `It cannot read long screenshots reliably (it misreads rare words, some window titles and parts of long paragraphs, so check what matters), it explains words wrongly, it still gets an occasional two-digit sum wrong, and it confidently makes up anything beyond those few facts. Its context holds ${contextTokens.toLocaleString('en-US')} tokens.`,
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
