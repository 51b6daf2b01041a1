// The embeddable chat: a compact conversation, a composer, and the postMessage API for the host page. The model
// downloads only after the visitor (or the host, by asking, or ?autoload=1) starts it; before that the widget says
// how big the download is.
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { ChatMessage } from '../../protocol/api.ts';
import { engineController } from '../engine-client.ts';
import { Markdown } from '../Markdown.tsx';
import { downloadSize } from '../model-size.ts';
import { formatBytes } from '../ModelStatus.tsx';
import { BUILTIN_MODEL } from '../builtin-model.ts';
import { modelUrlOf, samplingFor, type Settings } from '../settings.ts';
import { nextFrame } from '../next-frame.ts';
import { useReply } from '../use-reply.ts';
import { WidgetStatus } from './WidgetStatus.tsx';
import { makePoster, PROTOCOL_VERSION, readHostMessage, type MessageId } from './protocol.ts';
import { requestStorageAccess, storageAccessState, type StorageAccess } from './storage-access.ts';

interface Turn {
  key: number;
  role: 'user' | 'assistant';
  text: string;
  state?: 'streaming' | 'done' | 'error' | 'interrupted';
  error?: string;
}

interface Ask {
  id: MessageId | null;
  text: string;
  /** origin of the host that asked (answers go there only) */
  origin?: string;
}

let nextKey = 1;

export function Widget({ settings: initial, origins, autoload }: { settings: Settings; origins: string[]; autoload: boolean }) {
  const controller = engineController(initial.testHooks);
  const [snapshot, setSnapshot] = useState(controller.getSnapshot());
  useEffect(() => controller.subscribe(() => setSnapshot(controller.getSnapshot())), [controller]);
  const { state, notice } = snapshot;

  const [turns, setTurns] = useState<Turn[]>([]);
  const turnsRef = useRef<Turn[]>([]);
  const [draft, setDraft] = useState('');
  const replies = useReply(controller.chat.completions);
  /** a question waits for the model to load */
  const [waiting, setWaiting] = useState(false);
  const busy = waiting || replies.busy;
  const [size, setSize] = useState<number | null | undefined>(undefined);
  const [access, setAccess] = useState<StorageAccess>('unsupported');
  const [started, setStarted] = useState(false);
  const settings = useRef(initial);
  const queue = useRef<Promise<void>>(Promise.resolve());
  const generation = useRef(0);
  const log = useRef<HTMLDivElement>(null);
  const post = useRef(makePoster(origins)).current;

  const setAll = (next: Turn[]) => {
    turnsRef.current = next;
    setTurns(next);
  };
  const patchLast = (patch: Partial<Turn>) => {
    const all = turnsRef.current;
    setAll([...all.slice(0, -1), { ...all[all.length - 1], ...patch }]);
  };

  useEffect(() => {
    const abort = new AbortController();
    downloadSize(initial.modelUrl, abort.signal).then(setSize, () => setSize(null));
    void storageAccessState().then(setAccess);
    return () => abort.abort();
  }, [initial.modelUrl]);

  const start = () => {
    if (controller.getSnapshot().spec) return;
    setStarted(true);
    void controller.load({ url: initial.modelUrl, weights: initial.weights, vision: false });
  };

  useEffect(() => {
    if (autoload) start();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (log.current) log.current.scrollTop = log.current.scrollHeight;
  }, [turns]);

  /** Waits until the model is ready (or failed); starts loading it if nobody did. */
  const whenReady = () =>
    new Promise<void>((resolve, reject) => {
      start();
      const check = () => {
        const s = controller.getSnapshot().state;
        if (s.kind === 'ready') resolve();
        // the code for the host: why the model is not there ('no-webgpu', 'gpu-limits', or 'not-loaded' after a failed load)
        else if (s.kind === 'failed' || s.kind === 'unsupported') reject(Object.assign(new Error(s.message), { code: s.kind === 'unsupported' ? s.code : 'not-loaded' }));
        else return false;
        return true;
      };
      if (check()) return;
      const stop = controller.subscribe(() => {
        if (check()) stop();
      });
    });

  /** Answers one question, in turn after any before it. A reset (the host's, or New chat) cancels it. */
  const ask = ({ id, text, origin }: Ask) => {
    const run = generation.current;
    const cancelled = () => {
      if (id !== null) post({ type: 'tabscout:error', id, code: 'cancelled', message: 'Cancelled: the conversation was reset.' }, origin);
    };
    const task = queue.current.then(async () => {
      if (run !== generation.current) return cancelled();
      setWaiting(true);
      const history: ChatMessage[] = [
        ...(settings.current.system ? [{ role: 'system' as const, content: settings.current.system }] : []),
        ...turnsRef.current.filter((t) => t.state !== 'error' && t.state !== 'streaming').map((t) => ({ role: t.role, content: t.text })),
        { role: 'user', content: text },
      ];
      setAll([...turnsRef.current, { key: nextKey++, role: 'user', text }, { key: nextKey++, role: 'assistant', text: '', state: 'streaming' }]);
      try {
        await whenReady();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (run !== generation.current) return cancelled();
        patchLast({ state: 'error', error: message });
        if (id !== null) post({ type: 'tabscout:error', id, code: (error as { code?: string }).code ?? 'not-loaded', message }, origin);
        return;
      } finally {
        setWaiting(false);
      }
      if (run !== generation.current) return cancelled();
      let streamed = '';
      // The reply on screen is updated once per animation frame, not per token.
      let frame: (() => void) | null = null;
      const show = () => {
        frame = null;
        if (run === generation.current) patchLast({ text: streamed });
      };
      const outcome = await replies.run(history, samplingFor(settings.current), {
        onText: (piece) => {
          if (!piece) return;
          streamed += piece;
          frame ??= nextFrame(show);
          if (id !== null) post({ type: 'tabscout:token', id, text: piece }, origin);
        },
      });
      (frame as (() => void) | null)?.();
      // a reset that came as the reply ended: the conversation is gone, the ask is cancelled all the same
      if (run !== generation.current) return cancelled();
      switch (outcome.state) {
        case 'done':
          // Stopped by the visitor: the pieces not streamed yet are sent before done, so that they add up to it.
          if (id !== null && outcome.text.startsWith(streamed) && outcome.text.length > streamed.length)
            post({ type: 'tabscout:token', id, text: outcome.text.slice(streamed.length) }, origin);
          patchLast({ text: outcome.text, state: 'done' });
          if (id !== null) post({ type: 'tabscout:done', id, text: outcome.text }, origin);
          break;
        case 'cancelled':
          cancelled();
          break;
        default:
          patchLast({ state: outcome.state, error: outcome.error });
          if (id !== null) post({ type: 'tabscout:error', id, code: outcome.code, message: outcome.error }, origin);
      }
    });
    queue.current = task.catch(() => undefined);
  };

  /** Forgets the conversation: the reply being written and the questions waiting are cancelled. */
  const reset = () => {
    generation.current++;
    replies.cancel();
    setAll([]);
    queue.current = queue.current.then(() => setAll([]));
  };

  // The postMessage API.
  useEffect(() => {
    if (origins.length === 0) {
      console.info('TabScout widget: no allowed origins (?origins=), so the postMessage API is off.');
      return;
    }
    const onMessage = (event: MessageEvent) => {
      if (event.source !== window.parent || window.parent === window || !origins.includes(event.origin)) return;
      const message = readHostMessage(event.data);
      if (!message) return;
      if ('invalid' in message) {
        post({ type: 'tabscout:error', id: message.id, code: 'invalid-request', message: message.invalid }, event.origin);
        return;
      }
      switch (message.type) {
        case 'tabscout:ask':
          ask({ id: message.id, text: message.text, origin: event.origin });
          break;
        case 'tabscout:reset':
          reset();
          break;
        case 'tabscout:config':
          settings.current = {
            ...settings.current,
            system: message.systemPrompt ?? settings.current.system,
            sampling: { ...settings.current.sampling, temperature: message.temperature ?? settings.current.sampling.temperature },
          };
          break;
      }
    };
    window.addEventListener('message', onMessage);
    post({ type: 'tabscout:ready', version: PROTOCOL_VERSION });
    return () => window.removeEventListener('message', onMessage);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  function send(event?: FormEvent) {
    event?.preventDefault();
    const text = draft.trim();
    if (!text || busy) return;
    setDraft('');
    ask({ id: null, text });
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  const idle = !started && !controller.getSnapshot().spec;
  const sizeText = size ? formatBytes(size) : size === null ? 'an unknown amount of data' : '…';

  return (
    <div className="widget">
      <header className="widget-header">
        <strong>TabScout</strong>
        <WidgetStatus state={idle ? null : state} writing={replies.busy} />
        <button type="button" className="widget-new-chat" disabled={turns.length === 0} onClick={reset} title="Forget this conversation and start a new one">
          New chat
        </button>
      </header>
      {state.kind === 'failed' && (
        <div role="alert" className="notice" data-notice="failed">
          {state.message}
        </div>
      )}
      {notice && (
        <div role="alert" className="notice" data-notice={notice.kind}>
          <span>{notice.message}</span>
        </div>
      )}
      {state.kind === 'unsupported' && (
        <div role="alert" className="unsupported" data-code={state.code}>
          {state.message}
        </div>
      )}
      <div className="widget-log" role="log" aria-label="Conversation" ref={log}>
        {idle && (
          <div className="widget-start">
            <p>
              This chat runs a language model on your own GPU, inside this page. It downloads the model first:{' '}
              <strong data-download-size={size ?? ''}>{sizeText}</strong>
              {access === 'granted' || access === 'not-embedded'
                ? ', kept in TabScout\u2019s storage in this browser.'
                : ', kept for this site only (browsers keep embedded pages\u2019 storage apart per site, so another site that embeds TabScout downloads it again).'}
            </p>
            {initial.modelUrl === modelUrlOf(BUILTIN_MODEL.path, window.location.href) && <p data-widget-model>{BUILTIN_MODEL.short}</p>}
            {access === 'prompt' && (
              <button type="button" onClick={() => void requestStorageAccess().then((ok) => ok && setAccess('granted'))}>
                Use shared TabScout storage
              </button>
            )}
            <button type="button" onClick={start}>
              Download and start ({sizeText})
            </button>
          </div>
        )}
        {turns.map((turn, i) =>
          turn.role === 'user' ? (
            <article key={turn.key} className="turn turn-user" aria-label={`You, message ${i + 1}`}>
              <p className="turn-text">{turn.text}</p>
            </article>
          ) : (
            <article
              key={turn.key}
              className={`turn turn-assistant turn-${turn.state}`}
              aria-label={`Assistant, message ${i + 1}`}
              aria-busy={turn.state === 'streaming'}
              data-state={turn.state}
              data-text={turn.text}
            >
              <Markdown className="turn-text turn-markdown" source={turn.text} />
              {turn.error && <p className="turn-error">{turn.error}</p>}
            </article>
          ),
        )}
      </div>
      <form className="composer" onSubmit={send}>
        <textarea aria-label="Message" rows={2} value={draft} placeholder="Ask something…" onChange={(e) => setDraft(e.target.value)} onKeyDown={onKeyDown} />
        <div className="composer-buttons">
          <button type="submit" disabled={busy || !draft.trim()}>
            Send
          </button>
          <button type="button" disabled={!replies.busy} onClick={() => replies.stop()}>
            Stop
          </button>
        </div>
      </form>
    </div>
  );
}

