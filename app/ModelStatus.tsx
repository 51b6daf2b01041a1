import type { LoadProgress, ModelInfo } from '../worker/api.ts';

export type EngineState =
  | { kind: 'starting' }
  | { kind: 'loading'; progress: LoadProgress }
  | { kind: 'ready'; model: ModelInfo }
  | { kind: 'unsupported'; code: 'no-webgpu' | 'gpu-limits'; message: string }
  | { kind: 'failed'; message: string };

function describe(state: EngineState): string {
  switch (state.kind) {
    case 'starting':
      return 'Starting the engine…';
    case 'loading': {
      const { loaded, total, message } = state.progress;
      const percent = total > 0 ? ` ${Math.floor((100 * loaded) / total)}%` : '';
      return `Loading model…${percent}${message ? ` (${message})` : ''}`;
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
