// HttpFiles against misbehaving servers: every retry loop ends (attempts, progress), Range ignored, stalls timed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpFiles } from './http.ts';

const DATA = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff));

async function serve(handler: RequestListener): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers.range ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const fast = { backoffMs: 1, maxBackoffMs: 2, attempts: 3, idleTimeoutMs: 200 };
/** for tests that count requests: no stall timeout on a busy machine */
const patient = { ...fast, idleTimeoutMs: 30_000 };

test('a server that ignores Range: the file is read whole once and every range is cut from it', async () => {
  const s = await serve((_req, res) => res.writeHead(200, { 'Content-Length': String(DATA.length) }).end(DATA));
  try {
    const files = new HttpFiles(s.url, patient);
    assert.equal(await files.size('f.bin'), DATA.length);
    for (const [a, b] of [[1234, 4321], [0, 8], [4990, 5000], [17, 18]]) assert.deepEqual(Buffer.from(await files.range('f.bin', a, b)), DATA.subarray(a, b));
    assert.deepEqual(s.requests, ['bytes=0-0'], 'the probe, answered with the whole file, is the only request');
  } finally {
    await s.close();
  }
});

test('a static host with chunked responses (no Content-Length) that ignores Range: size and ranges from one plain GET', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' }); // no Content-Length: Transfer-Encoding chunked
    res.write(DATA.subarray(0, 2000));
    setTimeout(() => res.end(DATA.subarray(2000)), 5);
  });
  try {
    const files = new HttpFiles(s.url, patient);
    assert.equal(await files.size('f.bin'), DATA.length, 'not "truncated (0 bytes)"');
    assert.deepEqual(Buffer.from(await files.range('f.bin', 100, 4100)), DATA.subarray(100, 4100));
    assert.deepEqual(s.requests, ['bytes=0-0']);
    // without a size probe first: the range request's answer is kept
    const direct = new HttpFiles(s.url, patient);
    assert.deepEqual(Buffer.from(await direct.range('f.bin', 7, 4007)), DATA.subarray(7, 4007));
    assert.deepEqual(Buffer.from(await direct.range('f.bin', 4000, 5000)), DATA.subarray(4000, 5000));
    assert.equal(s.requests.length, 2);
  } finally {
    await s.close();
  }
});

test('a server that honours Range but gives no total (bytes 0-0/*): the size comes from reading the file', async () => {
  const s = await serve((req, res) => {
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    if (!m) return void res.writeHead(200).end(DATA);
    const [a, b] = [Number(m[1]), Number(m[2])];
    res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/*` }).end(DATA.subarray(a, b + 1));
  });
  try {
    const files = new HttpFiles(s.url, patient);
    assert.equal(await files.size('f.bin'), DATA.length);
    assert.deepEqual(Buffer.from(await files.range('f.bin', 10, 20)), DATA.subarray(10, 20));
  } finally {
    await s.close();
  }
});

test('a file too large to read whole on a server without Range: the message says what the server lacks', async () => {
  const s = await serve((_req, res) => res.writeHead(200, { 'Content-Length': String(DATA.length) }).end(DATA));
  try {
    await assert.rejects(new HttpFiles(s.url, { ...patient, wholeFileLimit: 1000 }).range('f.bin', 0, 10), /is 5 kB and the server ignores HTTP Range requests.*Serve the model from a host that supports Range/);
    await assert.rejects(new HttpFiles(s.url, { ...patient, wholeFileLimit: 1000 }).size('f.bin'), /ignores HTTP Range requests/);
  } finally {
    await s.close();
  }
});

test('an error status on every try fails after exactly `attempts` requests; a missing file is null for maybeText', async () => {
  const s = await serve((req, res) => res.writeHead(req.url === '/missing.json' ? 404 : 502).end());
  try {
    await assert.rejects(new HttpFiles(s.url, fast).range('f.bin', 0, 10), /HTTP 502 \(3 attempts\)/);
    assert.equal(s.requests.length, 3);
    assert.equal(await new HttpFiles(s.url, fast).maybeText('missing.json'), null);
    assert.equal(s.requests.length, 4, 'a 404 is not retried');
  } finally {
    await s.close();
  }
});

test('a server that never answers times out on every try, then fails', async () => {
  const s = await serve(() => {});
  try {
    const t0 = performance.now();
    await assert.rejects(new HttpFiles(s.url, fast).range('f.bin', 0, 10), /no response for 0\.2 s \(3 attempts\)/);
    assert.ok(performance.now() - t0 < 3000);
  } finally {
    await s.close();
  }
});

test('a connection that drops after every 700 bytes still completes: each try resumes and makes progress', async () => {
  const s = await serve((req, res) => {
    const [, a, b] = /bytes=(\d+)-(\d+)/.exec(req.headers.range!)!.map(Number);
    res.writeHead(206, { 'Content-Length': String(b - a + 1), 'Content-Range': `bytes ${a}-${b}/${DATA.length}` });
    res.write(DATA.subarray(a, Math.min(b + 1, a + 700)));
    if (b + 1 - a > 700) setTimeout(() => res.destroy(), 10);
    else res.end();
  });
  try {
    const got = await new HttpFiles(s.url, fast).range('f.bin', 100, 4900);
    assert.deepEqual(Buffer.from(got), DATA.subarray(100, 4900));
    assert.deepEqual(s.requests.slice(0, 3), ['bytes=100-4899', 'bytes=800-4899', 'bytes=1500-4899']);
    assert.equal(s.requests.length, 7);
  } finally {
    await s.close();
  }
});
