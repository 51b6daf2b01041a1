// Streams tokens into the reply being written. Tokens are gathered and applied once per animation frame (at most
// ~60 renders a second however fast the model is), and the conversation is saved about once a second while it
// streams, so a crash loses at most the last second of text.
import { startTransition, useRef } from 'react';
import type { AssistantTurn, Conversation } from './conversations.ts';
import { nextFrame } from './next-frame.ts';
import type { SaveMode } from './use-conversations.ts';

type Update = (change: (conversation: Conversation) => Conversation, save: SaveMode) => void;

export function useReplyStream(update: Update) {
  const state = useRef<{ id: string | null; text: string; ids: number[]; frame: (() => void) | null }>({ id: null, text: '', ids: [], frame: null });

  const apply = (extra: Partial<AssistantTurn> = {}, save: SaveMode = 'soon') => {
    const s = state.current;
    if (s.frame !== null) {
      s.frame();
      s.frame = null;
    }
    const id = s.id;
    if (!id) return;
    const text = s.text;
    const ids = s.ids;
    s.text = '';
    s.ids = [];
    const write = () => update(
      (c) => ({
        ...c,
        turns: c.turns.map((t) => (t.id === id && t.role === 'assistant' ? { ...t, text: t.text + text, tokenIds: ids.length ? [...t.tokenIds, ...ids] : t.tokenIds, ...extra } : t)),
      }),
      save,
    );
    // Streaming renders are transitions: React can split them and keep input responsive.
    if (save === 'soon') startTransition(write);
    else write();
  };

  return {
    start(id: string) {
      state.current = { id, text: '', ids: [], frame: null };
    },
    push(text: string, tokenIds: number[]) {
      const s = state.current;
      s.text += text;
      s.ids.push(...tokenIds);
      if (s.frame === null) s.frame = nextFrame(() => apply());
    },
    /** Applies what is left and ends the reply in its final state, saved at once. */
    finish(final: Partial<AssistantTurn>) {
      apply(final, 'now');
      state.current.id = null;
    },
    discard() {
      const s = state.current;
      s.frame?.();
      state.current = { id: null, text: '', ids: [], frame: null };
    },
  };
}
