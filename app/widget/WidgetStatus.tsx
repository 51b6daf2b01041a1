import type { EngineState } from '../engine-client.ts';

/** The widget's status line, in plain words (the app's line names the model's layers and experts). `data-state` is
 * the engine's state, or 'idle' before the model is started. */
export function WidgetStatus({ state, writing }: { state: EngineState | null; writing: boolean }) {
  let text: string;
  switch (state?.kind) {
    case undefined:
      text = 'Not loaded';
      break;
    case 'starting':
      text = 'Starting…';
      break;
    case 'loading': {
      const { loaded, total } = state.progress;
      const percent = total > 0 ? ` ${Math.floor((100 * loaded) / total)}%` : '';
      text = state.recovering ? `Restarting…${percent}` : `Loading the model…${percent}`;
      break;
    }
    case 'ready':
      text = writing ? 'Writing…' : 'Ready';
      break;
    case 'unsupported':
      text = 'Cannot run in this browser';
      break;
    case 'failed':
      text = 'Could not load the model';
      break;
  }
  return (
    <p role="status" className="model-status" data-state={state?.kind ?? 'idle'}>
      {text}
    </p>
  );
}
