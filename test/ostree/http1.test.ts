// The pipelining HTTP/1.1 client (src/ostree/http1.ts) against scripted raw servers:
// each test decides the exact bytes sent back, how they are cut into TCP writes and
// when the connection ends, and looks at how the requests arrived (how many per
// connection, several in one read, before the earlier ones were answered).
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import { ArborError } from '../../src/common/errors';
import { createFetcher } from '../../src/ostree/fetcher';
import { HttpGet, HttpPool, HttpRefusedError, HttpResponse, HttpTransientError, PoolOptions } from '../../src/ostree/http1';

interface RawRequest {
  method: string;
  target: string;
  version: string;
  headers: Map<string, string>;
  /** Position of the request on its connection. */
  index: number;
  /** The read (data event) on its connection in which its head completed. */
  chunk: number;
  /** Requests on the same connection received but not yet answered when this one arrived. */
  outstanding: number;
  conn: RawConn;
}

/** Answers one request; requests on one connection are handled one after the other, in order. */
type Handler = (req: RawRequest, conn: RawConn) => void | Promise<void>;

/** Lets the other end read what was written before: a poll phase of the event loop runs in between. */
function pause(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise that never settles: the server holds the answer for ever. */
function never(): Promise<void> {
  return new Promise(() => undefined);
}

class RawConn {
  readonly requests: RawRequest[] = [];
  reads = 0;
  answered = 0;
  closed = false;
  readonly gone: Promise<void>;
  private pending = Buffer.alloc(0);
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly socket: net.Socket, readonly index: number, private readonly server: RawServer) {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.gone = new Promise((resolve) => socket.on('close', () => {
      this.closed = true;
      resolve();
    }));
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  private onData(d: Buffer): void {
    const chunk = this.reads++;
    this.pending = Buffer.concat([this.pending, d]);
    for (;;) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.pending.toString('latin1', 0, end).split('\r\n');
      this.pending = this.pending.subarray(end + 4);
      const [method, target, version] = lines[0].split(' ');
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
      }
      const req: RawRequest = {
        method, target, version, headers, chunk, index: this.requests.length, outstanding: this.requests.length - this.answered, conn: this,
      };
      this.requests.push(req);
      this.server.requests.push(req);
      this.chain = this.chain
        .then(() => this.server.handler(req, this))
        .then(() => { this.answered++; }, (e: unknown) => { this.server.errors.push(e); });
    }
  }

  get writable(): boolean {
    return !this.socket.destroyed && !this.socket.writableEnded;
  }

  write(data: string | Buffer): void {
    if (this.writable) this.socket.write(data);
  }

  /** Writes data in pieces of `size` bytes, letting the client read each before the next. */
  async dribble(data: string | Buffer, size = 1): Promise<void> {
    const b = Buffer.from(data);
    for (let i = 0; i < b.length && this.writable; i += size) {
      this.write(b.subarray(i, i + size));
      await pause();
    }
  }

  /** Writes data cut at each given offset, with a pause at each cut. */
  async writeCut(data: Buffer, ...cuts: number[]): Promise<void> {
    let at = 0;
    for (const c of [...cuts, data.length]) {
      if (c > at) this.write(data.subarray(at, c));
      at = Math.max(at, c);
      await pause();
    }
  }

  end(data?: string | Buffer): void {
    if (!this.writable) return;
    if (data === undefined) this.socket.end();
    else this.socket.end(data);
  }
}

class RawServer {
  readonly conns: RawConn[] = [];
  readonly requests: RawRequest[] = [];
  readonly errors: unknown[] = [];
  private constructor(private readonly server: net.Server, readonly port: number, public handler: Handler) {}

  static async start(handler: Handler, onConnection?: (c: RawConn) => void): Promise<RawServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const self = new RawServer(server, (server.address() as net.AddressInfo).port, handler);
    server.on('connection', (s) => {
      const c = new RawConn(s, self.conns.length, self);
      self.conns.push(c);
      onConnection?.(c);
    });
    return self;
  }

  get url(): URL {
    return new URL(`http://127.0.0.1:${this.port}/`);
  }

  /** Waits (polling) until cond holds. */
  async until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(2);
    }
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const REASONS: Record<number, string> = {
  100: 'Continue', 103: 'Early Hints', 200: 'OK', 204: 'No Content', 304: 'Not Modified', 404: 'Not Found', 503: 'Service Unavailable',
};

function head(status: number, headers: Record<string, string | number>, version = '1.1'): string {
  let h = `HTTP/${version} ${status} ${REASONS[status] ?? 'Something'}\r\n`;
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  return `${h}\r\n`;
}

/** An answer framed by Content-Length. */
function withLength(status: number, body: string | Buffer = '', headers: Record<string, string | number> = {}, version = '1.1'): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from(head(status, { 'content-length': b.length, ...headers }, version), 'latin1'), b]);
}

/** An answer in chunked transfer coding: each piece is one chunk (with an extension when asked), then trailers. */
function chunked(status: number, pieces: (string | Buffer)[], opts: { headers?: Record<string, string>; trailers?: string[]; ext?: boolean } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from(head(status, { 'Transfer-Encoding': 'chunked', ...opts.headers }), 'latin1')];
  for (const [i, p] of pieces.entries()) {
    const b = Buffer.from(p);
    parts.push(Buffer.from(`${b.length.toString(16).toUpperCase()}${opts.ext ? `;piece=${i};q="a b"` : ''}\r\n`), b, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0${opts.ext ? ';last' : ''}\r\n${(opts.trailers ?? []).map((t) => `${t}\r\n`).join('')}\r\n`));
  return Buffer.concat(parts);
}

/** An answer without framing: its body runs until the connection closes. */
function unframed(status: number, body: string | Buffer, headers: Record<string, string | number> = {}, version = '1.0'): Buffer {
  return Buffer.concat([Buffer.from(head(status, headers, version), 'latin1'), Buffer.from(body)]);
}

/** A distinct body for each path, of varying length. */
function bodyFor(target: string): string {
  let h = 0;
  for (const ch of target) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `<${target}>`.repeat(1 + (h % 40));
}

async function rejectsWith(p: Promise<unknown>, cls: abstract new (...args: never[]) => Error, re: RegExp): Promise<Error> {
  let err: Error | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `expected a ${cls.name}, got ${String(e)}`);
    assert.match((e as Error).message, re);
    err = e as Error;
    return true;
  });
  return err!;
}

async function isAbort(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as Error).name, 'AbortError', `expected an AbortError, got ${String(e)}`);
    return true;
  });
}

/** p, or a failure if it has not settled within ms (a hang must not stall the suite). */
async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe('http1: pipelined HTTP/1.1 GETs', function () {
  this.timeout(10_000);
  const cleanups: (() => unknown)[] = [];

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function serve(handler: Handler, onConnection?: (c: RawConn) => void): Promise<RawServer> {
    const s = await RawServer.start(handler, onConnection);
    cleanups.push(() => s.close());
    return s;
  }

  function pool(s: RawServer, opts: Partial<PoolOptions> = {}): HttpPool {
    const p = new HttpPool(s.url, { connections: 1, depth: 1, timeoutMs: 5000, ...opts });
    cleanups.push(() => p.close());
    return p;
  }

  function get(p: HttpPool, target: string, more: Partial<HttpGet> = {}): Promise<HttpResponse> {
    return p.get({ target, headers: {}, maxBytes: 1 << 20, ...more });
  }

  /** The client's sockets as http1 opens them (net.connect wrapped for the test), and their reads (data events). */
  function spyConnect(): { sockets: net.Socket[]; reads: () => number } {
    const sockets: net.Socket[] = [];
    let reads = 0;
    const real = net.connect;
    const mod = net as unknown as { connect: typeof net.connect };
    mod.connect = ((...args: Parameters<typeof net.connect>) => {
      const s = real.apply(net, args);
      s.on('data', () => reads++);
      sockets.push(s);
      return s;
    }) as typeof net.connect;
    cleanups.push(() => { mod.connect = real; });
    return { sockets, reads: () => reads };
  }

  describe('pipelining and the pool', () => {
    it('answers 200 GETs over at most 2 connections, pipelined, each with its own body', async () => {
      const s = await serve(async (req, conn) => {
        const body = bodyFor(req.target);
        const n = Number(req.target.slice(3));
        if (n % 7 === 3) await pause(); // some answers come late, so requests pile up
        if (n % 2 === 0) conn.write(withLength(200, body, { etag: `"${n}"` }));
        else conn.write(chunked(200, [body.slice(0, 5), body.slice(5)]));
      });
      const p = pool(s, { connections: 2, depth: 8 });
      const targets = Array.from({ length: 200 }, (_, i) => `/o/${i}`);
      const rs = await Promise.all(targets.map((t) => get(p, t, { headers: { 'user-agent': 'arbor-test', accept: '*/*' } })));
      for (const [i, r] of rs.entries()) {
        assert.equal(r.status, 200);
        assert.equal(r.statusText, 'OK');
        assert.equal(r.body.toString(), bodyFor(targets[i]), targets[i]);
        if (i % 2 === 0) assert.equal(r.headers.get('etag'), `"${i}"`);
      }
      assert.ok(s.conns.length <= 2, `${s.conns.length} connections opened`);
      assert.equal(s.requests.length, 200, 'each request sent once');
      assert.deepEqual(s.requests.map((r) => r.target).sort(), [...targets].sort());
      for (const r of s.requests) {
        assert.equal(r.method, 'GET');
        assert.equal(r.version, 'HTTP/1.1');
        assert.equal(r.headers.get('host'), `127.0.0.1:${s.port}`);
        assert.equal(r.headers.get('user-agent'), 'arbor-test');
        assert.equal(r.headers.get('accept'), '*/*');
      }
      assert.ok(s.requests.some((r) => r.outstanding > 0), 'a request arrived before an earlier one on its connection was answered');
      assert.ok(Math.max(...s.requests.map((r) => r.outstanding)) < 8, 'never more than depth requests outstanding on a connection');
      const perRead = new Map<string, number>();
      for (const r of s.requests) perRead.set(`${r.conn.index}/${r.chunk}`, (perRead.get(`${r.conn.index}/${r.chunk}`) ?? 0) + 1);
      assert.ok(Math.max(...perRead.values()) >= 3, 'several requests arrived in one read');
    });

    it('opens a second connection only when the first is busy, and reuses idle ones', async () => {
      const s = await serve((req, conn) => conn.write(withLength(200, req.target)));
      const p = pool(s, { connections: 3, depth: 4 });
      for (let i = 0; i < 5; i++) assert.equal((await get(p, `/seq/${i}`)).body.toString(), `/seq/${i}`);
      assert.equal(s.conns.length, 1, 'one request at a time needs one keep-alive connection');
      const rs = await Promise.all([1, 2, 3].map((i) => get(p, `/par/${i}`)));
      assert.deepEqual(rs.map((r) => r.body.toString()), ['/par/1', '/par/2', '/par/3']);
      assert.equal(s.conns.length, 3, 'requests are spread over connections before pipelines deepen');
    });

    it('drops the abort listener once a request is answered', async () => {
      const s = await serve((req, conn) => conn.write(withLength(200, 'x')));
      const p = pool(s);
      const ac = new AbortController();
      await get(p, '/x', { signal: ac.signal });
      assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    });
  });

  describe('framing', () => {
    it('reads chunked bodies with extensions and trailers, one byte per TCP write', async () => {
      const answers = [
        chunked(200, ['hello', ' ', 'chunked world, with a longer chunk of 0x1A+ bytes', '\r\n\r\n'], { ext: true, trailers: ['X-Trailer: yes', 'X-Digest: abc'] }),
        chunked(200, ['second'], { headers: { 'Transfer-Encoding': 'Chunked' } }),
        withLength(200, 'after the chunked ones'),
      ];
      const s = await serve(async (req, conn) => {
        if (req.index === 2) await conn.dribble(Buffer.concat(answers));
      });
      const { reads } = spyConnect();
      const p = pool(s, { connections: 1, depth: 4 });
      const rs = await Promise.all(['/a', '/b', '/c'].map((t) => get(p, t)));
      assert.equal(rs[0].body.toString(), 'hello chunked world, with a longer chunk of 0x1A+ bytes\r\n\r\n');
      assert.equal(rs[1].body.toString(), 'second');
      assert.equal(rs[2].body.toString(), 'after the chunked ones');
      assert.equal(s.conns.length, 1, 'the connection stays in step after the trailers');
      const total = Buffer.concat(answers).length;
      assert.ok(reads() > total / 2, `the answers reached the client in many reads (${reads()} for ${total} bytes)`);
    });

    it('reads chunked bodies cut at every position', async () => {
      const answer = chunked(200, ['ab', 'c'.repeat(17), 'd'], { ext: true, trailers: ['T: 1'] });
      const s = await serve(async (req, conn) => {
        const [, a, b] = req.target.split('/').map(Number);
        await conn.writeCut(answer, a, b);
      });
      const p = pool(s);
      for (let a = 1; a < answer.length; a += 3) {
        for (let b = a + 1; b < answer.length; b += 5) {
          const r = await get(p, `/${a}/${b}`);
          assert.equal(r.body.toString(), `ab${'c'.repeat(17)}d`, `cut at ${a} and ${b}`);
        }
      }
      assert.equal(s.conns.length, 1);
    });

    it('reads Content-Length answers cut at every position, also between two pipelined answers', async () => {
      const first = withLength(200, 'one\r\n\r\nHTTP/1.1 200 OK\r\n\r\n', { etag: '"1"' });
      const second = withLength(200, 'two', { 'x-n': 2 });
      const both = Buffer.concat([first, second]);
      const s = await serve(async (req, conn) => {
        if (!req.target.endsWith('/b')) return;
        await conn.writeCut(both, Number(req.target.split('/')[1]));
      });
      const { reads } = spyConnect();
      const p = pool(s, { connections: 1, depth: 2 });
      for (let cut = 0; cut <= both.length; cut++) {
        const [a, b] = await Promise.all([get(p, `/${cut}/a`), get(p, `/${cut}/b`)]);
        assert.equal(a.body.toString(), 'one\r\n\r\nHTTP/1.1 200 OK\r\n\r\n', `cut at ${cut}`);
        assert.equal(a.headers.get('etag'), '"1"');
        assert.equal(b.body.toString(), 'two', `cut at ${cut}`);
        assert.equal(b.headers.get('x-n'), '2');
      }
      assert.equal(s.conns.length, 1);
      assert.ok(reads() > both.length, `the cuts reached the client as separate reads (${reads()} reads)`);
    });

    it('reads a body until the connection closes from an HTTP/1.0 server', async () => {
      const s = await serve(async (req, conn) => {
        await conn.writeCut(unframed(200, bodyFor(req.target), { server: 'old/1.0' }), 10, 40, 41);
        conn.end();
      });
      const p = pool(s, { connections: 1, depth: 4 });
      const targets = ['/x', '/y', '/z', '/w', '/v'];
      const rs = await Promise.all(targets.map((t) => get(p, t)));
      assert.deepEqual(rs.map((r) => r.body.toString()), targets.map(bodyFor));
      assert.equal(rs[0].headers.get('server'), 'old/1.0');
      assert.equal(s.conns.length, 5, 'one connection per answer');
    });

    it('reads until close an HTTP/1.1 answer without length, and closes an HTTP/1.0 one with a length', async () => {
      const s = await serve((req, conn) => {
        if (req.target === '/11') conn.end(unframed(200, 'no length here', {}, '1.1'));
        else if (req.target === '/10') conn.write(withLength(200, 'ten', {}, '1.0')); // the client must close it
        else conn.write(withLength(200, 'kept', { connection: 'keep-alive' }, '1.0'));
      });
      const p = pool(s);
      assert.equal((await get(p, '/11')).body.toString(), 'no length here');
      assert.equal((await get(p, '/10')).body.toString(), 'ten');
      await s.until(() => s.conns[1]?.closed, 'the client to close the HTTP/1.0 connection');
      assert.equal((await get(p, '/ka1')).body.toString(), 'kept');
      assert.equal((await get(p, '/ka2')).body.toString(), 'kept');
      assert.equal(s.conns.length, 3, 'HTTP/1.0 with keep-alive is reused');
    });

    it('discards the body of a 404 and keeps a pipelined 200 intact', async () => {
      const s = await serve((req, conn) => {
        if (req.index === 1) conn.write(Buffer.concat([withLength(404, '<html>not here</html>'), withLength(200, 'the real body')]));
      });
      const p = pool(s, { depth: 2 });
      const [missing, found] = await Promise.all([get(p, '/missing'), get(p, '/found')]);
      assert.equal(missing.status, 404);
      assert.equal(missing.statusText, 'Not Found');
      assert.equal(missing.body.length, 0, 'error bodies are dropped');
      assert.equal(found.status, 200);
      assert.equal(found.body.toString(), 'the real body');
      assert.equal(s.conns.length, 1);
    });

    it('keeps in step through 304 and 204 answers without bodies (even with a Content-Length)', async () => {
      const answers = [
        withLength(200, 'first'),
        head(304, { etag: '"v1"', 'content-length': 1234 }), // the length of what would have been sent
        head(204, {}),
        chunked(404, ['gone', ' for good']),
        head(304, { etag: '"v2"' }),
        withLength(200, 'last'),
      ];
      const s = await serve((req, conn) => {
        if (req.index === answers.length - 1) conn.write(answers.join(''));
      });
      const p = pool(s, { depth: 16 }); // the server answers once it has them all: they must all be sent at once
      const rs = await Promise.all(answers.map((_, i) => get(p, `/${i}`)));
      assert.deepEqual(rs.map((r) => r.status), [200, 304, 204, 404, 304, 200]);
      assert.deepEqual(rs.map((r) => r.body.toString()), ['first', '', '', '', '', 'last']);
      assert.equal(rs[1].headers.get('etag'), '"v1"');
      assert.equal(rs[4].headers.get('etag'), '"v2"');
      assert.equal(s.conns.length, 1);
    });

    it('skips 1xx interim answers', async () => {
      const s = await serve(async (req, conn) => {
        if (req.target === '/continue') {
          await conn.writeCut(Buffer.from(head(100, {}) + withLength(200, 'after continue', { 'x-final': 1 }).toString()), 10, 25);
        } else {
          conn.write(head(103, { link: '</style.css>; rel=preload' }));
          await pause();
          conn.write(head(100, {}) + chunked(200, ['after hints']).toString());
        }
      });
      const p = pool(s, { depth: 2 });
      const [a, b] = await Promise.all([get(p, '/continue'), get(p, '/hints')]);
      assert.equal(a.status, 200);
      assert.equal(a.body.toString(), 'after continue');
      assert.equal(a.headers.get('x-final'), '1');
      assert.equal(b.status, 200);
      assert.equal(b.body.toString(), 'after hints');
      assert.equal(b.headers.get('link'), undefined, 'headers of an interim answer are not kept');
    });
  });

  describe('connections that end', () => {
    it('sends the rest again on a new connection after `Connection: close` mid-pipeline', async () => {
      const s = await serve(async (req, conn) => {
        if (conn.index === 0) {
          if (req.index > 0) return;
          await s.until(() => conn.requests.length === 6, 'all six requests on the first connection');
          conn.end(withLength(200, bodyFor(req.target), { connection: 'close' }));
          return;
        }
        conn.write(withLength(200, bodyFor(req.target)));
      });
      const p = pool(s, { connections: 1, depth: 16 });
      const targets = Array.from({ length: 6 }, (_, i) => `/c/${i}`);
      const rs = await Promise.all(targets.map((t) => get(p, t)));
      assert.deepEqual(rs.map((r) => r.body.toString()), targets.map(bodyFor));
      assert.equal(s.conns.length, 2);
      assert.equal(s.conns[0].requests[5].chunk, 0, 'all six were pipelined in one write');
      assert.deepEqual(s.conns[1].requests.map((r) => r.target), targets.slice(1));
      assert.ok(s.conns[1].requests.some((r) => r.outstanding > 0), 'an announced close does not stop pipelining');
    });

    it('keeps going with a server that says `Connection: close` on every answer, with a deep pipeline', async () => {
      const s = await serve((req, conn) => {
        if (req.index === 0) conn.end(withLength(200, bodyFor(req.target), { connection: 'close' }));
      });
      const p = pool(s, { connections: 1, depth: 16 });
      const targets = Array.from({ length: 30 }, (_, i) => `/k/${i}`);
      const rs = await Promise.all(targets.map((t) => get(p, t)));
      assert.deepEqual(rs.map((r) => r.body.toString()), targets.map(bodyFor));
      assert.equal(s.conns.length, 30);
    });

    it('keeps going with an HTTP/1.0 server (read until close), with a deep pipeline', async () => {
      const s = await serve((req, conn) => {
        if (req.index === 0) conn.end(unframed(200, bodyFor(req.target)));
      });
      const p = pool(s, { connections: 2, depth: 16 });
      const targets = Array.from({ length: 40 }, (_, i) => `/h/${i}`);
      const rs = await Promise.all(targets.map((t) => get(p, t)));
      assert.deepEqual(rs.map((r) => r.body.toString()), targets.map(bodyFor));
    });

    it('falls back to one request at a time when the server drops the connection after one answer', async () => {
      const s = await serve((req, conn) => {
        if (req.index === 0) conn.end(withLength(200, bodyFor(req.target))); // no `Connection: close`
      });
      const p = pool(s, { connections: 2, depth: 8 });
      const targets = Array.from({ length: 20 }, (_, i) => `/d/${i}`);
      const rs = await Promise.all(targets.map((t) => get(p, t)));
      assert.deepEqual(rs.map((r) => r.body.toString()), targets.map(bodyFor));
      assert.ok(s.conns[0].requests.length > 1, 'the first connection was pipelined');
      for (const c of s.conns.slice(2)) {
        assert.equal(c.requests.filter((r) => r.chunk === 0).length, 1, `connection ${c.index} was sent one request, not a pipeline`);
      }
    });

    it('fails a request on a server that closes without answering (no hang)', async () => {
      const s = await serve(() => undefined, (c) => c.socket.destroy());
      const p = pool(s, { connections: 1, depth: 4, timeoutMs: 5000 });
      const t0 = Date.now();
      const errs = await within(2000, Promise.all(['/1', '/2', '/3'].map((t) => rejectsWith(get(p, t), HttpTransientError, /closed|ECONNRESET|EPIPE/))), 'requests to a closing server');
      assert.equal(errs.length, 3);
      assert.ok(Date.now() - t0 < 2000);
      assert.ok(s.conns.length >= 3 && s.conns.length <= 6, `${s.conns.length} connections`);
    });

    it('fails a request whose answer is cut short, and sends the others again', async () => {
      const s = await serve((req, conn) => {
        if (conn.index === 0) {
          if (req.index === 0) conn.end(withLength(200, 'x'.repeat(100)).subarray(0, 60)); // head and part of the body
          return;
        }
        conn.write(withLength(200, bodyFor(req.target)));
      });
      const p = pool(s, { connections: 1, depth: 4 });
      const [cut, ...rest] = [get(p, '/cut'), get(p, '/r1'), get(p, '/r2')];
      await rejectsWith(cut, HttpTransientError, /closed after \d+ body bytes/);
      assert.deepEqual((await Promise.all(rest)).map((r) => r.body.toString()), [bodyFor('/r1'), bodyFor('/r2')]);
    });

    it('fails a request whose answer is unframed and cut by a reset', async () => {
      const s = await serve(async (req, conn) => {
        conn.write(unframed(200, 'part of a body'));
        await pause();
        conn.socket.resetAndDestroy();
      });
      const p = pool(s);
      await rejectsWith(get(p, '/reset'), HttpTransientError, /ECONNRESET|closed/);
      await pause(); // the client socket's 'close' comes after its 'error'
      await pause();
    });
  });

  describe('timeouts', () => {
    it('times out a request the server never answers', async () => {
      const s = await serve(() => never());
      const p = pool(s, { timeoutMs: 200 });
      const t0 = Date.now();
      await rejectsWith(get(p, '/stall'), HttpTransientError, /timed out/);
      const took = Date.now() - t0;
      assert.ok(took >= 180 && took < 1500, `timed out after ${took} ms`);
    });

    it('times out an answer that stops halfway through its head', async () => {
      const s = await serve((req, conn) => {
        conn.write('HTTP/1.1 200 OK\r\ncontent-le');
        return never();
      });
      const p = pool(s, { timeoutMs: 200 });
      await rejectsWith(get(p, '/half'), HttpTransientError, /timed out/);
    });

    it('times out on a keep-alive connection that sat idle longer than timeoutMs', async () => {
      const s = await serve((req, conn) => {
        if (req.target === '/first') conn.write(withLength(200, 'first'));
        else return never();
      });
      const { sockets } = spyConnect();
      const p = pool(s, { timeoutMs: 150 });
      assert.equal((await get(p, '/first')).body.toString(), 'first');
      await once(sockets[0], 'timeout'); // idle with nothing outstanding: harmless
      const t0 = Date.now();
      await within(2000, rejectsWith(get(p, '/stall'), HttpTransientError, /timed out/), 'a stalled request on a reused connection');
      assert.equal(s.conns.length, 1, 'the idle connection was reused');
      assert.ok(Date.now() - t0 >= 130);
    });

    it('times out a body read until close, without taking it as complete', async () => {
      const s = await serve((req, conn) => {
        conn.write(unframed(200, 'the start of a long body'));
        return never();
      });
      const p = pool(s, { timeoutMs: 200 });
      await rejectsWith(get(p, '/slow'), HttpTransientError, /timed out/);
      await s.until(() => s.conns[0].closed, 'the connection to close');
      await pause();
    });
  });

  describe('size limits', () => {
    it('refuses a Content-Length over maxBytes and sends the queued requests on a new connection', async () => {
      const s = await serve((req, conn) => {
        if (req.target === '/big') conn.write(withLength(200, 'x'.repeat(101)));
        else conn.write(withLength(200, bodyFor(req.target)));
      });
      const p = pool(s, { connections: 1, depth: 4 });
      const [big, a, b] = [get(p, '/big', { maxBytes: 100 }), get(p, '/a'), get(p, '/b')];
      const e = await rejectsWith(big, HttpRefusedError, /101 bytes, more than the 100 allowed/);
      assert.ok(!(e instanceof HttpTransientError));
      assert.deepEqual([(await a).body.toString(), (await b).body.toString()], [bodyFor('/a'), bodyFor('/b')]);
      assert.equal(s.conns.length, 2);
      assert.equal((await get(p, '/exact', { maxBytes: bodyFor('/exact').length })).body.toString(), bodyFor('/exact'), 'exactly maxBytes is fine');
    });

    it('refuses a chunked body that grows over maxBytes', async () => {
      const s = await serve((req, conn) => {
        if (req.target === '/big') conn.write(chunked(200, ['x'.repeat(60), 'y'.repeat(60)]));
        else conn.write(withLength(200, 'small'));
      });
      const p = pool(s, { connections: 1, depth: 4 });
      const [big, small] = [get(p, '/big', { maxBytes: 100 }), get(p, '/small', { maxBytes: 100 })];
      await rejectsWith(big, HttpRefusedError, /at least 120 bytes/);
      assert.equal((await small).body.toString(), 'small');
      assert.equal((await get(p, '/big', { maxBytes: 120 })).body.length, 120);
    });

    it('refuses a body read until close that grows over maxBytes', async () => {
      const s = await serve(async (req, conn) => {
        await conn.writeCut(unframed(200, 'z'.repeat(300)), 50, 150);
        conn.end();
      });
      const p = pool(s);
      await rejectsWith(get(p, '/big', { maxBytes: 100 }), HttpRefusedError, /more than the 100 allowed/);
    });

    it('does not apply maxBytes to the discarded body of an error answer', async () => {
      const s = await serve((req, conn) => conn.write(withLength(404, 'n'.repeat(5000))));
      const p = pool(s);
      const r = await get(p, '/missing', { maxBytes: 100 });
      assert.equal(r.status, 404);
      assert.equal(r.body.length, 0);
    });
  });

  describe('protocol errors', () => {
    const bad: [string, string, RegExp][] = [
      ['garbage status line', 'garbage\r\n\r\n', /not valid HTTP\/1\.1 \(status line "garbage"\)/],
      ['HTTP/2 status line', 'HTTP/2 200\r\n\r\n', /not valid HTTP/],
      ['header without a colon', 'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /not valid HTTP.*header line/],
      ['bad Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length: 12abc\r\n\r\n', /not valid HTTP.*content-length/],
      ['unknown transfer coding', 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n', /not valid HTTP.*transfer-encoding/],
      ['bad chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /not valid HTTP.*chunk size/],
      ['chunk without its line end', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcdef\r\n', /not valid HTTP.*line end/],
    ];
    for (const [what, answer, re] of bad) {
      it(`fails on a ${what}`, async () => {
        const s = await serve((req, conn) => conn.write(answer));
        const p = pool(s);
        await within(2000, rejectsWith(get(p, '/x'), HttpTransientError, re), what);
      });
    }

    it('fails the request a malformed answer was for, on a reused connection too', async () => {
      let garbled = 0;
      const s = await serve((req, conn) => {
        if (req.target === '/bad' && garbled++ === 0) conn.write('SSH-2.0-OpenSSH\r\n\r\n');
        else conn.write(withLength(200, bodyFor(req.target)));
      });
      const p = pool(s);
      assert.equal((await get(p, '/ok')).body.toString(), bodyFor('/ok'));
      await rejectsWith(get(p, '/bad'), HttpTransientError, /not valid HTTP/);
      assert.equal((await get(p, '/after')).body.toString(), bodyFor('/after'));
    });

    it('survives data that no request asked for', async () => {
      const s = await serve((req, conn) => {
        conn.write(Buffer.concat([withLength(200, 'asked'), withLength(200, 'not asked')]));
      });
      const p = pool(s);
      assert.equal((await get(p, '/one')).body.toString(), 'asked');
      await s.until(() => s.conns[0].closed, 'the client to drop the connection');
      assert.equal((await get(p, '/two')).body.toString(), 'asked');
    });
  });

  describe('abort', () => {
    it('rejects at once with an already aborted signal', async () => {
      const s = await serve((req, conn) => conn.write(withLength(200, 'x')));
      const p = pool(s);
      await isAbort(get(p, '/x', { signal: AbortSignal.abort() }));
      await pause();
      assert.equal(s.requests.length, 0);
    });

    it('cancels a queued request without touching the one in flight', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const s = await serve(async (req, conn) => {
        await gate;
        conn.write(withLength(200, bodyFor(req.target)));
      });
      const p = pool(s, { connections: 1, depth: 1 });
      const ac = new AbortController();
      const first = get(p, '/first');
      const queued = get(p, '/queued', { signal: ac.signal });
      const last = get(p, '/last');
      await s.until(() => s.requests.length === 1, 'the first request');
      ac.abort();
      await isAbort(queued);
      release();
      assert.equal((await first).body.toString(), bodyFor('/first'));
      assert.equal((await last).body.toString(), bodyFor('/last'));
      assert.deepEqual(s.requests.map((r) => r.target), ['/first', '/last']);
      assert.equal(s.conns.length, 1);
    });

    it('cancels requests in flight; the others are sent again and answered', async () => {
      const s = await serve(async (req, conn) => {
        if (conn.index === 0) {
          if (req.target === '/a') conn.write(withLength(200, 'x'.repeat(1000)).subarray(0, 500)); // /a's answer is half there
          return never();
        }
        conn.write(withLength(200, req.target === '/a' ? 'x'.repeat(1000) : bodyFor(req.target)));
      });
      const p = pool(s, { connections: 1, depth: 4 });
      const acA = new AbortController();
      const acB = new AbortController();
      const a = get(p, '/a', { signal: acA.signal });
      const b = get(p, '/b', { signal: acB.signal });
      const c = get(p, '/c');
      await s.until(() => s.conns[0]?.requests.length === 3, 'three requests on the first connection');
      await pause();
      acB.abort(); // in flight behind /a
      await isAbort(b);
      assert.equal((await a).body.toString(), 'x'.repeat(1000), '/a is sent again and answered');
      assert.equal((await c).body.toString(), bodyFor('/c'));
      acA.abort(); // after the answer: nothing happens
      assert.ok(s.conns[0].requests.every((r) => r.chunk === 0));

      // Now cancel the head of a pipeline while its answer is coming in.
      s.handler = async (req, conn) => {
        if (req.target === '/slow') {
          conn.write(withLength(200, 'y'.repeat(1000)).subarray(0, 300));
          return never();
        }
        conn.write(withLength(200, bodyFor(req.target)));
      };
      const acS = new AbortController();
      const slow = get(p, '/slow', { signal: acS.signal });
      const behind = get(p, '/behind');
      await s.until(() => s.requests.some((r) => r.target === '/behind'), 'the request behind');
      await pause();
      acS.abort();
      await isAbort(slow);
      assert.equal((await behind).body.toString(), bodyFor('/behind'));
    });
  });

  describe('close', () => {
    it('rejects requests in flight and queued, and closes its connections', async () => {
      const s = await serve(() => never());
      const p = pool(s, { connections: 1, depth: 2 });
      const all = ['/1', '/2', '/3', '/4'].map((t) => get(p, t));
      await s.until(() => s.requests.length === 2, 'two requests in flight');
      p.close();
      for (const r of all) await rejectsWith(r, HttpRefusedError, /pool is closed/);
      await s.until(() => s.conns[0].closed, 'the connection to close');
      await rejectsWith(get(p, '/late'), HttpRefusedError, /pool is closed/);
    });

    it('can be closed while a body is read until close', async () => {
      const s = await serve((req, conn) => {
        conn.write(unframed(200, 'some of it'));
        return never();
      });
      const p = pool(s);
      const r = get(p, '/x');
      await s.until(() => s.requests.length === 1, 'the request');
      await pause();
      await pause();
      p.close();
      await rejectsWith(r, HttpRefusedError, /pool is closed/);
      await s.until(() => s.conns[0].closed, 'the connection to close');
      await pause();
    });

    it('does not keep the process alive with idle keep-alive connections', async () => {
      const s = await serve((req, conn) => conn.write(withLength(200, req.target)));
      const mod = path.resolve(__dirname, '../../src/ostree/http1.js');
      const script = `
        const { HttpPool } = require(process.argv[1]);
        const pool = new HttpPool(new URL(process.argv[2]), { connections: 2, depth: 2, timeoutMs: 60000 });
        const get = (target) => pool.get({ target, headers: {}, maxBytes: 1000 });
        Promise.all([get('/a'), get('/b'), get('/c')]).then((rs) => console.log(rs.map((r) => r.body.toString()).join(',')));`;
      const child = spawn(process.execPath, ['-e', script, mod, s.url.href], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      const killer = setTimeout(() => child.kill(), 5000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(killer);
      assert.equal(code, 0, 'the child exited by itself');
      assert.equal(out.trim(), '/a,/b,/c');
      assert.ok(s.conns.length >= 1);
    });
  });

  describe('through createFetcher', () => {
    it('retries after the server drops the first connection', async () => {
      const s = await serve((req, conn) => conn.write(withLength(200, `body of ${req.target}`)), (c) => {
        if (c.index === 0) c.socket.destroy();
      });
      const f = createFetcher(`${s.url.href}repo`, { retries: 2, timeoutMs: 2000 });
      cleanups.push(() => f.close());
      const r = await f.fetch({ path: 'objects/ab/cd.filez', maxBytes: 1000 });
      assert.equal(r?.body.toString(), 'body of /repo/objects/ab/cd.filez');
      assert.equal(s.conns.length, 2);
    });

    it('gives up with "(after N attempts)" when every attempt fails', async () => {
      const s = await serve(() => undefined, (c) => c.socket.destroy());
      const f = createFetcher(s.url.href, { retries: 2, timeoutMs: 2000 });
      cleanups.push(() => f.close());
      await assert.rejects(f.fetch({ path: 'config', maxBytes: 1000 }), (e: unknown) => {
        assert.ok(e instanceof ArborError);
        assert.equal(e.code, 'Io');
        assert.match(e.message, /^GET http:\/\/127\.0\.0\.1:\d+\/config: .*\(after 3 attempts\)$/);
        return true;
      });
      assert.equal(s.conns.length, 3);
    });

    it('gives up after the retries on a stalled server, with the timeout in the message', async () => {
      const s = await serve(() => never());
      const f = createFetcher(s.url.href, { retries: 1, timeoutMs: 150 });
      cleanups.push(() => f.close());
      await assert.rejects(f.fetch({ path: 'summary', maxBytes: 1000 }), (e: unknown) => {
        assert.ok(e instanceof ArborError);
        assert.match(e.message, /timed out.*\(after 2 attempts\)/);
        return true;
      });
    });

    it('retries a 503, maps 404, oversize and cancellation to their codes', async () => {
      let failed = 0;
      const s = await serve((req, conn) => {
        if (req.target === '/flaky' && failed++ === 0) conn.write(withLength(503, 'busy'));
        else if (req.target.startsWith('/missing')) conn.write(withLength(404, 'no'));
        else if (req.target === '/big') conn.write(withLength(200, 'b'.repeat(50)));
        else if (req.target === '/hang') return never();
        else conn.write(withLength(200, 'fine'));
      });
      const f = createFetcher(s.url.href, { retries: 2, timeoutMs: 2000, concurrency: 8 });
      cleanups.push(() => f.close());
      assert.equal((await f.fetch({ path: 'flaky', maxBytes: 100 }))?.body.toString(), 'fine');
      assert.equal(await f.fetch({ path: 'missing1', maxBytes: 100, optional: true }), null);
      await assert.rejects(f.fetch({ path: 'missing2', maxBytes: 100 }), (e: unknown) => e instanceof ArborError && e.code === 'NotFound');
      await assert.rejects(f.fetch({ path: 'big', maxBytes: 10 }), (e: unknown) => e instanceof ArborError && e.code === 'Corrupted' && /50 bytes/.test(e.message));
      const ac = new AbortController();
      const hung = f.fetch({ path: 'hang', maxBytes: 100, signal: ac.signal });
      await s.until(() => s.requests.some((r) => r.target === '/hang'), 'the hanging request');
      ac.abort();
      await assert.rejects(hung, (e: unknown) => e instanceof ArborError && e.code === 'Cancelled');
    });
  });
});
