import type { EngineState } from './engine-client.ts';

export type { EngineState };

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function describe(state: EngineState): string {
  switch (state.kind) {
    case 'starting':
      return 'Starting the engine…';
    case 'loading': {
      const { loaded, total, message } = state.progress;
      const percent = total > 0 ? ` ${Math.floor((100 * loaded) / total)}%` : '';
      const what = state.recovering ? `${state.recovering} Loading model…` : 'Loading model…';
      return `${what}${percent}${message ? ` (${message})` : ''}`;
    }
    case 'ready': {
      const { name, weights, layers, experts } = state.model;
      return `Ready: ${name} · ${weights} · ${layers} layers · ${experts} experts`;
    }
    case 'unsupported':
      return state.code === 'no-webgpu' ? 'WebGPU is not available' : 'This GPU is too limited';
    case 'failed':
      return `Could not load the model: ${state.message}`;
  }
}

/**
 * Model and loading state; `data-state` lets tests wait for "ready". Once ready, `activity` (e.g. "Reading image:
 * tile 2 of 4") takes the place of the model summary while it lasts.
 */
export function ModelStatus({ state, activity = null }: { state: EngineState; activity?: string | null }) {
  const busy = state.kind === 'ready' && activity !== null;
  return (
    <p role="status" className={`model-status model-status-${state.kind}`} data-state={state.kind} data-activity={busy ? '' : undefined}>
      {busy ? activity : describe(state)}
    </p>
  );
}
