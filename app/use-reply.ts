// One reply at a time through the library's chat completions (lib/): streaming, Stop, cancel and error handling,
// shared by the chat (Chat.tsx) and the widget. The callers keep their own view of the conversation.
import { useRef, useState } from 'react';
import type { ChatCompletions } from '../lib/completions.ts';
import { toTabScoutError } from '../lib/errors.ts';
import type { ChatCompletionMessageParam, ChatCompletionRequest, ContentPart } from '../lib/types.ts';
import type { ChatMessage, GenerateProgress, GenerationResult, GenerationStats, SamplingOptions } from '../protocol/api.ts';

export type ReplyOutcome =
  /** finished, or stopped by the user (stopReason 'cancelled'): the text is the reply */
  | { state: 'done'; text: string; tokenIds: number[]; stopReason: GenerationResult['stopReason']; stats: GenerationStats }
  /** cancel(): the conversation was reset under the reply; nothing of it is kept */
  | { state: 'cancelled'; text: string }
  /** the engine failed under the reply (GPU device lost, worker crashed); recovery is under way */
  | { state: 'interrupted'; code: 'device-lost' | 'worker-crashed'; error: string }
  | { state: 'error'; code: string; error: string };

export interface ReplyCallbacks {
  /** a piece of the reply as it streams, with the ids of the tokens it came from */
  onText(text: string, tokenIds: number[]): void;
  /** image tiles read before the first token */
  onProgress?(progress: GenerateProgress): void;
}

/** The engine's chat messages as OpenAI-style messages (images as Blob content parts, before the text). */
export function toRequestMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m) => {
    if (!m.images?.length) return { role: m.role, content: m.content };
    const parts: ContentPart[] = m.images.map((image) => ({
      type: 'image_url',
      // the engine names the image in its messages by the file's name: keep the app's ("Image 1 (x.png)")
      image_url: { url: image.name && !(image.data instanceof File && image.data.name === image.name) ? new File([image.data], image.name, { type: image.data.type }) : image.data },
    }));
    return { role: m.role, content: [...parts, { type: 'text', text: m.content }] };
  });
}

/** The app's sampling settings as request options. */
export function requestOptions(sampling: SamplingOptions): Partial<ChatCompletionRequest> {
  return {
    temperature: sampling.temperature,
    top_p: sampling.topP,
    top_k: sampling.topK,
    max_tokens: sampling.maxNewTokens,
    seed: sampling.seed,
    ignore_eos: sampling.ignoreEos ?? false,
  };
}

interface Running {
  abort: AbortController;
  /** cancel() rather than stop(): the reply is dropped */
  dropped: boolean;
}

/** Runs replies one at a time; `busy` is true while one runs. The functions are stable across renders. */
export function useReply(completions: ChatCompletions | null) {
  const [busy, setBusy] = useState(false);
  const running = useRef<Running | null>(null);
  const source = useRef(completions);
  source.current = completions;

  const api = useRef({
    async run(messages: ChatMessage[], sampling: SamplingOptions, callbacks: ReplyCallbacks): Promise<ReplyOutcome> {
      const completions = source.current;
      if (!completions) return { state: 'error', code: 'not-loaded', error: 'The model is not loaded yet.' };
      const mine: Running = { abort: new AbortController(), dropped: false };
      running.current = mine;
      setBusy(true);
      let text = '';
      const tokenIds: number[] = [];
      try {
        const stream = await completions.create({
          messages: toRequestMessages(messages),
          ...requestOptions(sampling),
          stream: true,
          signal: mine.abort.signal,
          onProgress: callbacks.onProgress,
        });
        let finish: string | null = null;
        let stats: GenerationStats | undefined;
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          if (choice) {
            const piece = choice.delta.content ?? '';
            text += piece;
            tokenIds.push(...choice.token_ids);
            if (piece || choice.token_ids.length) callbacks.onText(piece, choice.token_ids);
            finish = choice.finish_reason ?? finish;
          }
          if (chunk.stats) stats = chunk.stats;
        }
        return { state: 'done', text, tokenIds, stopReason: finish === 'length' ? 'length' : 'eos', stats: stats! };
      } catch (thrown) {
        const error = toTabScoutError(thrown);
        if (error.code === 'cancelled') {
          if (mine.dropped) return { state: 'cancelled', text };
          const partial = error.partial?.choices[0];
          return { state: 'done', text: partial?.message.content ?? text, tokenIds: partial?.token_ids ?? tokenIds, stopReason: 'cancelled', stats: error.partial!.stats };
        }
        if (error.code === 'device-lost' || error.code === 'worker-crashed') return { state: 'interrupted', code: error.code, error: error.message };
        return { state: 'error', code: error.code, error: error.message };
      } finally {
        if (running.current === mine) {
          running.current = null;
          setBusy(false);
        }
      }
    },
    /** The user's Stop: the reply ends where it is and is kept. */
    stop() {
      running.current?.abort.abort();
    },
    /** The conversation is reset: the reply ends and is dropped (its outcome is 'cancelled'). */
    cancel() {
      const current = running.current;
      if (!current) return;
      current.dropped = true;
      current.abort.abort();
    },
  }).current;

  return { busy, ...api };
}
