// The widget's postMessage API, version 1.
//   host → widget: {type:'tabscout:ask', id, text} · {type:'tabscout:reset'} · {type:'tabscout:config', systemPrompt?, temperature?}
//   widget → host: {type:'tabscout:ready', version} · {type:'tabscout:token', id, text} · {type:'tabscout:done', id, text}
//                  · {type:'tabscout:error', id, code, message}
//   `code` says why an ask failed: 'cancelled' when a reset (the host's tabscout:reset, or the visitor's New chat)
//   ended it, before or while it was answered (the partial reply is dropped: no tabscout:done follows);
//   'invalid-request' for a malformed message; otherwise the engine's code ('not-loaded', 'context-too-long', …).
//   Added in v1 without a version change: hosts that read only `message` keep working.
// Only messages from the parent window whose origin is in the allow-list (?origins=) are read, and the widget only
// ever posts to an allowed origin: never to '*'.
export const PROTOCOL_VERSION = 1;

export type MessageId = string | number;

export type HostMessage =
  | { type: 'tabscout:ask'; id: MessageId; text: string }
  | { type: 'tabscout:reset' }
  | { type: 'tabscout:config'; systemPrompt?: string; temperature?: number };

export type WidgetMessage =
  | { type: 'tabscout:ready'; version: number }
  | { type: 'tabscout:token'; id: MessageId; text: string }
  | { type: 'tabscout:done'; id: MessageId; text: string }
  | { type: 'tabscout:error'; id: MessageId | null; code: string; message: string };

/** Origins from a list such as "https://a.example, https://b.example" (invalid entries, '*' and 'null' dropped). */
export function parseOrigins(list: string | null): string[] {
  if (!list) return [];
  const origins = new Set<string>();
  for (const entry of list.split(/[\s,]+/)) {
    if (!entry || entry === '*' || entry === 'null') continue;
    try {
      const origin = new URL(entry).origin;
      if (origin !== 'null') origins.add(origin);
    } catch {
      // not a URL: ignored
    }
  }
  return [...origins];
}

/** A host message, or an error text when it is one of ours but malformed, or null when it is not ours. */
export function readHostMessage(data: unknown): HostMessage | { invalid: string; id: MessageId | null } | null {
  if (typeof data !== 'object' || data === null) return null;
  const message = data as Record<string, unknown>;
  if (typeof message.type !== 'string' || !message.type.startsWith('tabscout:')) return null;
  const id = typeof message.id === 'string' || typeof message.id === 'number' ? message.id : null;
  switch (message.type) {
    case 'tabscout:ask':
      if (id === null) return { invalid: 'tabscout:ask needs an id (string or number).', id: null };
      if (typeof message.text !== 'string' || !message.text.trim()) return { invalid: 'tabscout:ask needs a non-empty text.', id };
      return { type: 'tabscout:ask', id, text: message.text };
    case 'tabscout:reset':
      return { type: 'tabscout:reset' };
    case 'tabscout:config': {
      const config: HostMessage = { type: 'tabscout:config' };
      if (message.systemPrompt !== undefined) {
        if (typeof message.systemPrompt !== 'string') return { invalid: 'tabscout:config: systemPrompt must be a string.', id };
        config.systemPrompt = message.systemPrompt;
      }
      if (message.temperature !== undefined) {
        if (typeof message.temperature !== 'number' || !Number.isFinite(message.temperature) || message.temperature < 0)
          return { invalid: 'tabscout:config: temperature must be a number ≥ 0.', id };
        config.temperature = message.temperature;
      }
      return config;
    }
    default:
      return { invalid: `Unknown message type ${message.type}.`, id };
  }
}

/** Posts to the host: only to allowed origins. `to` is the origin of the message being answered, if any. */
export function makePoster(allowed: string[]) {
  return (message: WidgetMessage, to?: string) => {
    if (window.parent === window) return;
    const ancestor = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins?.[0];
    // The parent's origin when the browser tells it; otherwise each allowed origin (postMessage delivers only to a
    // window whose origin matches the target, so the others are dropped by the browser).
    const targets = to ? [to] : ancestor ? [ancestor] : allowed;
    for (const origin of targets) if (allowed.includes(origin)) window.parent.postMessage(message, origin);
  };
}
