// The part of @huggingface/transformers the engine uses (its tokenizer and chat templates). The worker project
// (worker/tsconfig.json `paths`) type-checks against this instead of the package's own declarations, which import
// sharp's and with them @types/node: the worker must not see Node's globals. Bundlers and tsx still load the real
// package; transformers-types.test.ts checks in the Node project that the real class fits this declaration.
export declare class PreTrainedTokenizer {
  constructor(tokenizerJSON: object, tokenizerConfig: object);
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(tokenIds: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean | null }): string;
  apply_chat_template(conversation: never, options: { tokenize: false; add_generation_prompt?: boolean }): unknown;
}
