// ModelFiles over HTTP, the one reader for loading by URL and for imports: Range reads streamed into a buffer of the
// range's size, every request retried with exponential backoff on network errors, 5xx/429, dropped connections and
// stalls (no bytes for idleTimeoutMs), resuming a range from the last byte received. 401/403 ask for a token; 404 is
// a missing file. Every loop is bounded: attempts per request, and a retry that made no progress counts against it.
// Static hosts that ignore Range (200 with the whole file) or do not tell a file's size (chunked responses, no
// Content-Length) are served by reading such a file whole, once, and keeping it while this reader lives: the
// alternative, streaming the file from byte 0 for every tensor, moves (tensors × file size) bytes. Files larger than
// wholeFileLimit on such a host fail with a message that says what the server lacks.
import { EngineError } from '../../protocol/errors.ts';
import type { ModelFiles } from '../model/safetensors.ts';

export interface HttpOptions {
  headers?: Record<string, string>;
  /** tries per request before giving up (default 5) */
  attempts?: number;
  /** wait before the first retry, doubled each time up to maxBackoffMs (defaults 1 s, 15 s) */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** a response that sends nothing for this long is dropped and retried (default 30 s) */
  idleTimeoutMs?: number;
  /** what the user can do when a download fails for good (default: resume the import) */
  failureHint?: string;
  /** largest file read whole when the server ignores Range or sends no size (default 512 MiB) */
  wholeFileLimit?: number;
  signal?: AbortSignal;
  /** the error for a 401/403 (default: a generic "needs an access token") */
  authError?: (status: number, url: string) => EngineError;
  fetch?: typeof fetch;
  onRetry?: (info: { url: string; attempt: number; error: string; waitMs: number }) => void;
}

/** A failure worth another try. */
class Retryable extends Error {}

class NotFound extends Error {}

/** The server answered a Range request with the whole file. */
class RangeIgnored extends Error {}

const MB = (n: number) => (n < 1e6 ? `${(n / 1e3).toFixed(0)} kB` : `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`);

function cancelled(): EngineError {
  return new EngineError('cancelled', 'The import was cancelled. The records already stored are kept: start it again to resume.');
}

/**
 * Lets go of a response body we do not read. Never awaited: a cancel that does not settle (seen with bodies served
 * through a service worker) must not hold up the load.
 */
function drop(res: Response): void {
  void res.body?.cancel().catch(() => {});
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class HttpFiles implements ModelFiles {
  readonly label: string;
  private baseUrl: string;
  private sizes = new Map<string, number>();
  /** files read whole (the server ignores Range or sends no size) */
  private whole = new Map<string, Promise<Uint8Array>>();
  private rangeIgnored = new Set<string>();
  private o: Required<Omit<HttpOptions, 'signal' | 'onRetry' | 'authError'>> & HttpOptions;

  constructor(baseUrl: string, options: HttpOptions = {}) {
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
    this.label = this.baseUrl;
    this.o = { headers: {}, attempts: 5, backoffMs: 1000, maxBackoffMs: 15000, idleTimeoutMs: 30000, wholeFileLimit: 512 * 1024 ** 2, failureHint: 'Check the connection and start the import again: the records already stored are kept.', fetch: (...a) => fetch(...a), ...options };
  }

  url(name: string): string {
    return this.baseUrl + name.split('/').map(encodeURIComponent).join('/');
  }

  /**
   * Runs `once` until it succeeds, a non-retryable error, or `attempts` failures in a row; `progressed()` says
   * whether the failed try moved forward (then the count starts again).
   */
  private async retrying<T>(name: string, once: () => Promise<T>, progressed: () => boolean = () => false): Promise<T> {
    let failures = 0;
    for (;;) {
      if (this.o.signal?.aborted) throw cancelled();
      try {
        return await once();
      } catch (e) {
        if (this.o.signal?.aborted) throw cancelled();
        if (!(e instanceof Retryable)) throw e;
        failures = progressed() ? 1 : failures + 1;
        if (failures >= this.o.attempts) {
          throw new EngineError(
            'download-failed',
            `Could not download ${name} from ${new URL(this.url(name)).host}: ${e.message} (${failures} attempts). ${this.o.failureHint}`,
          );
        }
        const waitMs = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (failures - 1));
        this.o.onRetry?.({ url: this.url(name), attempt: failures, error: e.message, waitMs });
        await sleep(waitMs, this.o.signal);
      }
    }
  }

  /** One request with an idle timer that also covers the wait for headers; `use` reads the response. */
  private async request<T>(name: string, headers: Record<string, string>, use: (res: Response, touch: () => void) => Promise<T>): Promise<T> {
    const url = this.url(name);
    const abort = new AbortController();
    let stalled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        abort.abort();
      }, this.o.idleTimeoutMs);
    };
    const outer = () => abort.abort();
    this.o.signal?.addEventListener('abort', outer, { once: true });
    touch();
    try {
      let res: Response;
      try {
        res = await this.o.fetch(url, { headers: { ...this.o.headers, ...headers }, signal: abort.signal });
      } catch (e) {
        throw new Retryable(stalled ? `no response for ${this.o.idleTimeoutMs / 1000} s` : `network error (${(e as Error).message})`);
      }
      if (res.status === 401 || res.status === 403) {
        drop(res);
        throw this.o.authError?.(res.status, url) ?? new EngineError('auth-required', `${url} needs permission (HTTP ${res.status}): add an access token that can read it and try again.`);
      }
      if (res.status === 404) {
        drop(res);
        throw new NotFound(name);
      }
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        drop(res);
        throw new Retryable(`HTTP ${res.status}`);
      }
      if (!res.ok) {
        drop(res);
        throw new EngineError('download-failed', `${url}: HTTP ${res.status} ${res.statusText}`);
      }
      try {
        return await use(res, touch);
      } catch (e) {
        if (e instanceof Retryable || e instanceof EngineError || e instanceof RangeIgnored) throw e;
        throw new Retryable(stalled ? `stalled: no data for ${this.o.idleTimeoutMs / 1000} s` : `connection lost (${(e as Error).message})`);
      }
    } finally {
      clearTimeout(timer);
      this.o.signal?.removeEventListener('abort', outer);
    }
  }

  /** A whole response body; a body shorter than its Content-Length is a dropped connection (retried). */
  private async readBody(name: string, res: Response, touch: () => void, limit = Infinity): Promise<Uint8Array> {
    const expected = Number(res.headers.get('Content-Length') ?? NaN);
    const tooBig = (size: string) =>
      new EngineError(
        'download-failed',
        `${this.url(name)} is ${size} and the server ${this.rangeIgnored.has(name) ? 'ignores HTTP Range requests' : 'does not say how large the file is (no Content-Length or Content-Range)'}, so it could only be read whole, which is allowed up to ${MB(limit)}. Serve the model from a host that supports Range requests and sends Content-Length (the Hugging Face Hub and most static hosts do).`,
      );
    if (expected > limit) {
      drop(res);
      throw tooBig(MB(expected));
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      touch();
      parts.push(value);
      total += value.byteLength;
      if (total > limit) {
        void reader.cancel().catch(() => {});
        throw tooBig(`over ${MB(limit)}`);
      }
    }
    if (Number.isFinite(expected) && total !== expected && !res.headers.get('Content-Encoding')) throw new Retryable(`connection closed after ${total} of ${expected} bytes`);
    const all = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.byteLength;
    }
    return all;
  }

  /** Keeps a file read whole; ranges of it are cut from memory from then on. */
  private keepWhole(name: string, read: () => Promise<Uint8Array>): Promise<Uint8Array> {
    this.rangeIgnored.add(name);
    const bytes = read();
    this.whole.set(name, bytes);
    bytes.catch(() => this.whole.delete(name));
    return bytes;
  }

  /** The whole file, read once (plain GET) and kept. */
  private wholeFile(name: string): Promise<Uint8Array> {
    let file = this.whole.get(name);
    if (!file) {
      file = this.retrying(name, () => this.request(name, {}, (res, touch) => this.readBody(name, res, touch, this.o.wholeFileLimit))).catch((e) => {
        this.whole.delete(name);
        if (e instanceof NotFound) throw new EngineError('bad-model', `${name} is missing at ${this.baseUrl}`);
        throw e;
      });
      this.whole.set(name, file);
    }
    return file;
  }

  async maybeText(name: string): Promise<string | null> {
    try {
      const bytes = await this.retrying(name, () => this.request(name, {}, (res, touch) => this.readBody(name, res, touch)));
      return new TextDecoder().decode(bytes);
    } catch (e) {
      if (e instanceof NotFound) return null;
      throw e;
    }
  }

  async text(name: string): Promise<string> {
    const t = await this.maybeText(name);
    if (t === null) throw new EngineError('bad-model', `${name} is missing at ${this.baseUrl}`);
    return t;
  }

  /**
   * A file's size from a one-byte Range request: Content-Range's total (206), or Content-Length when the server
   * ignores Range (200). A server that tells neither (a chunked response, `bytes 0-0/*`) gets the file read whole.
   */
  async size(name: string): Promise<number> {
    const known = this.sizes.get(name);
    if (known !== undefined) return known;
    try {
      let total = await this.retrying(name, () =>
        this.request(name, { Range: 'bytes=0-0' }, async (res, touch) => {
          if (res.status === 206) {
            drop(res);
            return Number(/\/(\d+)\s*$/.exec(res.headers.get('Content-Range') ?? '')?.[1] ?? NaN);
          }
          // Range ignored: this response is the whole file, keep it (a Content-Length over the limit fails here)
          return (await this.keepWhole(name, () => this.readBody(name, res, touch, this.o.wholeFileLimit))).byteLength;
        }),
      );
      if (!Number.isFinite(total)) total = (await this.wholeFile(name)).byteLength;
      this.sizes.set(name, total);
      return total;
    } catch (e) {
      if (e instanceof NotFound) throw new EngineError('bad-model', `${name} is missing at ${this.baseUrl}`);
      throw e;
    }
  }

  /**
   * Bytes [begin, end) of a file. A dropped or stalled transfer resumes where it stopped. On a server that ignores
   * Range (or sends no size) the file is read whole once and the ranges are cut from it.
   */
  async range(name: string, begin: number, end: number): Promise<Uint8Array> {
    if (this.whole.has(name) || this.rangeIgnored.has(name)) return (await this.wholeFile(name)).slice(begin, end);
    const out = new Uint8Array(Math.max(0, end - begin));
    let got = 0;
    let before = 0;
    try {
      await this.retrying(
        name,
        async () => {
          before = got;
          if (got === out.byteLength) return;
          await this.request(name, { Range: `bytes=${begin + got}-${end - 1}` }, async (res, touch) => {
            if (res.status === 200) {
              // Range ignored: this response is the whole file; keep it and cut the range from it
              await this.keepWhole(name, () => this.readBody(name, res, touch, this.o.wholeFileLimit));
              throw new RangeIgnored();
            }
            const start = Number(/bytes (\d+)-/.exec(res.headers.get('Content-Range') ?? '')?.[1]);
            if (start !== begin + got) throw new Retryable(`the server answered bytes from ${start}, asked from ${begin + got}`);
            const reader = res.body!.getReader();
            try {
              while (got < out.byteLength) {
                const { done, value } = await reader.read();
                if (done) throw new Retryable(`connection closed after ${got} of ${out.byteLength} bytes`);
                touch();
                const n = Math.min(value.byteLength, out.byteLength - got);
                out.set(value.subarray(0, n), got);
                got += n;
              }
            } finally {
              void reader.cancel().catch(() => {});
            }
          });
        },
        () => got > before,
      );
    } catch (e) {
      if (e instanceof NotFound) throw new EngineError('bad-model', `${name} is missing at ${this.baseUrl}`);
      if (e instanceof RangeIgnored) {
        this.rangeIgnored.add(name);
        return (await this.wholeFile(name)).slice(begin, end);
      }
      throw e;
    }
    return out;
  }
}
