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
}

export const Sidebar = memo(function Sidebar({ list, currentId, busy, onNew, onOpen, onDelete }: SidebarProps) {
  return (
    <nav className="sidebar" aria-label="Conversations">
      <button type="button" className="new-chat" onClick={onNew} disabled={busy}>
        New chat
      </button>
      {list.length === 0 ? (
        <p className="sidebar-empty">Your conversations are kept in this browser.</p>
      ) : (
        <ul className="conversation-list">
          {list.map((c) => (
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
                aria-label="Delete this chat"
                title="Delete this chat"
                disabled={busy && c.id === currentId}
                onClick={() => {
                  if (window.confirm(`Delete "${c.title}"?`)) onDelete(c.id);
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
});
