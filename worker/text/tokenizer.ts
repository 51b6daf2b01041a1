// Tokenizer and chat template through @huggingface/transformers (tokenizer.json + the Jinja template).
// transformers.js reads the template only from tokenizer_config.json; Hub repos ship it as chat_template.jinja
// or chat_template.json, so we find it ourselves and pass it in.
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { EngineError } from '../../protocol/errors.ts';
import type { ModelFiles } from '../model/safetensors.ts';

export interface TemplateMessage {
  role: string;
  content: string | { type: string; text?: string }[];
}

export class ChatTokenizer {
  private constructor(
    private tok: PreTrainedTokenizer,
    /** Python transformers has defaulted to no clean-up since 4.45; transformers.js still defaults to it */
    private cleanUpSpaces: boolean,
  ) {}

  static async load(files: ModelFiles): Promise<ChatTokenizer> {
    const tokenizerJson = await files.maybeText('tokenizer.json');
    if (!tokenizerJson) throw new EngineError('bad-model', `tokenizer.json is missing (${files.label})`);
    const config = JSON.parse((await files.maybeText('tokenizer_config.json')) ?? '{}') as Record<string, unknown>;
    const jinja = await files.maybeText('chat_template.jinja');
    const json = jinja ? null : await files.maybeText('chat_template.json');
    const template = jinja ?? (json ? (JSON.parse(json) as { chat_template: string }).chat_template : (config.chat_template as string | undefined));
    if (!template) throw new EngineError('bad-model', `no chat template found: expected chat_template.jinja, chat_template.json or tokenizer_config.json's chat_template (${files.label})`);
    return new ChatTokenizer(new PreTrainedTokenizer(JSON.parse(tokenizerJson), { ...config, chat_template: template }), config.clean_up_tokenization_spaces === true);
  }

  /** The prompt text the template makes for these messages, ending with the assistant header. */
  applyChatTemplate(messages: TemplateMessage[], addGenerationPrompt = true): string {
    return this.tok.apply_chat_template(messages as never, { tokenize: false, add_generation_prompt: addGenerationPrompt }) as string;
  }

  /** Token ids of a text that already holds its special tokens (the template emits BOS itself). */
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false });
  }

  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: this.cleanUpSpaces });
  }
}

/**
 * Turns a stream of token ids into text pieces. Decodes the whole reply each time and emits what is new,
 * holding back a trailing U+FFFD (a multi-byte character split across tokens).
 */
export class StreamingDecoder {
  private ids: number[] = [];
  private emitted = '';
  constructor(private tokenizer: ChatTokenizer) {}

  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids);
    if (text.endsWith('\uFFFD')) return '';
    // decoding is prefix-stable without clean-up; if a tokenizer rewrites earlier text, emit nothing rather
    // than repeating what the reader already has
    if (!text.startsWith(this.emitted)) return '';
    const piece = text.slice(this.emitted.length);
    this.emitted = text;
    return piece;
  }

  /** Whatever was held back at the end. */
  flush(): string {
    const text = this.tokenizer.decode(this.ids);
    const piece = text.startsWith(this.emitted) ? text.slice(this.emitted.length) : '';
    this.emitted = text;
    return piece;
  }

  /** The decode of every token so far. */
  get text(): string {
    return this.tokenizer.decode(this.ids);
  }
}
