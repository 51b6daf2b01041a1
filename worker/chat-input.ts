// Turns chat messages as the UI sends them (text and image files) into the session's prompt messages: each image
// is named by a hash of its bytes, so a picture already in the conversation is recognised without decoding it.
import type { ChatMessage, ChatImage } from '../protocol/api.ts';
import type { ModelSession, PromptMessage } from './session.ts';

import type { DecodedPixels } from './image/preprocess.ts';

export type { DecodedPixels };

/** SHA-256 of the bytes, hex: an image's identity in the KV cache. */
export async function imageKey(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function promptMessages(session: ModelSession, messages: ChatMessage[], decode: (image: ChatImage) => Promise<DecodedPixels>): Promise<PromptMessage[]> {
  return Promise.all(
    messages.map(async (m) => ({
      role: m.role,
      content: m.content,
      images: m.images ? await Promise.all(m.images.map(async (im) => session.image(await imageKey(await im.data.arrayBuffer()), () => decode(im)))) : undefined,
    })),
  );
}
