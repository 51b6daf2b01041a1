// The first page: loads the embedded model in the worker, then a minimal streaming chat.
import { useEffect, useState } from 'react';
import type { LoadProgress, ModelInfo } from '../worker/api.ts';
import { errorCode } from '../worker/comlink-errors.ts';
import { startEngine, type Engine } from './engine-client.ts';
import type { Settings } from './settings.ts';
import { Chat } from './Chat.tsx';
import { ModelStatus, type EngineState } from './ModelStatus.tsx';
import { Unsupported } from './Unsupported.tsx';

export function App({ settings }: { settings: Settings }) {
  const [state, setState] = useState<EngineState>({ kind: 'starting' });
  const [engine, setEngine] = useState<{ engine: Engine; model: ModelInfo } | null>(null);
  /** what the ready engine is busy with, shown in the status line (e.g. "Reading image: tile 2 of 4") */
  const [activity, setActivity] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const onProgress = (progress: LoadProgress) => {
      if (live) setState({ kind: 'loading', progress });
    };
    startEngine(settings, onProgress).then(
      (ready) => {
        if (!live) return;
        setEngine(ready);
        setState({ kind: 'ready', model: ready.model });
      },
      (error: unknown) => {
        if (!live) return;
        const code = errorCode(error);
        const message = error instanceof Error ? error.message : String(error);
        if (code === 'no-webgpu' || code === 'gpu-limits') setState({ kind: 'unsupported', code, message });
        else setState({ kind: 'failed', message });
      },
    );
    return () => {
      live = false;
    };
  }, [settings]);

  return (
    <div className="app">
      <header className="app-header">
        <h1>TabScout</h1>
        <ModelStatus state={state} activity={activity} />
      </header>
      {state.kind === 'unsupported' ? (
        <Unsupported code={state.code} message={state.message} />
      ) : (
        <Chat engine={engine?.engine ?? null} settings={settings} onActivity={setActivity} />
      )}
    </div>
  );
}
