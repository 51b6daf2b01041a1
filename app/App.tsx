// The page: conversation list, chat, and the side panels (model, settings, stats). The engine loads the model in a
// Web Worker; the UI only ever waits on messages from it.
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { WeightFormat } from '../protocol/api.ts';
import { Chat } from './Chat.tsx';
import { engineController } from './engine-client.ts';
import { ModelPanel } from './ModelPanel.tsx';
import { ModelStatus } from './ModelStatus.tsx';
import { expertBudgetBytes, resolveSettings, saveUserSettings, modelUrlOf, type UserSettings } from './settings.ts';
import { SettingsPanel } from './SettingsPanel.tsx';
import { Sidebar } from './Sidebar.tsx';
import { StatsPanel } from './StatsPanel.tsx';
import { Unsupported } from './Unsupported.tsx';
import { UpdatePrompt } from './UpdatePrompt.tsx';
import { useConversations } from './use-conversations.ts';
import { warmUpMarkdown } from './markdown.ts';

export function App({ initialUser }: { initialUser: UserSettings }) {
  const [user, setUser] = useState(initialUser);
  const settings = useMemo(() => resolveSettings(user, window.location), [user]);
  const controller = engineController(settings.testHooks);
  const { state, device, notice, spec } = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  const conversations = useConversations();
  /** what the ready engine is busy with, shown in the status line (e.g. "Reading image: tile 2 of 4") */
  const [activity, setActivity] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Load the model once (the URL's or the saved choice); the model panel loads others.
  useEffect(() => {
    if (controller.getSnapshot().spec) return;
    void controller.load({ url: settings.modelUrl, weights: settings.weights, vision: settings.vision, expertBudgetBytes: expertBudgetBytes(settings) });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [controller]);

  const saveSettings = useCallback(async (next: UserSettings) => {
    await saveUserSettings(next);
    setUser(next);
  }, []);

  const loadModel = useCallback(
    (url: string, weights: WeightFormat) => {
      void saveSettings({ ...user, model: url, weights });
      void controller.load({ url: modelUrlOf(url, window.location.href), weights, vision: settings.vision, expertBudgetBytes: expertBudgetBytes(settings) });
    },
    [controller, saveSettings, settings, user],
  );

  const loadStored = useCallback(
    (id: string, source: string, weights: WeightFormat) => {
      void controller.load({ url: source, storedId: id, weights, vision: settings.vision, expertBudgetBytes: expertBudgetBytes(settings) });
    },
    [controller, settings],
  );

  const model = state.kind === 'ready' ? state.model : null;
  useEffect(() => {
    if (model) warmUpMarkdown();
  }, [model]);
  const turns = conversations.current.turns;
  let lastStats = null;
  for (let i = turns.length - 1; i >= 0 && !lastStats; i--) {
    const turn = turns[i];
    if (turn.role === 'assistant' && turn.stats) lastStats = turn.stats;
  }

  return (
    <div className="app">
      <header className="app-header">
        <h1>TabScout</h1>
        <ModelStatus state={state} activity={activity} />
      </header>
      <UpdatePrompt />
      {notice && (
        <div role="alert" className={`notice notice-${notice.kind}`} data-notice={notice.kind}>
          <span>{notice.message}</span>
          <button type="button" onClick={() => controller.dismissNotice()}>
            Dismiss
          </button>
        </div>
      )}
      {state.kind === 'unsupported' ? (
        <Unsupported code={state.code} message={state.message} />
      ) : (
        <div className="layout">
          <Sidebar
            list={conversations.list}
            currentId={conversations.current.id}
            busy={busy}
            onNew={conversations.startNew}
            onOpen={conversations.open}
            onDelete={conversations.remove}
          />
          <Chat
            engine={state.kind === 'ready' ? controller : null}
            settings={settings}
            conversations={conversations}
            onActivity={setActivity}
            onBusy={setBusy}
          />
          <aside className="panels" aria-label="Model, settings and statistics">
            <details className="panel" open>
              <summary>Model</summary>
              <ModelPanel
                state={state}
                model={model}
                source={spec?.url ?? null}
                storedId={spec?.storedId ?? null}
                weights={settings.weights}
                controller={controller}
                onLoad={loadModel}
                onLoadStored={loadStored}
              />
            </details>
            <details className="panel">
              <summary>Settings</summary>
              <SettingsPanel user={user} settings={settings} onSave={saveSettings} />
            </details>
            <details className="panel" open>
              <summary>Statistics</summary>
              <StatsPanel stats={lastStats} model={model} device={device} />
            </details>
          </aside>
        </div>
      )}
    </div>
  );
}
