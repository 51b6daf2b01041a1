// Minimal streaming chat: a message log and a composer. Enter sends, Shift+Enter inserts a newline.
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { ChatMessage, GenerationResult, GenerationStats, TokenEvent } from '../worker/api.ts';
import { Comlink, type Engine } from './engine-client.ts';
import type { Settings } from './settings.ts';

interface UserTurn {
  id: number;
  role: 'user';
  text: string;
}

interface AssistantTurn {
  id: number;
  role: 'assistant';
  text: string;
  tokenIds: number[];
  state: 'streaming' | 'done' | 'error';
  stopReason?: GenerationResult['stopReason'];
  stats?: GenerationStats;
  error?: string;
}

type Turn = UserTurn | AssistantTurn;

let nextId = 1;

/** The conversation the model sees: the optional system prompt, then every finished turn. */
function conversation(system: string, turns: Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
  for (const turn of turns) {
    if (turn.role === 'assistant' && turn.state === 'error') continue;
    messages.push({ role: turn.role, content: turn.text });
  }
  return messages;
}

export function Chat({ engine, settings }: { engine: Engine | null; settings: Settings }) {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const log = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = log.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [turns]);

  const updateReply = (id: number, update: (turn: AssistantTurn) => AssistantTurn) =>
    setTurns((all) => all.map((turn) => (turn.id === id && turn.role === 'assistant' ? update(turn) : turn)));

  async function send() {
    const text = draft.trim();
    if (!engine || busy || !text) return;
    const user: UserTurn = { id: nextId++, role: 'user', text };
    const reply: AssistantTurn = { id: nextId++, role: 'assistant', text: '', tokenIds: [], state: 'streaming' };
    const messages = conversation(settings.system, [...turns, user]);
    setTurns((all) => [...all, user, reply]);
    setDraft('');
    setBusy(true);
    // A negative tokenId carries only text: the decoder's held-back bytes, flushed at the end of the reply.
    const onToken = (token: TokenEvent) =>
      updateReply(reply.id, (turn) => ({
        ...turn,
        text: turn.text + token.text,
        tokenIds: token.tokenId >= 0 ? [...turn.tokenIds, token.tokenId] : turn.tokenIds,
      }));
    try {
      const result = await engine.generate(messages, settings.sampling, Comlink.proxy(onToken));
      updateReply(reply.id, (turn) => ({ ...turn, state: 'done', stopReason: result.stopReason, stats: result.stats }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      updateReply(reply.id, (turn) => ({ ...turn, state: 'error', error: message }));
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void send();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  }

  return (
    <main className="chat">
      <div className="chat-log" role="log" aria-label="Conversation" ref={log}>
        {turns.length === 0 && <p className="chat-empty">Ask something. The model runs on your GPU, in this tab.</p>}
        {turns.map((turn, index) =>
          turn.role === 'user' ? (
            <article key={turn.id} className="turn turn-user" aria-label={`You, message ${index + 1}`}>
              <p className="turn-text">{turn.text}</p>
            </article>
          ) : (
            <AssistantReply key={turn.id} turn={turn} index={index + 1} />
          ),
        )}
      </div>
      <form className="composer" onSubmit={onSubmit}>
        <textarea
          aria-label="Message"
          placeholder={engine ? 'Message TabScout (Enter to send, Shift+Enter for a new line)' : 'Waiting for the model…'}
          value={draft}
          rows={3}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="composer-buttons">
          <button type="submit" disabled={!engine || busy || draft.trim() === ''}>
            Send
          </button>
          <button type="button" disabled={!busy} onClick={() => engine?.cancel()}>
            Stop
          </button>
        </div>
      </form>
    </main>
  );
}

function AssistantReply({ turn, index }: { turn: AssistantTurn; index: number }) {
  return (
    <article
      className={`turn turn-assistant turn-${turn.state}`}
      aria-label={`Assistant, message ${index}`}
      aria-busy={turn.state === 'streaming'}
      data-state={turn.state}
      data-stop-reason={turn.stopReason}
      data-token-ids={turn.tokenIds.join(',')}
    >
      <p className="turn-text">{turn.text}</p>
      {turn.state === 'error' && <p className="turn-error">{turn.error}</p>}
      {turn.state === 'done' && turn.stats && <ReplyStats stats={turn.stats} stopReason={turn.stopReason} />}
    </article>
  );
}

function ReplyStats({ stats, stopReason }: { stats: GenerationStats; stopReason?: GenerationResult['stopReason'] }) {
  const stopped = stopReason === 'cancelled' ? ' · stopped' : stopReason === 'length' ? ' · length limit' : '';
  return (
    <p className="turn-stats">
      {stats.generatedTokens} tokens · prefill {stats.prefillTokensPerSecond.toFixed(1)} tok/s · decode{' '}
      {stats.decodeTokensPerSecond.toFixed(1)} tok/s · first token {Math.round(stats.timeToFirstTokenMs)} ms{stopped}
    </p>
  );
}
