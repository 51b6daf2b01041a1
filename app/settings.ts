// Page settings: defaults, overridable from the URL query (?temperature=0&maxNewTokens=40&ignoreEos=1&weights=f32&vision=0).
import type { SamplingOptions, WeightMode } from '../worker/api.ts';

export interface Settings {
  /** absolute URL of the model folder (Hugging Face repo layout) */
  modelUrl: string;
  weights: WeightMode;
  /** load the model's vision tower (default true; ?vision=0 saves its GPU memory, and images are then refused) */
  vision: boolean;
  /** system prompt; empty = none */
  system: string;
  sampling: SamplingOptions;
}

export const DEFAULT_MODEL_PATH = './models/tiny-scout/';

export function readSettings(location: { href: string; search: string }): Settings {
  const query = new URLSearchParams(location.search);
  const number = (name: string, fallback: number): number => {
    const raw = query.get(name);
    if (raw === null || raw.trim() === '') return fallback;
    const value = Number(raw);
    return Number.isFinite(value) ? value : fallback;
  };
  const flag = (name: string): boolean => ['1', 'true', 'yes'].includes((query.get(name) ?? '').toLowerCase());
  const weights: WeightMode = query.get('weights') === 'f32' ? 'f32' : 'q4';
  // The worker resolves relative URLs against its own script, so make the model URL absolute here.
  let modelUrl = new URL(query.get('model') || DEFAULT_MODEL_PATH, location.href).href;
  if (!modelUrl.endsWith('/')) modelUrl += '/';
  return {
    modelUrl,
    weights,
    vision: !['0', 'false', 'no'].includes((query.get('vision') ?? '').toLowerCase()),
    system: query.get('system') ?? '',
    sampling: {
      temperature: Math.max(0, number('temperature', 0.6)),
      topP: Math.min(1, Math.max(0, number('topP', 0.9))),
      topK: Math.max(0, Math.floor(number('topK', 0))),
      maxNewTokens: Math.max(1, Math.floor(number('maxNewTokens', 256))),
      seed: Math.floor(number('seed', Date.now() % 2 ** 31)),
      ignoreEos: flag('ignoreEos'),
    },
  };
}
