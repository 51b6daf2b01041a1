// The chat: the message log and the composer (Composer.tsx). Images dropped anywhere on the chat are attached; they
// go before the text. The last reply can be regenerated and the last message edited and asked again; every reply has
// a copy button.
// A conversation longer than the model's context keeps its newest turns (and the system prompt): the oldest are
// left out, and a marker in the log shows where the model's view begins.
import { Fragment, memo, useCallback, useEffect, useRef, useState } from 'react';
import type { ChatMessage, GenerateProgress, GenerationResult, GenerationStats } from '../protocol/api.ts';
import { toChatImages } from './attachments.ts';
import { BUILTIN_MODEL, SCOUT_NEEDS } from './builtin-model.ts';
import { copyText } from './clipboard.ts';
import { Composer, useFileDrop, type ComposerHandle, type Draft } from './Composer.tsx';
import { newId, storeImages, toMessages, type AssistantTurn, type Turn, type UserTurn } from './conversations.ts';
import { WorkerCrashed, type EngineController } from './engine-client.ts';
import { errorCode } from '../protocol/errors.ts';
import { Markdown } from './Markdown.tsx';
import { samplingFor, type Settings } from './settings.ts';
import { imageReadingText } from './image-reading.ts';
import { Thumbnail } from './Thumbnail.tsx';
import type { Conversations } from './use-conversations.ts';
import { useReply } from './use-reply.ts';
import { useReplyStream } from './use-reply-stream.ts';

function lastIndexOf<T>(items: T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i])) return i;
  return -1;
}

/** Tokens kept free for the reply when older turns have to be left out (a quarter of the context at most). */
function replyReserve(contextLength: number, maxNewTokens: number): number {
  return Math.min(maxNewTokens, Math.floor(contextLength / 4));
}

interface ChatProps {
  engine: EngineController | null;
  settings: Settings;
  conversations: Conversations;
  onActivity: (activity: string | null) => void;
  onBusy: (busy: boolean) => void;
  /** the built-in model is the one loaded (the empty chat then says what it is and how to get a real one) */
  builtinRunning: boolean;
  /** the loaded model's context, in tokens */
  contextLength: number | null;
}

export function Chat({ engine, settings, conversations, onActivity, onBusy, builtinRunning, contextLength }: ChatProps) {
  const { current, update } = conversations;
  const turns = current.turns;
  const [busy, setBusyState] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  /** what the reply being written is waiting for (shown inside it): reading images, fitting the context */
  const [pending, setPending] = useState<string | null>(null);
  const log = useRef<HTMLDivElement>(null);
  const composer = useRef<ComposerHandle>(null);
  const drop = useFileDrop((files) => void composer.current?.addFiles(files));
  const stream = useReplyStream(update);
  const replies = useReply(engine?.chat.completions ?? null);

  const setBusy = (value: boolean) => {
    setBusyState(value);
    onBusy(value);
  };

  // Follow the reply as it streams, unless the user scrolled up to read.
  const pinnedToBottom = useRef(true);
  useEffect(() => {
    const element = log.current;
    if (element && pinnedToBottom.current) element.scrollTop = element.scrollHeight;
  }, [turns]);

  useEffect(() => {
    setEditing(null);
    // a restored or opened chat starts at its end, the last reply fully in view
    pinnedToBottom.current = true;
    requestAnimationFrame(() => {
      const element = log.current;
      if (element) element.scrollTop = element.scrollHeight;
    });
  }, [current.id]);

  /** Gives a message that was not sent back to the composer, to fix and send again. */
  function giveBack(user: UserTurn, problem: string) {
    composer.current?.giveBack({ text: user.text, attachments: user.attachments ?? [] }, problem);
  }

  /** Generates a reply to `history` (which ends with a user turn) and appends it, streaming. */
  async function reply(history: Turn[], user: UserTurn) {
    if (!engine) return;
    const answer: AssistantTurn = { id: newId(), role: 'assistant', text: '', tokenIds: [], state: 'streaming' };
    update((c) => ({ ...c, turns: [...history, answer] }), 'now');
    setBusy(true);
    pinnedToBottom.current = true;
    // "Reading image" only while the engine says it reads one (images already in its KV cache are not read again)
    let reading = false;
    let written = false;
    const doneReading = () => {
      if (reading) onActivity(null);
      reading = false;
      setPending(null);
    };
    const onProgress = (progress: GenerateProgress) => {
      const text = written ? null : imageReadingText(progress);
      if (!text) return;
      reading = true;
      onActivity(text);
      setPending(text);
    };
    stream.start(answer.id);
    try {
      const fitted = await fitContext(history);
      if ('tooLong' in fitted) {
        // even alone the message does not fit: nothing was said, so give it back to shorten
        stream.discard();
        update((c) => ({ ...c, turns: c.turns.filter((t) => t.id !== user.id && t.id !== answer.id) }), 'now');
        giveBack(user, fitted.tooLong);
        return;
      }
      const { messages, start } = fitted;
      if (start) update((c) => ({ ...c, turns: c.turns.map((t) => (t.id === answer.id ? { ...t, contextStart: start } : t)) }), 'none');
      setPending(null);
      const outcome = await replies.run(messages, samplingFor(settings), {
        onText: (text, tokenIds) => {
          written = true;
          doneReading();
          stream.push(text, tokenIds);
        },
        onProgress,
      });
      const sent = user.attachments ?? [];
      setPending(null);
      if (outcome.state === 'done') {
        // the outcome's text and ids are the whole reply (stopped by the user: what was written)
        stream.finish({ state: 'done', stopReason: outcome.stopReason, stats: outcome.stats, text: outcome.text, tokenIds: outcome.tokenIds });
      } else if (outcome.state === 'error' && (outcome.code === 'bad-image' || (outcome.code === 'bad-model' && user.images.length > 0 && sent.length > 0))) {
        // The images could not be read: nothing was said yet, so give the message back to fix and resend.
        stream.discard();
        update((c) => ({ ...c, turns: c.turns.filter((t) => t.id !== user.id && t.id !== answer.id) }), 'now');
        giveBack(user, outcome.error);
      } else if (outcome.state === 'interrupted') {
        const what = outcome.code === 'device-lost' ? 'the GPU device was lost' : 'the engine worker stopped';
        stream.finish({ state: 'interrupted', error: `Interrupted: ${what} while this reply was being written.` });
      } else if (outcome.state === 'error') {
        stream.finish({ state: 'error', error: outcome.error, errorCode: outcome.code });
      } else {
        stream.finish({ state: 'done', stopReason: 'cancelled', text: outcome.text });
      }
    } catch (error) {
      // counting the conversation's tokens failed (it reads the images too): the same outcomes as a reply's
      const message = error instanceof Error ? error.message : String(error);
      const code = errorCode(error);
      const sent = user.attachments ?? [];
      setPending(null);
      if (code === 'bad-image' || (code === 'bad-model' && user.images.length > 0 && sent.length > 0)) {
        stream.discard();
        update((c) => ({ ...c, turns: c.turns.filter((t) => t.id !== user.id && t.id !== answer.id) }), 'now');
        giveBack(user, message);
      } else if (code === 'device-lost' || error instanceof WorkerCrashed) {
        const what = code === 'device-lost' ? 'the GPU device was lost' : 'the engine worker stopped';
        stream.finish({ state: 'interrupted', error: `Interrupted: ${what} while this reply was being written.` });
      } else {
        stream.finish({ state: 'error', error: message, errorCode: code });
      }
    } finally {
      doneReading();
      setBusy(false);
    }
  }

  /**
   * The messages for a reply to `history`: all of it when it fits in the context with room for the reply, else the
   * newest turns that do (the system prompt always stays); `start` is then the first turn kept.
   */
  async function fitContext(history: Turn[]): Promise<{ messages: ChatMessage[]; start: string | null } | { tooLong: string }> {
    const all = toMessages(settings.system, history);
    if (!engine || !contextLength) return { messages: all, start: null };
    setPending('Counting the conversation\u2019s tokens…');
    const budget = contextLength - replyReserve(contextLength, settings.sampling.maxNewTokens);
    let from = 0;
    let messages = all;
    let tokens = await engine.countTokens(messages);
    const lastUser = lastIndexOf(history, (t) => t.role === 'user');
    while (tokens > budget) {
      const next = history.findIndex((t, i) => i > from && t.role === 'user');
      if (next < 0 || next > lastUser) break;
      from = next;
      messages = toMessages(settings.system, history.slice(from));
      tokens = await engine.countTokens(messages);
    }
    if (tokens >= contextLength) {
      return {
        tooLong: `This message takes ${tokens} tokens${settings.system ? ' with the system prompt' : ''}, more than the model's whole context (${contextLength} tokens). Shorten it${history[lastUser]?.role === 'user' && (history[lastUser] as UserTurn).images.length ? ' or send fewer images' : ''}.`,
      };
    }
    return { messages, start: from > 0 ? history[from].id : null };
  }

  /** Sends what the composer hands over (it checked that the model is ready and no reply is being written). */
  async function send({ text, attachments: sent }: Draft) {
    if (!engine?.ready || busy) return;
    const images = toChatImages(sent);
    const user: UserTurn = { id: newId(), role: 'user', text, images, imageKeys: [], attachments: sent };
    if (images.length) {
      try {
        user.imageKeys = await storeImages(images);
      } catch (error) {
        console.warn('Could not save the images of this message; they will not be restored after a reload.', error);
      }
    }
    await reply([...turns, user], user);
  }

  /** Replaces the last reply with a new one. */
  function regenerate() {
    if (busy || !engine?.ready) return;
    const lastUser = lastIndexOf(turns, (t) => t.role === 'user');
    if (lastUser < 0) return;
    void reply(turns.slice(0, lastUser + 1), turns[lastUser] as UserTurn);
  }

  /** Replaces the last user message's text and asks again. */
  function resubmit(id: string, text: string) {
    const index = turns.findIndex((t) => t.id === id);
    const turn = turns[index];
    if (busy || !engine?.ready || !turn || turn.role !== 'user') return;
    if (!text.trim() && turn.images.length === 0) return;
    setEditing(null);
    const edited: UserTurn = { ...turn, text: text.trim() };
    void reply([...turns.slice(0, index), edited], edited);
  }

  // Stable callbacks for the memoized turns (only the streaming reply re-renders per token).
  const latest = useRef({ regenerate, resubmit });
  latest.current = { regenerate, resubmit };
  const onRegenerate = useCallback(() => latest.current.regenerate(), []);
  const onResubmit = useCallback((id: string, text: string) => latest.current.resubmit(id, text), []);
  const onCancelEdit = useCallback(() => setEditing(null), []);
  const onStop = useCallback(() => replies.stop(), [replies]);

  const ready = !!engine?.ready;
  const lastUserId = turns[lastIndexOf(turns, (t) => t.role === 'user')]?.id;
  const lastTurn = turns.at(-1);
  // where the model's view of this chat begins (the newest reply that had to leave older turns out)
  const lastReplyTurn = turns[lastIndexOf(turns, (t) => t.role === 'assistant' && t.state !== 'error')] as AssistantTurn | undefined;
  const contextStart = lastReplyTurn?.contextStart ?? null;
  const used = lastReplyTurn?.stats ? lastReplyTurn.stats.promptTokens + lastReplyTurn.stats.generatedTokens : 0;

  return (
    <main className="chat" {...drop.handlers}>
      <div
        className="chat-log"
        role="log"
        aria-label="Conversation"
        ref={log}
        onScroll={(event) => {
          const el = event.currentTarget;
          pinnedToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {turns.length === 0 && (
          <div className="chat-empty">
            <p>Ask something, or paste a screenshot. The model runs on your GPU, in this tab.</p>
            {builtinRunning && <FirstRunNote />}
          </div>
        )}
        {turns.map((turn, index) => (
          <Fragment key={turn.id}>
          {turn.id === contextStart && (
            <p className="context-marker" role="note" data-context-marker>
              Older messages above no longer fit in the model's context ({contextLength ?? '?'} tokens): the model does not see them. Start a new chat to
              begin afresh.
            </p>
          )}
          {turn.role === 'user' ? (
            <UserMessage
              key={turn.id}
              turn={turn}
              index={index + 1}
              editable={turn.id === lastUserId && !busy && ready}
              editing={editing === turn.id}
              onEdit={setEditing}
              onCancel={onCancelEdit}
              onResubmit={onResubmit}
            />
          ) : (
            <AssistantReply
              key={turn.id}
              turn={turn}
              index={index + 1}
              canRegenerate={turn === lastTurn && !busy && ready && turn.errorCode !== 'context-too-long'}
              onRegenerate={onRegenerate}
              pending={turn.state === 'streaming' ? pending : null}
            />
          )}
          </Fragment>
        ))}
      </div>
      <Composer ref={composer} ready={ready} busy={busy} dragging={drop.dragging} onSend={(draft) => void send(draft)} onStop={onStop}>
        {contextLength && (
          <p className="context-used" data-context-used={used}>
            Context: {used} of {contextLength} tokens used{contextStart ? ' · oldest messages left out' : ''}
          </p>
        )}
      </Composer>
    </main>
  );
}

interface UserMessageProps {
  turn: UserTurn;
  index: number;
  editable: boolean;
  editing: boolean;
  onEdit: (id: string) => void;
  onCancel: () => void;
  onResubmit: (id: string, text: string) => void;
}

const UserMessage = memo(function UserMessage({ turn, index, editable, editing, onEdit, onCancel, onResubmit }: UserMessageProps) {
  const [text, setText] = useState(turn.text);
  const editor = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (editing) {
      setText(turn.text);
      editor.current?.focus();
    }
  }, [editing, turn.text]);

  return (
    <article className="turn turn-user" aria-label={`You, message ${index}`}>
      {turn.images.length > 0 && (
        <ul className="turn-images" aria-label="Images">
          {turn.images.map((image, i) => (
            <li key={i}>
              <Thumbnail blob={image.data} alt={image.name ?? `Image ${i + 1}`} />
            </li>
          ))}
        </ul>
      )}
      {editing ? (
        <form
          className="turn-edit"
          onSubmit={(event) => {
            event.preventDefault();
            onResubmit(turn.id, text);
          }}
        >
          <textarea
            ref={editor}
            aria-label="Edited text"
            value={text}
            rows={3}
            onChange={(event) => setText(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
                event.preventDefault();
                onResubmit(turn.id, text);
              } else if (event.key === 'Escape') onCancel();
            }}
          />
          <div className="turn-actions">
            <button type="submit">Save and regenerate</button>
            <button type="button" onClick={onCancel}>
              Cancel edit
            </button>
          </div>
        </form>
      ) : (
        <>
          {turn.text && <p className="turn-text">{turn.text}</p>}
          {editable && (
            <div className="turn-actions">
              <button type="button" onClick={() => onEdit(turn.id)} title="Edit this message and ask again">
                Edit
              </button>
            </div>
          )}
        </>
      )}
    </article>
  );
});

/** What the built-in model is, and how to run a real one (with the figures the import's fit check uses). */
function FirstRunNote() {
  const s = SCOUT_NEEDS;
  return (
    <div className="first-run" data-first-run>
      <p>{BUILTIN_MODEL.description}</p>
      <p data-first-run-can>{BUILTIN_MODEL.can}</p>
      <p data-first-run-cannot>{BUILTIN_MODEL.cannot}</p>
      <p>
        For real answers and screenshots, run a real model: open <strong>Installed models</strong> and install one from the Hugging Face Hub, e.g. <code>{s.repo}</code> (gated: accept
        Meta's licence on the Hub and give an access token). Llama 4 Scout in int4 needs {s.storageGB} GB of browser storage, and GPU memory for{' '}
        {s.residentGpuGB} GB of always-resident weights plus its experts: {s.expertMiB} MiB each, {s.moeLayers} layers × {s.expertsPerLayer} experts
        ({s.allExpertsGpuGB} GB all resident, {s.minExpertGpuGB} GB with one slot a layer, the rest paged in from storage). Set the expert budget under
        Settings.
      </p>
    </div>
  );
}

const AssistantReply = memo(function AssistantReply({
  turn,
  index,
  canRegenerate,
  onRegenerate,
  pending,
}: {
  turn: AssistantTurn;
  index: number;
  canRegenerate: boolean;
  onRegenerate: () => void;
  /** what the reply waits for before its first token (e.g. "Reading image: tile 2 of 4") */
  pending: string | null;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <article
      className={`turn turn-assistant turn-${turn.state}`}
      aria-label={`Assistant, message ${index}${turn.state === 'interrupted' ? ' (interrupted)' : ''}`}
      aria-busy={turn.state === 'streaming'}
      data-state={turn.state}
      data-stop-reason={turn.stopReason}
      data-token-ids={turn.tokenIds.join(',')}
      data-text={turn.text}
    >
      {pending && !turn.text && (
        <p className="turn-pending" data-reply-pending>
          {pending}
        </p>
      )}
      <Markdown className="turn-text turn-markdown" source={turn.text} />
      {(turn.state === 'error' || turn.state === 'interrupted') && <p className="turn-error">{turn.error}</p>}
      {turn.state === 'done' && turn.stats && <ReplyStats stats={turn.stats} stopReason={turn.stopReason} />}
      {turn.state !== 'streaming' && (
        <div className="turn-actions">
          {turn.text && (
            <button
              type="button"
              onClick={() => {
                void copyText(turn.text).then((ok) => {
                  setCopied(ok);
                  setTimeout(() => setCopied(false), 1500);
                });
              }}
            >
              {copied ? 'Copied' : 'Copy reply'}
            </button>
          )}
          {canRegenerate && (
            <button type="button" onClick={onRegenerate}>
              Regenerate
            </button>
          )}
        </div>
      )}
    </article>
  );
});

function ReplyStats({ stats, stopReason }: { stats: GenerationStats; stopReason?: GenerationResult['stopReason'] }) {
  const stopped = stopReason === 'cancelled' ? ' · stopped' : stopReason === 'length' ? ' · length limit' : '';
  return (
    <p className="turn-stats">
      {stats.generatedTokens} tokens · prefill {stats.prefillTokensPerSecond.toFixed(1)} tok/s · decode{' '}
      {stats.decodeTokensPerSecond.toFixed(1)} tok/s · first token {Math.round(stats.timeToFirstTokenMs)} ms{stopped}
    </p>
  );
}
