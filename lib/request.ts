// Reads an OpenAI-style request into what the engine runs: chat messages (images fetched into Blobs) and sampling
// options. Anything TabScout does not do is refused with a message that says so, never silently ignored.
import type { ChatImage, ChatMessage, SamplingOptions } from '../protocol/api.ts';
import { invalid, TabScoutError } from './errors.ts';
import type { ChatCompletionMessageParam, ChatCompletionRequest, ContentPart } from './types.ts';

/** Llama 4's generation_config.json defaults. */
export const DEFAULT_TEMPERATURE = 0.6;
export const DEFAULT_TOP_P = 0.9;

const UNSUPPORTED: [key: string, what: string][] = [
  ['tools', 'tools (function calling)'],
  ['tool_choice', 'tools (function calling)'],
  ['functions', 'function calling'],
  ['function_call', 'function calling'],
  ['logit_bias', 'logit_bias'],
  ['audio', 'audio output'],
  ['prediction', 'predicted outputs'],
];

function finiteIn(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw invalid(`${name} must be a number from ${min} to ${max} (got ${JSON.stringify(value)}).`);
  return value;
}

function positiveInteger(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(`${name} must be a whole number ≥ 1 (got ${JSON.stringify(value)}).`);
  return value;
}

/** Checks the options (not the messages' images, which are read when the request runs). */
export function checkRequest(request: ChatCompletionRequest): { sampling: SamplingOptions; stops: string[] } {
  if (typeof request !== 'object' || request === null) throw invalid('create() needs a request object: { messages: [...] }.');
  if (!Array.isArray(request.messages) || request.messages.length === 0) throw invalid('messages must be a non-empty array of { role, content }.');
  const raw = request as unknown as Record<string, unknown>;
  for (const [key, what] of UNSUPPORTED) if (raw[key] !== undefined && raw[key] !== null) throw invalid(`TabScout does not support ${what} (${key}).`);
  if (raw.logprobs === true || raw.top_logprobs !== undefined) throw invalid('TabScout does not return logprobs.');
  const format = raw.response_format as { type?: string } | undefined;
  if (format && format.type !== 'text') throw invalid(`TabScout does not support response_format ${JSON.stringify(format.type)} (only plain text).`);
  for (const penalty of ['frequency_penalty', 'presence_penalty']) {
    if (raw[penalty] !== undefined && raw[penalty] !== null && raw[penalty] !== 0) throw invalid(`TabScout does not support ${penalty} (only 0).`);
  }
  if (request.n !== undefined && request.n !== null && request.n !== 1) throw invalid('n must be 1: TabScout writes one reply per request.');
  request.messages.forEach(checkMessage);

  const temperature = finiteIn('temperature', request.temperature, 0, 2) ?? DEFAULT_TEMPERATURE;
  const topP = finiteIn('top_p', request.top_p, 0, 1) ?? DEFAULT_TOP_P;
  const topK = request.top_k === undefined || request.top_k === null ? 0 : request.top_k === 0 ? 0 : positiveInteger('top_k', request.top_k)!;
  const maxTokens = positiveInteger('max_tokens', request.max_tokens) ?? positiveInteger('max_completion_tokens', request.max_completion_tokens);
  let seed = Math.floor(Math.random() * 2 ** 31);
  if (request.seed !== undefined && request.seed !== null) {
    if (typeof request.seed !== 'number' || !Number.isSafeInteger(request.seed)) throw invalid(`seed must be a whole number (got ${JSON.stringify(request.seed)}).`);
    seed = request.seed;
  }
  const stops = request.stop === undefined || request.stop === null ? [] : typeof request.stop === 'string' ? [request.stop] : request.stop;
  if (!Array.isArray(stops) || stops.length > 4 || stops.some((s) => typeof s !== 'string' || s === '')) throw invalid('stop must be a non-empty string or an array of up to 4 of them.');
  if (request.signal !== undefined && !(request.signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal.');
  return {
    sampling: {
      // the engine stops at the end of the context anyway
      maxNewTokens: maxTokens ?? Number.MAX_SAFE_INTEGER,
      temperature,
      topK,
      topP,
      seed,
      ignoreEos: request.ignore_eos === true,
    },
    stops,
  };
}

function checkMessage(message: ChatCompletionMessageParam, index: number): void {
  const where = `messages[${index}]`;
  if (typeof message !== 'object' || message === null) throw invalid(`${where} must be an object { role, content }.`);
  const role = (message as { role?: unknown }).role;
  if (role === 'tool' || role === 'function') throw invalid(`${where}: TabScout does not support tools, so there are no ${role} messages.`);
  if (role !== 'system' && role !== 'developer' && role !== 'user' && role !== 'assistant') throw invalid(`${where}.role must be 'system', 'developer', 'user' or 'assistant' (got ${JSON.stringify(role)}).`);
  const content = message.content;
  if (content === null || content === undefined) {
    if (role !== 'assistant') throw invalid(`${where}.content is missing.`);
    return;
  }
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) throw invalid(`${where}.content must be a string or an array of content parts.`);
  content.forEach((part: ContentPart, i) => {
    const at = `${where}.content[${i}]`;
    if (part?.type === 'text') {
      if (typeof part.text !== 'string') throw invalid(`${at}.text must be a string.`);
    } else if (part?.type === 'image_url') {
      if (role !== 'user') throw invalid(`${at}: only user messages can carry images.`);
      const url = imageSource(part);
      if (!(typeof url === 'string' && url !== '') && !(typeof Blob !== 'undefined' && url instanceof Blob)) {
        throw invalid(`${at}.image_url.url must be a data: or blob: URL, or a Blob.`);
      }
    } else {
      throw invalid(`${at}.type must be 'text' or 'image_url' (got ${JSON.stringify((part as { type?: unknown })?.type)}).`);
    }
  });
}

function imageSource(part: Extract<ContentPart, { type: 'image_url' }>): unknown {
  const image = part.image_url as unknown;
  return typeof image === 'string' ? image : (image as { url?: unknown } | null)?.url;
}

async function readImage(source: string | Blob, label: string): Promise<ChatImage> {
  if (typeof source !== 'string') return { data: source, name: typeof File !== 'undefined' && source instanceof File && source.name ? source.name : label };
  try {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return { data: await response.blob(), name: label };
  } catch (error) {
    const shown = source.length > 60 ? `${source.slice(0, 60)}…` : source;
    throw new TabScoutError('bad-image', `${label} could not be fetched from ${shown} (${(error as Error).message}). Pass a data: or blob: URL that is still valid, or the Blob itself.`, { cause: error });
  }
}

/** The request's messages as the engine takes them: text parts joined, images fetched (in order, before the text). */
export async function toEngineMessages(messages: ChatCompletionMessageParam[]): Promise<ChatMessage[]> {
  let imageCount = 0;
  const out: ChatMessage[] = [];
  for (const message of messages) {
    const role = message.role === 'developer' ? 'system' : message.role;
    const content = message.content ?? '';
    if (typeof content === 'string') {
      out.push({ role, content });
      continue;
    }
    const texts: string[] = [];
    const images: ChatImage[] = [];
    for (const part of content) {
      if (part.type === 'text') texts.push(part.text);
      else images.push(await readImage(imageSource(part) as string | Blob, `Image ${++imageCount}`));
    }
    out.push(images.length ? { role, content: texts.join('\n'), images } : { role, content: texts.join('\n') });
  }
  return out;
}
