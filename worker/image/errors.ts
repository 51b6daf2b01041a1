// Errors for bad image input (not a bad model): a file that is not a decodable image, a 0×0 image, an image too
// large to decode. Carries `code: 'bad-image'` so the Comlink error bridge (protocol/comlink-errors.ts) keeps it
// across the worker boundary like an EngineError's code. Model-side problems (missing or malformed processor
// configs) are EngineError('bad-model') instead.
export class ImageError extends Error {
  readonly code = 'bad-image' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}
