// Conversations and their persistence in IndexedDB. One record per conversation (turns without image bytes), one
// record per image Blob (written once, when the message is sent), and an index of all conversations for the list.
// A reply still streaming when the page died is restored as 'interrupted'.
import type { ChatImage, ChatMessage, GenerationResult, GenerationStats } from '../protocol/api.ts';
import type { Attachment } from './attachments.ts';
import { appStore, del, delMany, get, getMany, set, setMany } from './db.ts';

export interface UserTurn {
  id: string;
  role: 'user';
  text: string;
  images: ChatImage[];
  /** IndexedDB keys of the images, in order */
  imageKeys: string[];
  /** what was attached, to give it back to the composer if the worker refuses an image (not persisted) */
  attachments?: Attachment[];
}

export type ReplyState = 'streaming' | 'done' | 'error' | 'interrupted';

export interface AssistantTurn {
  id: string;
  role: 'assistant';
  text: string;
  tokenIds: number[];
  state: ReplyState;
  stopReason?: GenerationResult['stopReason'];
  stats?: GenerationStats;
  /** why the reply failed or was interrupted */
  error?: string;
  /** the engine's error code when it failed (an error that would repeat is not offered for Regenerate) */
  errorCode?: string;
  /** the first turn the model saw for this reply, when older turns no longer fit in its context */
  contextStart?: string;
}

export type Turn = UserTurn | AssistantTurn;

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  turns: Turn[];
}

export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: number;
}

interface StoredUserTurn extends Omit<UserTurn, 'images' | 'attachments'> {
  imageNames: string[];
}
type StoredTurn = StoredUserTurn | AssistantTurn;
interface StoredConversation extends Omit<Conversation, 'turns'> {
  turns: StoredTurn[];
}

const INDEX_KEY = 'conversations';
const ACTIVE_KEY = 'activeConversation';
const conversationKey = (id: string) => `conversation:${id}`;

export function newId(): string {
  return crypto.randomUUID();
}

export function newConversation(): Conversation {
  const now = Date.now();
  return { id: newId(), title: 'New chat', createdAt: now, updatedAt: now, turns: [] };
}

/** A short title from the first user message. */
export function titleOf(turns: Turn[]): string {
  const first = turns.find((t): t is UserTurn => t.role === 'user');
  if (!first) return 'New chat';
  const text = first.text.replace(/\s+/g, ' ').trim();
  if (!text) return first.images.length ? 'Image' : 'New chat';
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

/** The conversation the model sees: the optional system prompt, then every turn that did not fail. */
export function toMessages(system: string, turns: Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
  for (const turn of turns) {
    if (turn.role === 'assistant' && (turn.state === 'error' || turn.state === 'streaming')) continue;
    if (turn.role === 'user' && turn.images.length > 0) messages.push({ role: 'user', content: turn.text, images: turn.images });
    else messages.push({ role: turn.role, content: turn.text });
  }
  return messages;
}

export async function listConversations(): Promise<ConversationSummary[]> {
  const index = (await get<ConversationSummary[]>(INDEX_KEY, appStore())) ?? [];
  return [...index].sort((a, b) => b.updatedAt - a.updatedAt);
}

export async function activeConversationId(): Promise<string | null> {
  return (await get<string>(ACTIVE_KEY, appStore())) ?? null;
}

export async function setActiveConversation(id: string): Promise<void> {
  await set(ACTIVE_KEY, id, appStore());
}

/** Stores the images of a message once, when it is sent; returns their keys. */
export async function storeImages(images: ChatImage[]): Promise<string[]> {
  const keys = images.map(() => `image:${newId()}`);
  if (keys.length) await setMany(keys.map((key, i) => [key, images[i].data]), appStore());
  return keys;
}

let writes: Promise<unknown> = Promise.resolve();

/** Saves the conversation and its line in the index; writes are queued so that an older one never lands last. */
export function saveConversation(conversation: Conversation): Promise<void> {
  const stored: StoredConversation = {
    ...conversation,
    turns: conversation.turns.map((turn) => {
      if (turn.role === 'assistant') return { ...turn };
      const { images, attachments: _attachments, ...rest } = turn;
      return { ...rest, imageNames: images.map((image, i) => image.name ?? `Image ${i + 1}`) };
    }),
  };
  const write = writes.then(async () => {
    await set(conversationKey(conversation.id), stored, appStore());
    const index = ((await get<ConversationSummary[]>(INDEX_KEY, appStore())) ?? []).filter((c) => c.id !== conversation.id);
    index.push({ id: conversation.id, title: conversation.title, updatedAt: conversation.updatedAt });
    await set(INDEX_KEY, index, appStore());
  });
  writes = write.catch((error) => console.warn('Could not save the conversation', error));
  return write;
}

export async function loadConversation(id: string): Promise<Conversation | null> {
  const stored = await get<StoredConversation>(conversationKey(id), appStore());
  if (!stored) return null;
  const keys = stored.turns.flatMap((t) => (t.role === 'user' ? t.imageKeys : []));
  const blobs = keys.length ? await getMany<Blob | undefined>(keys, appStore()) : [];
  const byKey = new Map(keys.map((key, i) => [key, blobs[i]]));
  const turns: Turn[] = stored.turns.map((turn) => {
    if (turn.role === 'assistant') {
      return turn.state === 'streaming'
        ? { ...turn, state: 'interrupted', error: 'Interrupted: the page closed or crashed before this reply finished.' }
        : turn;
    }
    const { imageNames, ...rest } = turn;
    const images: ChatImage[] = [];
    turn.imageKeys.forEach((key, i) => {
      const data = byKey.get(key);
      if (data) images.push({ data, name: imageNames[i] });
    });
    return { ...rest, images };
  });
  return { ...stored, turns };
}

export async function deleteConversation(id: string): Promise<void> {
  await writes;
  const stored = await get<StoredConversation>(conversationKey(id), appStore());
  const keys = stored?.turns.flatMap((t) => (t.role === 'user' ? t.imageKeys : [])) ?? [];
  if (keys.length) await delMany(keys, appStore());
  await del(conversationKey(id), appStore());
  const index = ((await get<ConversationSummary[]>(INDEX_KEY, appStore())) ?? []).filter((c) => c.id !== id);
  await set(INDEX_KEY, index, appStore());
}
