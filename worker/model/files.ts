// ModelFiles over HTTP: a base URL laid out like a Hugging Face repo (…/resolve/<rev>/ or a static folder),
// read with Range requests so no shard is ever fetched whole.
import { EngineError } from '../../protocol/errors.ts';
import type { ModelFiles } from './safetensors.ts';

export class HttpModelFiles implements ModelFiles {
  private sizes = new Map<string, number>();
  readonly label: string;

  constructor(private baseUrl: string, private headers: Record<string, string> = {}) {
    this.label = baseUrl;
    if (!this.baseUrl.endsWith('/')) this.baseUrl += '/';
  }

  private url(name: string): string {
    return this.baseUrl + name;
  }

  private async get(name: string, extra: Record<string, string> = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url(name), { headers: { ...this.headers, ...extra } });
    } catch (e) {
      throw new EngineError('download-failed', `Could not reach ${this.url(name)}: ${(e as Error).message}. Check the connection and try again.`);
    }
    return res;
  }

  async maybeText(name: string): Promise<string | null> {
    const res = await this.get(name);
    if (res.status === 404) return null;
    if (!res.ok) throw new EngineError('download-failed', `${this.url(name)}: HTTP ${res.status}`);
    return res.text();
  }

  async text(name: string): Promise<string> {
    const t = await this.maybeText(name);
    if (t === null) throw new EngineError('bad-model', `${name} is missing at ${this.baseUrl}`);
    return t;
  }

  async size(name: string): Promise<number> {
    const known = this.sizes.get(name);
    if (known !== undefined) return known;
    const res = await this.get(name, { Range: 'bytes=0-0' });
    if (!res.ok) throw new EngineError(res.status === 404 ? 'bad-model' : 'download-failed', `${this.url(name)}: HTTP ${res.status}`);
    const range = res.headers.get('Content-Range');
    const total = range ? Number(range.split('/')[1]) : Number(res.headers.get('Content-Length'));
    await res.body?.cancel();
    if (!Number.isFinite(total)) throw new EngineError('download-failed', `${this.url(name)}: the server did not report the file size`);
    this.sizes.set(name, total);
    return total;
  }

  async range(name: string, begin: number, end: number): Promise<Uint8Array> {
    if (end <= begin) return new Uint8Array(0);
    const res = await this.get(name, { Range: `bytes=${begin}-${end - 1}` });
    if (!res.ok) throw new EngineError('download-failed', `${this.url(name)}: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // a server that ignores Range answers 200 with the whole file
    if (res.status === 200 && bytes.byteLength !== end - begin) return bytes.slice(begin, end);
    return bytes;
  }
}
