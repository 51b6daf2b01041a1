// The conversation list: new chat, open a saved one, delete one. Entries are links (#chat=<id>), so that a
// conversation's title never becomes the name of a button.
import { memo } from 'react';
import type { ConversationSummary } from './conversations.ts';

interface SidebarProps {
  list: ConversationSummary[];
  currentId: string;
  busy: boolean;
  onNew: () => void;
  onOpen: (id: string) => unknown;
  onDelete: (id: string) => unknown;
  /** closes the list where it is a drawer (phone layout) */
  onClose: () => void;
}

export const Sidebar = memo(function Sidebar({ list, currentId, busy, onNew, onOpen, onDelete, onClose }: SidebarProps) {
  return (
      <nav className="sidebar" id="conversations" aria-label="Conversations">
        <button type="button" className="drawer-close" onClick={onClose}>
          Back to the chat
        </button>
        <button type="button" className="new-chat" onClick={onNew} disabled={busy}>
          New chat
        </button>
        {list.length === 0 ? (
          <p className="sidebar-empty">Your conversations are kept in this browser.</p>
        ) : (
          <ul className="conversation-list">
            {list.map((c) => {
              // each delete button names its chat; chats with the same title are told apart by when they were last used
              const twin = list.some((other) => other.id !== c.id && other.title === c.title);
              const label = `Delete chat: ${c.title}${twin ? ` (${new Date(c.updatedAt).toLocaleString()})` : ''}`;
            return (
              <li key={c.id} className={c.id === currentId ? 'conversation conversation-current' : 'conversation'}>
                <a
                  href={`#chat=${c.id}`}
                  aria-current={c.id === currentId ? 'page' : undefined}
                  aria-disabled={busy || undefined}
                  title={new Date(c.updatedAt).toLocaleString()}
                  onClick={(event) => {
                    event.preventDefault();
                    if (!busy && c.id !== currentId) onOpen(c.id);
                  }}
                >
                  {c.title}
                </a>
                <button
                  type="button"
                  className="conversation-delete"
                  aria-label={label}
                  title={label}
                  disabled={busy && c.id === currentId}
                  onClick={() => {
                    if (window.confirm(`Delete "${c.title}"?`)) onDelete(c.id);
                  }}
                >
                  ×
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </nav>
  );
});
