// Typed errors of the library: the engine's codes (protocol/api.ts) plus the few the library adds. Every message says
// what the user (or the developer) can do.
import type { ChatCompletion, EngineErrorCode } from './types.ts';

export type TabScoutErrorCode =
  | EngineErrorCode
  /** the request itself is wrong (unknown role, unsupported option, bad value): fix the call */
  | 'invalid-request'
  /** the engine's worker stopped (crashed, out of memory): create a new engine */
  | 'worker-crashed'
  /** anything else the engine threw */
  | 'internal';

export class TabScoutError extends Error {
  readonly code: TabScoutErrorCode;
  /** for code 'cancelled' (an aborted request): the reply so far, with its usage */
  readonly partial?: ChatCompletion;

  constructor(code: TabScoutErrorCode, message: string, options: { cause?: unknown; partial?: ChatCompletion } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    // An aborted request reads like an aborted fetch: `error.name === 'AbortError'`.
    this.name = code === 'cancelled' ? 'AbortError' : 'TabScoutError';
    if (options.partial) this.partial = options.partial;
  }
}

/** Every code (a Record, so that the compiler notices a code missing here). */
const CODES: Record<TabScoutErrorCode, true> = {
  'no-webgpu': true, 'gpu-limits': true, 'device-lost': true, 'bad-model': true, 'download-failed': true,
  'context-too-long': true, 'not-loaded': true, busy: true, cancelled: true, 'bad-image': true, 'auth-required': true,
  'quota-exceeded': true, 'invalid-request': true, 'worker-crashed': true, internal: true,
};

/** Any thrown value as a TabScoutError, keeping the engine's code and message. */
export function toTabScoutError(error: unknown): TabScoutError {
  if (error instanceof TabScoutError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && Object.hasOwn(CODES, code)) return new TabScoutError(code as TabScoutErrorCode, message, { cause: error });
  return new TabScoutError('internal', `The engine failed: ${message}. Reload the page; if it happens again, report it with the browser console's output.`, { cause: error });
}

export function invalid(message: string): TabScoutError {
  return new TabScoutError('invalid-request', message);
}
