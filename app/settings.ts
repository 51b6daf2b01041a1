// Settings. The user's choices (system prompt, sampling, expert budget, model) are kept in IndexedDB; the URL query
// overrides any of them for this page only, which is how tests and links pin them
// (?temperature=0&maxNewTokens=40&ignoreEos=1&weights=f32&vision=0&system=…&model=…&seed=1&expertBudgetMiB=0.05&testHooks=1;
// ?hubEndpoint=… points Hub imports at a mirror or a test server).
import type { SamplingOptions, WeightFormat } from '../protocol/api.ts';
import { BUILTIN_MODEL } from './builtin-model.ts';
import { appStore, get, set } from './db.ts';

/** What the user can change in the settings panel; persisted. */
export interface UserSettings {
  /** system prompt; empty = none */
  system: string;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  /** GPU memory for routed-expert slots, in MiB; 0 = decide from the device (used by the expert pager) */
  expertBudgetMiB: number;
  /** model folder URL as typed (relative to the page) */
  model: string;
  weights: WeightFormat;
}

/** Everything a page needs: the user's settings with the URL's overrides applied, and page-only options. */
export interface Settings {
  /** absolute URL of the model folder (Hugging Face repo layout) */
  modelUrl: string;
  weights: WeightFormat;
  /** load the model's vision tower (default true; ?vision=0 saves its GPU memory, and images are then refused) */
  vision: boolean;
  /** system prompt; empty = none */
  system: string;
  sampling: SamplingOptions;
  /** the seed when the URL fixes one; otherwise every reply draws a new one */
  fixedSeed: number | null;
  expertBudgetMiB: number;
  /** paged mode: MiB of host memory the GPU copies experts from (?pinnedTierMiB=; 0 = off): no CPU copy per page-in */
  pinnedTierMiB: number;
  /** the KV cache's elements (?kvCache=f16: half its GPU memory, keys and values rounded to f16; default f32) */
  kvCache: 'f32' | 'f16';
  /** test-only hooks (destroy the GPU device, kill the worker) on window.__tabscoutTest */
  testHooks: boolean;
  /** names of the settings the URL pins (shown as such in the settings panel) */
  pinned: (keyof UserSettings)[];
}

export const DEFAULT_MODEL_PATH: string = BUILTIN_MODEL.path;

export const DEFAULT_SETTINGS: UserSettings = {
  system: '',
  temperature: 0.6,
  topP: 0.9,
  maxNewTokens: 256,
  expertBudgetMiB: 0,
  model: DEFAULT_MODEL_PATH,
  weights: 'q4',
};

const SETTINGS_KEY = 'settings';

/** Clamps and fills a stored or edited settings object so that a bad value can never reach the engine. */
export function cleanSettings(raw: Partial<UserSettings> | undefined): UserSettings {
  const s = { ...DEFAULT_SETTINGS, ...(raw ?? {}) };
  const finite = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);
  return {
    system: typeof s.system === 'string' ? s.system : '',
    temperature: Math.min(2, Math.max(0, finite(s.temperature, DEFAULT_SETTINGS.temperature))),
    topP: Math.min(1, Math.max(0, finite(s.topP, DEFAULT_SETTINGS.topP))),
    maxNewTokens: Math.max(1, Math.floor(finite(s.maxNewTokens, DEFAULT_SETTINGS.maxNewTokens))),
    expertBudgetMiB: Math.max(0, Math.round(finite(s.expertBudgetMiB, 0) * 1000) / 1000),
    model: typeof s.model === 'string' && s.model.trim() ? s.model.trim() : DEFAULT_MODEL_PATH,
    weights: s.weights === 'f32' ? 'f32' : 'q4',
  };
}

export async function loadUserSettings(): Promise<UserSettings> {
  try {
    return cleanSettings(await get<Partial<UserSettings>>(SETTINGS_KEY, appStore()));
  } catch (error) {
    console.warn('Could not read the saved settings; using the defaults.', error);
    return { ...DEFAULT_SETTINGS };
  }
}

export async function saveUserSettings(settings: UserSettings): Promise<void> {
  await set(SETTINGS_KEY, cleanSettings(settings), appStore());
}

/** Applies the URL query's overrides to the user's settings. */
export function resolveSettings(user: UserSettings, location: { href: string; search: string }): Settings {
  const query = new URLSearchParams(location.search);
  const pinned: (keyof UserSettings)[] = [];
  const number = (name: string, key: keyof UserSettings | null, fallback: number): number => {
    const raw = query.get(name);
    if (raw === null || raw.trim() === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value)) return fallback;
    if (key) pinned.push(key);
    return value;
  };
  const flag = (name: string): boolean => ['1', 'true', 'yes'].includes((query.get(name) ?? '').toLowerCase());
  const queryWeights = query.get('weights');
  if (queryWeights) pinned.push('weights');
  const weights: WeightFormat = queryWeights ? (queryWeights === 'f32' ? 'f32' : 'q4') : user.weights;
  const model = query.get('model');
  if (model) pinned.push('model');
  const system = query.get('system');
  if (system !== null) pinned.push('system');
  const seed = query.get('seed');
  const fixedSeed = seed !== null && seed.trim() !== '' && Number.isFinite(Number(seed)) ? Math.floor(Number(seed)) : null;
  return {
    modelUrl: modelUrlOf(model || user.model, location.href),
    weights,
    vision: !['0', 'false', 'no'].includes((query.get('vision') ?? '').toLowerCase()),
    system: system ?? user.system,
    sampling: {
      temperature: Math.max(0, number('temperature', 'temperature', user.temperature)),
      topP: Math.min(1, Math.max(0, number('topP', 'topP', user.topP))),
      topK: Math.max(0, Math.floor(number('topK', null, 0))),
      maxNewTokens: Math.max(1, Math.floor(number('maxNewTokens', 'maxNewTokens', user.maxNewTokens))),
      seed: fixedSeed ?? newSeed(),
      ignoreEos: flag('ignoreEos'),
    },
    fixedSeed,
    expertBudgetMiB: Math.max(0, number('expertBudgetMiB', 'expertBudgetMiB', user.expertBudgetMiB)),
    pinnedTierMiB: Math.max(0, number('pinnedTierMiB', null, 0)),
    kvCache: query.get('kvCache') === 'f16' ? 'f16' : 'f32',
    testHooks: flag('testHooks'),
    pinned,
  };
}

/** The expert budget as LoadOptions.expertBudgetBytes: undefined when 0 (automatic: every expert resident). */
export function expertBudgetBytes(settings: Settings): number | undefined {
  return settings.expertBudgetMiB > 0 ? Math.round(settings.expertBudgetMiB * 2 ** 20) : undefined;
}

/** The pinned tier as LoadOptions.pinnedTierBytes: undefined when 0 (off). */
export function pinnedTierBytes(settings: Settings): number | undefined {
  return settings.pinnedTierMiB > 0 ? Math.round(settings.pinnedTierMiB * 2 ** 20) : undefined;
}

/** The Hub endpoint for imports (?hubEndpoint=, for tests and mirrors); undefined = huggingface.co. */
export function hubEndpoint(location: { search: string }): string | undefined {
  return new URLSearchParams(location.search).get('hubEndpoint') || undefined;
}

/** The worker resolves relative URLs against its own script, so model URLs are made absolute here. */
export function modelUrlOf(path: string, pageUrl: string): string {
  let url = new URL(path, pageUrl).href;
  if (!url.endsWith('/')) url += '/';
  return url;
}

export function newSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

/** The sampling options for one reply: a fresh seed unless the URL fixed one (so Regenerate gives a new reply). */
export function samplingFor(settings: Settings): SamplingOptions {
  return { ...settings.sampling, seed: settings.fixedSeed ?? newSeed() };
}

/** Defaults plus URL overrides, without reading storage (the widget and first paint use this). */
export function readSettings(location: { href: string; search: string }): Settings {
  return resolveSettings(DEFAULT_SETTINGS, location);
}
