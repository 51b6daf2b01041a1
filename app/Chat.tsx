// Minimal streaming chat: a message log and a composer. Enter sends, Shift+Enter inserts a newline. Images can be
// pasted (Ctrl+V / Cmd+V), dropped onto the chat, or picked with "Attach image"; they go before the text.
import { useEffect, useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent } from 'react';
import type { ChatImage, ChatMessage, GenerateProgress, GenerationResult, GenerationStats, TokenEvent } from '../worker/api.ts';
import { errorCode } from '../worker/comlink-errors.ts';
import { attach, attachmentName, dragHasFiles, filesOf, toChatImages, type Attachment } from './attachments.ts';
import { Comlink, type Engine } from './engine-client.ts';
import type { Settings } from './settings.ts';
import { Thumbnail } from './Thumbnail.tsx';

interface UserTurn {
  id: number;
  role: 'user';
  text: string;
  images: ChatImage[];
  /** what was attached, to give it back to the composer if the worker refuses an image */
  attachments: Attachment[];
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
    if (turn.role === 'user' && turn.images.length > 0) messages.push({ role: 'user', content: turn.text, images: turn.images });
    else messages.push({ role: turn.role, content: turn.text });
  }
  return messages;
}

/** Status line text while the model reads the conversation's images. */
function readingImage(progress?: GenerateProgress): string {
  return progress ? `Reading image: tile ${progress.tile} of ${progress.tiles}` : 'Reading image…';
}

export function Chat({ engine, settings, onActivity }: { engine: Engine | null; settings: Settings; onActivity: (activity: string | null) => void }) {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState('');
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const log = useRef<HTMLDivElement>(null);
  const textbox = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const removeButtons = useRef<(HTMLButtonElement | null)[]>([]);
  const focusAfterRemove = useRef<number | null>(null);

  useEffect(() => {
    const element = log.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [turns]);

  // After a thumbnail is removed, keep keyboard focus in the same place: the next image's remove button, else
  // the previous one, else the message box.
  useEffect(() => {
    const index = focusAfterRemove.current;
    if (index === null) return;
    focusAfterRemove.current = null;
    const target = removeButtons.current[Math.min(index, attachments.length - 1)];
    (target ?? textbox.current)?.focus();
  }, [attachments]);

  const updateReply = (id: number, update: (turn: AssistantTurn) => AssistantTurn) =>
    setTurns((all) => all.map((turn) => (turn.id === id && turn.role === 'assistant' ? update(turn) : turn)));

  function addFiles(files: File[]) {
    if (files.length === 0) return;
    const { added, refused } = attach(files);
    if (added.length > 0) setAttachments((all) => [...all, ...added]);
    setProblem(refused);
  }

  function removeAttachment(index: number) {
    focusAfterRemove.current = index;
    setAttachments((all) => all.filter((_, i) => i !== index));
    setProblem(null);
  }

  async function send() {
    const text = draft.trim();
    if (!engine || busy || (!text && attachments.length === 0)) return;
    const sent = attachments;
    const user: UserTurn = { id: nextId++, role: 'user', text, images: toChatImages(sent), attachments: sent };
    const reply: AssistantTurn = { id: nextId++, role: 'assistant', text: '', tokenIds: [], state: 'streaming' };
    const messages = conversation(settings.system, [...turns, user]);
    const withImages = messages.some((m) => m.images?.length);
    setTurns((all) => [...all, user, reply]);
    setDraft('');
    setAttachments([]);
    setProblem(null);
    setBusy(true);
    if (withImages) onActivity(readingImage());
    let reading = withImages;
    const doneReading = () => {
      if (reading) onActivity(null);
      reading = false;
    };
    const onProgress = (progress: GenerateProgress) => {
      if (reading && progress.phase === 'image') onActivity(readingImage(progress));
    };
    // A negative tokenId carries only text: the decoder's held-back bytes, flushed at the end of the reply.
    const onToken = (token: TokenEvent) => {
      doneReading();
      updateReply(reply.id, (turn) => ({
        ...turn,
        text: turn.text + token.text,
        tokenIds: token.tokenId >= 0 ? [...turn.tokenIds, token.tokenId] : turn.tokenIds,
      }));
    };
    try {
      const result = await engine.generate(messages, settings.sampling, Comlink.proxy(onToken), Comlink.proxy(onProgress));
      updateReply(reply.id, (turn) => ({ ...turn, state: 'done', stopReason: result.stopReason, stats: result.stats }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = errorCode(error);
      if (code === 'bad-image' || (code === 'bad-model' && sent.length > 0)) {
        // The images could not be read: nothing was said yet, so give the message back to fix and resend.
        setTurns((all) => all.filter((turn) => turn.id !== user.id && turn.id !== reply.id));
        setDraft((current) => (current.trim() ? `${text}\n${current}` : text));
        setAttachments((current) => [...sent, ...current]);
        setProblem(message);
        textbox.current?.focus();
      } else {
        updateReply(reply.id, (turn) => ({ ...turn, state: 'error', error: message }));
      }
    } finally {
      doneReading();
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

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const files = filesOf(event.clipboardData);
    if (files.length === 0) return; // text only: the browser pastes it as usual
    // Keep the browser from also pasting a file name; text copied along with a picture is still pasted.
    if (!event.clipboardData.types.includes('text/plain')) event.preventDefault();
    addFiles(files);
  }

  function onDragOver(event: DragEvent) {
    if (!dragHasFiles(event.dataTransfer)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  }

  function onDragLeave(event: DragEvent) {
    if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
  }

  function onDrop(event: DragEvent) {
    setDragging(false);
    const files = filesOf(event.dataTransfer);
    if (files.length === 0) return;
    event.preventDefault();
    addFiles(files);
  }

  const canSend = !!engine && !busy && (draft.trim() !== '' || attachments.length > 0);

  return (
    <main className="chat" onDragEnter={onDragOver} onDragOver={onDragOver} onDragLeave={onDragLeave} onDrop={onDrop}>
      <div className="chat-log" role="log" aria-label="Conversation" ref={log}>
        {turns.length === 0 && <p className="chat-empty">Ask something, or paste a screenshot. The model runs on your GPU, in this tab.</p>}
        {turns.map((turn, index) =>
          turn.role === 'user' ? (
            <UserMessage key={turn.id} turn={turn} index={index + 1} />
          ) : (
            <AssistantReply key={turn.id} turn={turn} index={index + 1} />
          ),
        )}
      </div>
      <form className={`composer${dragging ? ' composer-dragging' : ''}`} onSubmit={onSubmit}>
        <div className="composer-main">
          {attachments.length > 0 && (
            <ul className="attachments" aria-label="Attached images">
              {attachments.map((attachment, i) => (
                <li key={attachment.id} className="attachment">
                  <Thumbnail blob={attachment.file} alt={attachmentName(i + 1, attachment.fileName)} />
                  <button
                    type="button"
                    className="attachment-remove"
                    aria-label={`Remove image ${i + 1}`}
                    title={`Remove ${attachment.fileName}`}
                    ref={(element) => {
                      removeButtons.current[i] = element;
                    }}
                    onClick={() => removeAttachment(i)}
                  >
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          <textarea
            ref={textbox}
            aria-label="Message"
            aria-describedby="composer-problem"
            placeholder={engine ? 'Message TabScout (Enter to send, Shift+Enter for a new line; paste or drop images)' : 'Waiting for the model…'}
            value={draft}
            rows={3}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={onKeyDown}
            onPaste={onPaste}
          />
          <div id="composer-problem" role="alert" className="composer-problem">
            {problem}
          </div>
        </div>
        <div className="composer-buttons">
          <button type="submit" disabled={!canSend}>
            Send
          </button>
          <button type="button" disabled={!busy} onClick={() => engine?.cancel()}>
            Stop
          </button>
          <button type="button" onClick={() => picker.current?.click()}>
            Attach image
          </button>
          <input
            ref={picker}
            type="file"
            accept="image/*"
            multiple
            hidden
            tabIndex={-1}
            onChange={(event) => {
              addFiles([...(event.target.files ?? [])]);
              event.target.value = ''; // picking the same file again still reports a change
            }}
          />
        </div>
      </form>
    </main>
  );
}

function UserMessage({ turn, index }: { turn: UserTurn; index: number }) {
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
      {turn.text && <p className="turn-text">{turn.text}</p>}
    </article>
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
