// The message composer: the text box, the attached images, Send, Stop and Attach image. Enter sends, Shift+Enter
// inserts a newline, Esc stops a reply wherever the focus is. Images can be pasted (Ctrl+V / Cmd+V), picked with
// "Attach image", or dropped anywhere on the drop zone its owner wires up with useFileDrop. The composer keeps the
// draft; its owner takes it through onSend and can give a message back (giveBack) when the model could not take it.
import { useEffect, useImperativeHandle, useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent, type ReactNode, type Ref } from 'react';
import { attach, attachmentName, checkImage, dragHasFiles, filesOf, type Attachment } from './attachments.ts';
import { Thumbnail } from './Thumbnail.tsx';

/** A message as the composer hands it over. */
export interface Draft {
  text: string;
  attachments: Attachment[];
}

/** What the composer's owner can do to it. */
export interface ComposerHandle {
  /** attaches the images among `files` (dropped outside the composer); says which are refused */
  addFiles(files: File[]): Promise<void>;
  /** puts a message that was not sent back in front of the current draft, shows why, and focuses the text box */
  giveBack(draft: Draft, problem: string): void;
}

interface ComposerProps {
  ref?: Ref<ComposerHandle>;
  /** the model can take a message */
  ready: boolean;
  /** a reply is being written (Send waits, Stop and Esc stop it) */
  busy: boolean;
  /** files are dragged over the drop zone */
  dragging?: boolean;
  /** called with the trimmed text and the images; the composer is empty again when this is called */
  onSend(draft: Draft): void;
  onStop(): void;
  /** shown under the text box (e.g. the context used) */
  children?: ReactNode;
}

export function Composer({ ref, ready, busy, dragging = false, onSend, onStop, children }: ComposerProps) {
  const [draft, setDraft] = useState('');
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const textbox = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const removeButtons = useRef<(HTMLButtonElement | null)[]>([]);
  const focusAfterRemove = useRef<number | null>(null);
  const attachmentsRef = useRef(attachments);
  attachmentsRef.current = attachments;

  // After a thumbnail is removed, keep keyboard focus in the same place: the next image's remove button, else
  // the previous one, else the message box.
  useEffect(() => {
    const index = focusAfterRemove.current;
    if (index === null) return;
    focusAfterRemove.current = null;
    const target = removeButtons.current[Math.min(index, attachments.length - 1)];
    (target ?? textbox.current)?.focus();
  }, [attachments]);

  // Esc stops the reply being written, wherever the focus is.
  useEffect(() => {
    if (!busy) return;
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) onStop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [busy, onStop]);

  /** Attaches the images that decode; says at once which files are not images or cannot be read. */
  async function addFiles(files: File[]) {
    if (files.length === 0) return;
    const { added, refused } = attach(files);
    const problems = refused ? [refused] : [];
    const good: Attachment[] = [];
    for (const attachment of added) {
      const position = attachmentsRef.current.length + good.length + 1;
      const bad = await checkImage(attachment.file, attachmentName(position, attachment.fileName));
      if (bad) problems.push(bad);
      else good.push(attachment);
    }
    if (good.length > 0) setAttachments((all) => [...all, ...good]);
    setProblem(problems.length ? problems.join(' ') : null);
  }

  useImperativeHandle(ref, () => ({
    addFiles,
    giveBack({ text, attachments: images }, why) {
      setDraft((current) => (current.trim() ? `${text}\n${current}` : text));
      setAttachments((current) => [...images, ...current]);
      setProblem(why);
      textbox.current?.focus();
    },
  }));

  function removeAttachment(index: number) {
    focusAfterRemove.current = index;
    setAttachments((all) => all.filter((_, i) => i !== index));
    setProblem(null);
  }

  function send() {
    const text = draft.trim();
    if (!ready || busy || (!text && attachments.length === 0)) return;
    const sent = attachments;
    setDraft('');
    setAttachments([]);
    setProblem(null);
    onSend({ text, attachments: sent });
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    send();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const files = filesOf(event.clipboardData);
    if (files.length === 0) return; // text only: the browser pastes it as usual
    // Keep the browser from also pasting a file name; text copied along with a picture is still pasted.
    if (!event.clipboardData.types.includes('text/plain')) event.preventDefault();
    void addFiles(files);
  }

  const canSend = ready && !busy && (draft.trim() !== '' || attachments.length > 0);

  return (
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
          placeholder={ready ? 'Message TabScout (Enter to send, Shift+Enter for a new line; paste or drop images)' : 'Waiting for the model…'}
          value={draft}
          rows={3}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        <div id="composer-problem" role="alert" className="composer-problem">
          {problem}
        </div>
        {children}
      </div>
      <div className="composer-buttons">
        <button type="submit" disabled={!canSend}>
          Send
        </button>
        <button type="button" disabled={!busy} onClick={onStop}>
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
            void addFiles([...(event.target.files ?? [])]);
            event.target.value = ''; // picking the same file again still reports a change
          }}
        />
      </div>
    </form>
  );
}

/** Drag and drop of files onto an element (the whole chat): whether files are over it, and its handlers. */
export function useFileDrop(onFiles: (files: File[]) => void) {
  const [dragging, setDragging] = useState(false);
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
    onFiles(files);
  }
  return { dragging, handlers: { onDragEnter: onDragOver, onDragOver, onDragLeave, onDrop } };
}
