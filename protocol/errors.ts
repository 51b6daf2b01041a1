// The engine's error type: thrown in the worker, rebuilt on the UI side by comlink-errors.ts, so the UI can branch
// on `error.code`. Every message says what the user can do.

/** Closed set of error codes. */
export type EngineErrorCode =
  | 'no-webgpu'
  | 'gpu-limits'
  | 'device-lost'
  | 'bad-model'
  | 'download-failed'
  | 'context-too-long'
  | 'not-loaded'
  | 'busy'
  | 'cancelled'
  | 'bad-image'
  /** a gated or private model: the message asks for an access token */
  | 'auth-required'
  /** the browser's storage cannot hold the model: the message says how much is needed and free */
  | 'quota-exceeded';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'EngineError';
  }
}

/** Narrows an unknown thrown value to an EngineError code, if it carries one. */
export function errorCode(error: unknown): EngineErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? (code as EngineErrorCode) : undefined;
}
