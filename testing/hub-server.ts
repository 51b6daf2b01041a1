// A local HTTP server on 127.0.0.1 laid out like the Hugging Face Hub, for import tests: repos at
// /<owner>/<name>/resolve/<revision>/<file>, plain folders at /static/<name>/<file> (packages, base URLs), HTTP
// Range, 401/403 for a gated repo without the right Bearer token, and fault injection: a connection dropped
// mid-body, a corrupted byte, an error status, a stalled response (held at most stallMs, then dropped).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';

/** Another origin's page (the app under test) reads the files: CORS for simple reads, Range and Bearer tokens. */
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Range, Authorization',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges',
};

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };

export interface Fault {
  /** the file (path after the revision or static folder) it applies to */
  file: string | RegExp;
  kind: 'drop' | 'corrupt' | 'status' | 'stall';
  /** for 'status' (default 500) */
  status?: number;
  /** drop, corrupt or stall after this many body bytes (default: half the body for drop, 0 otherwise) */
  afterBytes?: number;
  /** how many matching requests it hits (default 1) */
  times?: number;
  /** only requests whose range starts at or after this byte */
  fromByte?: number;
}

export interface RequestLog {
  path: string;
  range: [number, number] | null;
  status: number;
  fault: Fault['kind'] | null;
}

export interface HubServerOptions {
  /** repo id → { revision → folder } */
  repos?: Record<string, Record<string, string>>;
  /** repo id → the token it requires */
  gated?: Record<string, string>;
  /** /static/<name>/ → folder */
  static?: Record<string, string>;
  /** how long a stalled response is held before the server drops it (default 5 s) */
  stallMs?: number;
}

export class HubServer {
  faults: Fault[] = [];
  log: RequestLog[] = [];
  private cache = new Map<string, Buffer>();
  private constructor(
    private server: Server,
    readonly url: string,
    readonly options: HubServerOptions,
  ) {}

  static async start(options: HubServerOptions): Promise<HubServer> {
    let hub!: HubServer;
    const server = createServer((req, res) => hub.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hub = new HubServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    return hub;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** the folder and file a path names, and the token it needs */
  private route(path: string): { file: string; name: string; token: string | null } | null {
    const parts = decodeURIComponent(path).split('/').filter(Boolean);
    if (parts[0] === 'static' && parts.length >= 3) {
      const dir = this.options.static?.[parts[1]];
      return dir ? { file: join(dir, normalize(parts.slice(2).join('/'))), name: parts.slice(2).join('/'), token: null } : null;
    }
    if (parts.length >= 5 && parts[2] === 'resolve') {
      const repo = `${parts[0]}/${parts[1]}`;
      const dir = this.options.repos?.[repo]?.[parts[3]];
      if (!dir) return null;
      return { file: join(dir, normalize(parts.slice(4).join('/'))), name: parts.slice(4).join('/'), token: this.options.gated?.[repo] ?? null };
    }
    return null;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url!, this.url).pathname;
    const entry: RequestLog = { path, range: null, status: 0, fault: null };
    this.log.push(entry);
    const send = (status: number, body = '') => {
      entry.status = status;
      res.writeHead(status, { ...CORS, 'Content-Type': 'text/plain' }).end(body);
    };
    if (req.method === 'OPTIONS') {
      entry.status = 204;
      return void res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Max-Age': '600' }).end();
    }
    const route = this.route(path);
    if (route?.token) {
      const auth = req.headers.authorization;
      if (!auth) return send(401, 'Access to this model is restricted: you must be authenticated.');
      if (auth !== `Bearer ${route.token}`) return send(403, 'Access to this model is restricted.');
    }
    if (!route || !existsSync(route.file) || !statSync(route.file).isFile()) return send(404, 'Entry not found');
    let data = this.cache.get(route.file);
    if (!data) this.cache.set(route.file, (data = readFileSync(route.file)));
    let begin = 0, end = data.byteLength - 1;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      begin = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), data.byteLength - 1) : data.byteLength - 1;
      if (begin >= data.byteLength || end < begin) return send(416);
      entry.range = [begin, end + 1];
    }
    const fault = this.faults.find((f) => (f.times ?? 1) > 0 && (typeof f.file === 'string' ? f.file === route.name : f.file.test(route.name)) && begin >= (f.fromByte ?? 0));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      entry.fault = fault.kind;
      if (fault.kind === 'status') return send(fault.status ?? 500, 'Internal Error');
    }
    let body = data.subarray(begin, end + 1);
    entry.status = m ? 206 : 200;
    res.writeHead(entry.status, {
      ...CORS,
      'Content-Type': CONTENT_TYPES[extname(route.file)] ?? 'application/octet-stream',
      'Content-Length': String(body.byteLength),
      'Accept-Ranges': 'bytes',
      ...(m ? { 'Content-Range': `bytes ${begin}-${end}/${data.byteLength}` } : {}),
    });
    if (!fault) return void res.end(body);
    if (fault.kind === 'corrupt') {
      body = Buffer.from(body);
      body[Math.min(fault.afterBytes ?? 0, body.byteLength - 1)] ^= 0x5a;
      return void res.end(body);
    }
    const cut = Math.min(fault.afterBytes ?? (fault.kind === 'drop' ? Math.floor(body.byteLength / 2) : 0), body.byteLength);
    res.write(body.subarray(0, cut));
    if (fault.kind === 'drop') {
      setTimeout(() => res.destroy(), 20); // the bytes before the cut reach the client, then the connection dies
      return;
    }
    const timer = setTimeout(() => res.destroy(), this.options.stallMs ?? 5000);
    res.once('close', () => clearTimeout(timer));
  }
}
