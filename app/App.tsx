// The page: conversation list, chat, and the side panels (model, statistics, installed models, settings). The engine
// loads the model in a Web Worker; the UI only ever waits on messages from it. On a phone the conversation list and
// the panels open as drawers over the chat, so that the composer stays at the bottom of the screen.
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { StoredModelInfo, WeightFormat } from '../protocol/api.ts';
import { BUILTIN_MODEL } from './builtin-model.ts';
import { Chat } from './Chat.tsx';
import { engineController, type ModelSpec } from './engine-client.ts';
import { checkModelFolder, saveLastModel, type ModelChoice } from './model-choice.ts';
import { ModelManager } from './ModelManager.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { ModelStatus } from './ModelStatus.tsx';
import { expertBudgetBytes, modelUrlOf, pinnedTierBytes, resolveSettings, saveUserSettings, type UserSettings } from './settings.ts';
import { SettingsPanel } from './SettingsPanel.tsx';
import { Sidebar } from './Sidebar.tsx';
import { StatsPanel } from './StatsPanel.tsx';
import { Unsupported } from './Unsupported.tsx';
import { UpdatePrompt } from './UpdatePrompt.tsx';
import { useConversations } from './use-conversations.ts';
import { warmUpMarkdown } from './markdown.ts';

const BUILTIN: ModelChoice = { kind: 'builtin' };

/** How the banner and the model panel name a model. */
export function nameOf(choice: ModelChoice): string {
  if (choice.kind === 'builtin') return `the built-in model (${BUILTIN_MODEL.name})`;
  if (choice.kind === 'url') return `the model at ${choice.url}`;
  return `${choice.name} (installed)`;
}

const sameChoice = (a: ModelChoice, b: ModelChoice) => JSON.stringify(a) === JSON.stringify(b);
const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

type Drawer = 'none' | 'chats' | 'panels';

export function App({ initialUser, initialModel }: { initialUser: UserSettings; initialModel: ModelChoice | null }) {
  const [user, setUser] = useState(initialUser);
  const settings = useMemo(() => resolveSettings(user, window.location), [user]);
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  const controller = engineController(settings.testHooks);
  const { state, device, notice, spec } = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  const conversations = useConversations();
  /** what the ready engine is busy with, shown in the status line (e.g. "Reading image: tile 2 of 4") */
  const [activity, setActivity] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [drawer, setDrawer] = useState<Drawer>('none');
  /** the model that loaded last (null until one has) */
  const [running, setRunning] = useState<ModelChoice | null>(null);
  const runningRef = useRef<ModelChoice | null>(null);
  const switches = useRef(0);

  const specFor = useCallback((choice: ModelChoice): ModelSpec => {
    const s = settingsRef.current;
    const common = { vision: s.vision, expertBudgetBytes: expertBudgetBytes(s), pinnedTierBytes: pinnedTierBytes(s), kvCache: s.kvCache };
    if (choice.kind === 'stored') return { ...common, url: choice.source, storedId: choice.id, weights: s.weights };
    if (choice.kind === 'url') return { ...common, url: choice.url, weights: choice.weights };
    return { ...common, url: modelUrlOf(BUILTIN_MODEL.path, window.location.href), weights: s.weights };
  }, []);

  /**
   * Loads `next`. A URL is checked first (its config.json must be there), so that a wrong address never unloads
   * the running model. When the load fails, the model that was running is loaded again (or, with none, the
   * built-in one) and the banner says what happened. Only a model that loaded is remembered for the next start.
   */
  const switchTo = useCallback(
    async (next: ModelChoice, how: { remember: boolean; atStartup?: boolean }): Promise<boolean> => {
      const run = ++switches.current;
      const current = () => run === switches.current;
      const previous = runningRef.current;
      let reason: string | null = null;
      let unloaded = true;
      if (next.kind === 'url') {
        try {
          await checkModelFolder(next.url);
        } catch (error) {
          reason = (error as Error).message;
          unloaded = false;
        }
        if (!current()) return false;
      }
      if (reason === null) {
        const loaded = await controller.load(specFor(next));
        if (!current()) return false;
        if (loaded) {
          runningRef.current = next;
          setRunning(next);
          if (how.remember) void saveLastModel(next).catch((error) => console.warn('Could not remember the model', error));
          return true;
        }
        const failed = controller.getSnapshot().state;
        if (failed.kind === 'unsupported') return false;
        reason = failed.kind === 'failed' ? failed.message : 'it did not load.';
      }
      let message = `Could not load ${nameOf(next)}${how.atStartup ? ' at start-up' : ''}: ${reason.replace(/\.?$/, '.')}`;
      if (how.atStartup && next.kind !== 'builtin') {
        // never fail the same way at every start: forget it (it can be loaded again from the model panel)
        void saveLastModel(BUILTIN).catch(() => undefined);
      }
      const back = previous && !sameChoice(previous, next) ? previous : next.kind !== 'builtin' ? BUILTIN : null;
      if (back && !unloaded && previous && controller.getSnapshot().state.kind === 'ready') {
        message += ` ${capital(nameOf(previous))} is still loaded.`;
      } else if (back) {
        const loadedBack = await controller.load(specFor(back));
        if (!current()) return false;
        if (loadedBack) {
          runningRef.current = back;
          setRunning(back);
          message += ` ${capital(nameOf(back))} is loaded ${back === previous ? 'again' : 'instead'}.`;
        } else {
          const failed = controller.getSnapshot().state;
          message += ` ${capital(nameOf(back))} did not load either${failed.kind === 'failed' ? `: ${failed.message}` : '.'}`;
        }
      }
      controller.notify('model-failed', message);
      return false;
    },
    [controller, specFor],
  );

  // Start-up: the model the page URL names (?model=, for this page only), else the last one that loaded, else the
  // built-in one. Runs once even though React mounts twice in development (StrictMode).
  const started = useRef(false);
  useEffect(() => {
    if (started.current || controller.getSnapshot().spec) return;
    started.current = true;
    const pinned = settings.pinned.includes('model');
    const first: ModelChoice = pinned ? { kind: 'url', url: settings.modelUrl, weights: settings.weights } : (initialModel ?? BUILTIN);
    void switchTo(first, { remember: false, atStartup: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [controller]);

  const saveSettings = useCallback(async (next: UserSettings) => {
    await saveUserSettings(next);
    setUser(next);
  }, []);

  const loadUrl = useCallback((url: string, weights: WeightFormat) => void switchTo({ kind: 'url', url, weights }, { remember: true }), [switchTo]);
  const loadStored = useCallback(
    (model: StoredModelInfo, source: string) => void switchTo({ kind: 'stored', id: model.id, name: model.name, source }, { remember: true }),
    [switchTo],
  );
  const loadBuiltin = useCallback(() => void switchTo(BUILTIN, { remember: true }), [switchTo]);

  // Esc closes an open drawer (the chat handles Esc itself to stop a reply).
  useEffect(() => {
    if (drawer === 'none') return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setDrawer('none');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [drawer]);

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
  const loading = state.kind === 'loading' || state.kind === 'starting';
  const toggle = (which: Drawer) => setDrawer((open) => (open === which ? 'none' : which));

  return (
    <div className="app" data-drawer={drawer}>
      <header className="app-header">
        <h1>TabScout</h1>
        <ModelStatus state={state} activity={activity} />
        {state.kind !== 'unsupported' && (
          <div className="drawer-toggles">
            <button type="button" aria-expanded={drawer === 'chats'} aria-controls="conversations" onClick={() => toggle('chats')}>
              Chats
            </button>
            <button type="button" aria-expanded={drawer === 'panels'} aria-controls="side-panels" onClick={() => toggle('panels')}>
              Model &amp; settings
            </button>
          </div>
        )}
      </header>
      <UpdatePrompt canRun={state.kind === 'ready' || (state.kind === 'loading' && device !== null)} />
      {notice && (
        <div role="alert" className={`notice notice-${notice.kind}`} data-notice={notice.kind}>
          <span>{notice.message}</span>
          {notice.kind === 'model-failed' && running?.kind !== 'builtin' && !loading && (
            <button type="button" onClick={loadBuiltin}>
              Use the built-in model
            </button>
          )}
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
            onNew={() => {
              conversations.startNew();
              setDrawer('none');
            }}
            onOpen={(id) => {
              setDrawer('none');
              return conversations.open(id);
            }}
            onDelete={conversations.remove}
            onClose={() => setDrawer('none')}
          />
          <Chat
            engine={state.kind === 'ready' ? controller : null}
            settings={settings}
            conversations={conversations}
            onActivity={setActivity}
            onBusy={setBusy}
            builtinRunning={running?.kind === 'builtin' && state.kind === 'ready'}
            contextLength={model?.contextLength ?? null}
          />
          <aside className="panels" id="side-panels" aria-label="Model, statistics and settings">
            <button type="button" className="drawer-close" onClick={() => setDrawer('none')}>
              Back to the chat
            </button>
            <details className="panel" open>
              <summary>Model</summary>
              <ModelPanel
                state={state}
                model={model}
                running={running}
                source={spec?.url ?? null}
                storedId={spec?.storedId ?? null}
                weights={settings.weights}
                controller={controller}
                onLoadUrl={loadUrl}
                onUseBuiltin={loadBuiltin}
              />
            </details>
            <details className="panel" open>
              <summary>Statistics</summary>
              <StatsPanel stats={lastStats} model={model} device={device} />
            </details>
            <details className="panel" open>
              <summary>Installed models</summary>
              <ModelManager controller={controller} loadedId={spec?.storedId ?? null} busy={loading} onLoad={loadStored} />
            </details>
            <details className="panel">
              <summary>Settings</summary>
              <SettingsPanel user={user} settings={settings} onSave={saveSettings} />
            </details>
          </aside>
        </div>
      )}
    </div>
  );
}
