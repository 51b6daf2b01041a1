// The conversation list and the open conversation, restored from IndexedDB at start and saved as they change.
import { useCallback, useEffect, useRef, useState } from 'react';
import {
  activeConversationId,
  deleteConversation,
  listConversations,
  loadConversation,
  newConversation,
  saveConversation,
  setActiveConversation,
  titleOf,
  type Conversation,
  type ConversationSummary,
} from './conversations.ts';

/** 'now': save at once; 'soon': at most once a second (streaming); 'none': memory only. */
export type SaveMode = 'now' | 'soon' | 'none';

const SAVE_INTERVAL_MS = 1000;

export interface Conversations {
  /** false until the saved state is read */
  restored: boolean;
  list: ConversationSummary[];
  current: Conversation;
  update(change: (conversation: Conversation) => Conversation, save: SaveMode): void;
  open(id: string): Promise<void>;
  startNew(): void;
  remove(id: string): Promise<void>;
}

export function useConversations(): Conversations {
  const [restored, setRestored] = useState(false);
  const [list, setList] = useState<ConversationSummary[]>([]);
  const [current, setCurrent] = useState<Conversation>(newConversation);
  const ref = useRef(current);
  const lastSave = useRef(0);

  const show = useCallback((conversation: Conversation) => {
    ref.current = conversation;
    setCurrent(conversation);
  }, []);

  const refreshList = useCallback(async () => setList(await listConversations()), []);

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const [all, activeId] = await Promise.all([listConversations(), activeConversationId()]);
        const id = activeId ?? all[0]?.id;
        const active = id ? await loadConversation(id) : null;
        if (!live) return;
        setList(all);
        if (active && ref.current.turns.length === 0) show(active);
      } catch (error) {
        console.warn('Could not restore the conversations', error);
      } finally {
        if (live) setRestored(true);
      }
    })();
    return () => {
      live = false;
    };
  }, [show]);

  const persist = useCallback(
    (conversation: Conversation) => {
      lastSave.current = performance.now();
      if (conversation.turns.length === 0) return;
      void saveConversation(conversation)
        .then(() => setActiveConversation(conversation.id))
        .then(refreshList)
        .catch((error) => console.warn('Could not save the conversation', error));
    },
    [refreshList],
  );

  const update = useCallback(
    (change: (conversation: Conversation) => Conversation, save: SaveMode) => {
      const changed = change(ref.current);
      const next = { ...changed, title: titleOf(changed.turns), updatedAt: Date.now() };
      show(next);
      if (save === 'now' || (save === 'soon' && performance.now() - lastSave.current >= SAVE_INTERVAL_MS)) persist(next);
    },
    [persist, show],
  );

  const open = useCallback(
    async (id: string) => {
      const conversation = await loadConversation(id);
      if (!conversation) {
        await refreshList();
        return;
      }
      show(conversation);
      await setActiveConversation(id);
    },
    [refreshList, show],
  );

  const startNew = useCallback(() => show(newConversation()), [show]);

  const remove = useCallback(
    async (id: string) => {
      await deleteConversation(id);
      const all = await listConversations();
      setList(all);
      if (ref.current.id === id) {
        const next = all[0] ? await loadConversation(all[0].id) : null;
        show(next ?? newConversation());
        if (next) await setActiveConversation(next.id);
      }
    },
    [show],
  );

  return { restored, list, current, update, open, startNew, remove };
}
