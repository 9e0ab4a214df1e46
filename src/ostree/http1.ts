// A small HTTP/1.1 client for fetching many small files from one server: a few
// keep-alive connections, each carrying a pipeline of GET requests written together
// and answered in order. Node's http module costs a request object, an agent lookup,
// events and a write syscall per request; a pull makes thousands of requests, and that
// per-request cost, not the bytes, was what kept the pull slower than ostree's.
// Only GET: a request whose answer was lost with its connection is simply sent again.
import net from 'node:net';
import tls from 'node:tls';

/** A failure of the network or the server's framing: worth another attempt. */
export class HttpTransientError extends Error {}
/** The answer is refused (larger than allowed, or an untrusted certificate): another attempt would not help. */
export class HttpRefusedError extends Error {
  constructor(message: string, readonly tls = false) {
    super(message);
  }
}

export interface HttpResponse {
  status: number;
  statusText: string;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Map<string, string>;
  body: Buffer;
}

export interface HttpGet {
  /** Absolute path with query, e.g. `/repo/objects/ab/cd….filez`. */
  target: string;
  headers: Record<string, string>;
  /** Bodies of 200 responses larger than this are refused. */
  maxBytes: number;
  signal?: AbortSignal;
}

/** Settings for https:// connections, beyond the system's trusted CAs and hostname checks. */
export interface TlsSettings {
  /** CA certificates (PEM) to trust instead of the system's. */
  ca?: Buffer;
  /** A client certificate and its key (PEM), for servers that ask for one. */
  cert?: Buffer;
  key?: Buffer;
  /** false accepts any certificate (ostree's tls-permissive). */
  rejectUnauthorized?: boolean;
}

export interface PoolOptions {
  tls?: TlsSettings;
  /** Connections opened at most. */
  connections: number;
  /** Requests sent ahead on one connection before its first answer arrives. */
  depth: number;
  /** A connection with requests outstanding fails when no data arrives for this long. */
  timeoutMs: number;
}

const MAX_HEAD = 64 * 1024;
/** Error bodies (404 pages…) are read and dropped; a longer one ends the connection instead. */
const MAX_DISCARD = 1024 * 1024;
/** OpenSSL's verification failures as Node names them (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED…). */
const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_|INVALID_CA|PATH_LENGTH|INVALID_PURPOSE|HOSTNAME_MISMATCH|ERR_TLS|ERR_SSL/;
/** Requests re-sent because a connection closed under them, before one counts as failed. */
const MAX_REQUEUES = 8;

interface Pending {
  get: HttpGet;
  resolve: (r: HttpResponse) => void;
  reject: (e: Error) => void;
  requeues: number;
  conn?: Conn;
  onAbort?: () => void;
}

export class HttpPool {
  private readonly queue: Pending[] = [];
  private readonly conns = new Set<Conn>();
  private depth: number;
  private closed = false;

  constructor(private readonly url: URL, private readonly opts: PoolOptions) {
    this.depth = Math.max(1, opts.depth);
  }

  get(get: HttpGet): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new HttpRefusedError('the connection pool is closed'));
      const p: Pending = { get, resolve, reject, requeues: 0 };
      if (get.signal) {
        if (get.signal.aborted) return reject(abortError());
        p.onAbort = () => this.abort(p);
        get.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      this.dispatch();
    });
  }

  close(): void {
    this.closed = true;
    for (const c of this.conns) {
      for (const p of c.inflight.splice(0)) settle(p, new HttpRefusedError('the connection pool is closed'));
      c.destroy();
    }
    this.conns.clear();
    for (const p of this.queue.splice(0)) settle(p, new HttpRefusedError('the connection pool is closed'));
  }

  /**
   * Hands queued requests to connections: spread over connections first, then deeper
   * pipelines. A connection is topped up only once half its pipeline is answered, so
   * requests leave in batches (one write each), not one write per answer.
   */
  private dispatch(): void {
    const low = this.depth >> 1;
    while (this.queue.length) {
      let best: Conn | undefined;
      for (const c of this.conns) if (!c.dead && (!best || c.inflight.length < best.inflight.length)) best = c;
      if ((!best || best.inflight.length > 0) && this.conns.size < this.opts.connections) best = this.open();
      else if (!best || best.inflight.length > low) return;
      while (this.queue.length && best.inflight.length < this.depth) best.send(this.queue.shift()!);
    }
  }

  private open(): Conn {
    const c = new Conn(this.url, this.opts, (conn, unexpected, rest) => {
      this.conns.delete(conn);
      // A server that drops a connection it has answered on, with requests still queued
      // on it, without saying `Connection: close` (or that speaks HTTP/1.0), does not
      // honour pipelining: go on one request at a time.
      if (unexpected && rest.length) this.depth = 1;
      // Only such a close counts against the requests sent again: every other end of a
      // connection (announced close, abort, refusal, failure charged to the first request)
      // settled one request, so requests cannot circulate for ever.
      for (const p of rest.reverse()) {
        if (unexpected && ++p.requeues > MAX_REQUEUES) settle(p, new HttpTransientError(`${this.url.host} closed the connection ${MAX_REQUEUES} times before answering`));
        else this.queue.unshift(p);
      }
      if (!this.closed) this.dispatch();
    }, () => this.dispatch());
    this.conns.add(c);
    return c;
  }

  private abort(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    else if (p.conn) p.conn.drop(p); // its answer may be on the way: that connection is done
    settle(p, abortError());
  }
}

function abortError(): Error {
  const e = new Error('request cancelled');
  e.name = 'AbortError';
  return e;
}

function settle(p: Pending, e: Error | null, r?: HttpResponse): void {
  if (p.onAbort) p.get.signal?.removeEventListener('abort', p.onAbort);
  p.onAbort = undefined;
  if (e) p.reject(e);
  else p.resolve(r!);
}

type BodyMode = 'length' | 'chunked' | 'close' | 'none';

class Conn {
  readonly inflight: Pending[] = [];
  private readonly socket: net.Socket;
  private writes: string[] = [];
  private answered = 0;
  dead = false;
  // Parser state for the answer to inflight[0].
  private head: Buffer | null = null;
  private status = 0;
  private statusText = '';
  private headers = new Map<string, string>();
  private mode: BodyMode = 'none';
  private remaining = 0; // body bytes (length mode) or chunk bytes still to come
  private chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  private line: Buffer | null = null;
  private body: Buffer[] = [];
  private got = 0;
  private keep = true;
  private http10 = false;
  private inBody = false;

  constructor(
    private readonly url: URL,
    { timeoutMs, tls: tlsOpts }: PoolOptions,
    private readonly onGone: (c: Conn, unexpected: boolean, rest: Pending[]) => void,
    private readonly onFree: () => void,
  ) {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.socket = url.protocol === 'https:'
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ...tlsOpts })
      : net.connect({ host, port });
    this.socket.setNoDelay(true);
    // Not setTimeout(ms, cb): that listens once, and the first timeout may come while idle.
    this.socket.setTimeout(timeoutMs);
    this.socket.on('timeout', () => {
      if (this.inflight.length) this.fail(new HttpTransientError(`no data from the server for ${timeoutMs} ms (timed out)`), true);
    });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      // A certificate that does not verify will not verify on the next attempt either.
      if (url.protocol === 'https:' && CERT_ERROR.test(e.code ?? '')) {
        for (const p of this.inflight.splice(0)) settle(p, new HttpRefusedError(`the server's certificate is not trusted (${e.code}: ${e.message})`, true));
      }
      this.fail(new HttpTransientError(`${e.code ?? ''} ${e.message}`.trim()));
    });
    this.socket.on('close', () => {
      if (!this.dead && this.inBody && this.mode === 'close') this.finish();
      this.fail(new HttpTransientError(this.inBody ? `the connection closed after ${this.got} body bytes` : 'the connection closed before an answer'));
    });
    // Idle keep-alive connections must not keep the process alive.
    this.socket.unref();
  }

  send(p: Pending): void {
    p.conn = this;
    this.inflight.push(p);
    if (this.inflight.length === 1) this.socket.ref();
    let h = `GET ${p.get.target} HTTP/1.1\r\nhost: ${this.url.host}\r\n`;
    for (const [k, v] of Object.entries(p.get.headers)) h += `${k}: ${v}\r\n`;
    this.writes.push(`${h}\r\n`);
    // Requests handed over in the same turn of the event loop leave in one write.
    if (this.writes.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.dead || !this.writes.length) return;
    this.socket.write(this.writes.length === 1 ? this.writes[0] : this.writes.join(''), 'latin1');
    this.writes = [];
  }

  /** Gives up a request whose answer is no longer wanted: the connection goes, the others are re-sent. */
  drop(p: Pending): void {
    const i = this.inflight.indexOf(p);
    if (i >= 0) this.inflight.splice(i, 1);
    if (i === 0) this.inBody = false;
    this.gone(false);
  }

  destroy(): void {
    this.dead = true;
    this.socket.destroy();
  }

  /**
   * The connection broke: its first request fails with e if part of its answer had come,
   * or the server timed out on it, or nothing was ever answered here (so a server that
   * never answers cannot keep requests circulating for ever); the rest is sent again.
   */
  private fail(e: Error, charge = false): void {
    if (this.dead) return;
    const first = this.inflight[0];
    if (first && (charge || this.inBody || this.head || this.answered === 0)) {
      this.inflight.shift();
      settle(first, e);
    }
    // The server dropped it (not our timeout or our refusal of its framing): see onGone.
    this.gone(!charge && this.answered > 0);
  }

  private gone(unexpected: boolean): void {
    if (this.dead) return;
    this.destroy();
    this.onGone(this, unexpected, this.inflight.splice(0));
  }

  private protocolError(what: string): void {
    this.fail(new HttpTransientError(`the server's answer is not valid HTTP/1.1 (${what})`), true);
  }

  private onData(d: Buffer): void {
    let off = 0;
    while (off < d.length && !this.dead) {
      if (!this.inflight.length) return this.protocolError('data arrived that no request asked for');
      if (!this.inBody) {
        off = this.readHead(d, off);
        continue;
      }
      off = this.mode === 'chunked' ? this.readChunked(d, off) : this.readBody(d, off, d.length - off);
    }
  }

  /** Consumes header bytes from d at off; returns the new offset. */
  private readHead(d: Buffer, off: number): number {
    const buf = this.head ? Buffer.concat([this.head, d.subarray(off)]) : d.subarray(off);
    const before = this.head ? this.head.length : 0;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buf.length > MAX_HEAD) this.protocolError(`headers longer than ${MAX_HEAD} bytes`);
      else this.head = Buffer.from(buf);
      return d.length;
    }
    this.head = null;
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!m) {
      this.protocolError(`status line ${JSON.stringify(lines[0].slice(0, 80))}`);
      return d.length;
    }
    this.status = Number(m[2]);
    this.statusText = m[3] ?? '';
    this.headers = new Map();
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i].indexOf(':');
      if (c <= 0) {
        this.protocolError(`header line ${JSON.stringify(lines[i].slice(0, 80))}`);
        return d.length;
      }
      this.headers.set(lines[i].slice(0, c).trim().toLowerCase(), lines[i].slice(c + 1).trim());
    }
    const next = off + (end + 4 - before);
    if (this.status >= 100 && this.status < 200) return next; // interim answer: the real one follows
    const conn = (this.headers.get('connection') ?? '').toLowerCase();
    this.http10 = m[1] === '0';
    this.keep = this.http10 ? conn.includes('keep-alive') : !conn.includes('close');
    const te = this.headers.get('transfer-encoding');
    const cl = this.headers.get('content-length');
    this.body = [];
    this.got = 0;
    this.inBody = true;
    const limit = this.status === 200 ? this.inflight[0].get.maxBytes : MAX_DISCARD;
    if (this.status === 204 || this.status === 304) this.mode = 'none';
    else if (te !== undefined) {
      if (te.toLowerCase() !== 'chunked') {
        this.protocolError(`transfer-encoding '${te}'`);
        return d.length;
      }
      this.mode = 'chunked';
      this.chunkState = 'size';
      this.line = null;
    } else if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) {
        this.protocolError(`content-length '${cl}'`);
        return d.length;
      }
      this.mode = 'length';
      this.remaining = Number(cl);
      if (this.remaining > limit) {
        this.refuse(`${this.remaining} bytes`);
        return d.length;
      }
    } else {
      this.mode = 'close';
      this.keep = false;
    }
    if (this.mode === 'none' || (this.mode === 'length' && this.remaining === 0)) this.finish();
    return next;
  }

  /** The answer is larger than allowed: the request fails for good, the connection goes. */
  private refuse(size: string): void {
    const first = this.inflight.shift()!;
    const what = this.status === 200 ? `the ${first.get.maxBytes} allowed for this object` : `the ${MAX_DISCARD} read of an HTTP ${this.status} answer`;
    settle(first, new HttpRefusedError(`the server sent ${size}, more than ${what}`));
    this.inBody = false;
    this.gone(false);
  }

  private take(d: Buffer, off: number, n: number): boolean {
    this.got += n;
    const limit = this.status === 200 ? this.inflight[0].get.maxBytes : MAX_DISCARD;
    if (this.got > limit) {
      this.refuse(`at least ${this.got} bytes`);
      return false;
    }
    if (this.status === 200) this.body.push(d.subarray(off, off + n));
    return true;
  }

  private readBody(d: Buffer, off: number, avail: number): number {
    const n = this.mode === 'length' ? Math.min(this.remaining, avail) : avail;
    if (!this.take(d, off, n)) return d.length;
    if (this.mode === 'length') {
      this.remaining -= n;
      if (this.remaining === 0) this.finish();
    }
    return off + n;
  }

  private readChunked(d: Buffer, off: number): number {
    if (this.chunkState === 'data') {
      const n = Math.min(this.remaining, d.length - off);
      if (!this.take(d, off, n)) return d.length;
      this.remaining -= n;
      if (this.remaining === 0) this.chunkState = 'crlf';
      return off + n;
    }
    // size, crlf and trailer states read whole lines.
    const nl = d.indexOf(10, off);
    const piece = d.subarray(off, nl < 0 ? d.length : nl + 1);
    const line = this.line ? Buffer.concat([this.line, piece]) : piece;
    if (nl < 0) {
      if (line.length > 4096) this.protocolError('a chunk line is too long');
      else this.line = Buffer.from(line);
      return d.length;
    }
    this.line = null;
    const text = line.toString('latin1').replace(/\r?\n$/, '');
    if (this.chunkState === 'crlf') {
      if (text !== '') this.protocolError('no line end after a chunk');
      else this.chunkState = 'size';
    } else if (this.chunkState === 'trailer') {
      if (text === '') this.finish();
    } else {
      const m = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(text);
      if (!m) this.protocolError(`chunk size ${JSON.stringify(text.slice(0, 40))}`);
      else {
        this.remaining = parseInt(m[1], 16);
        this.chunkState = this.remaining === 0 ? 'trailer' : 'data';
      }
    }
    return nl + 1;
  }

  private finish(): void {
    const p = this.inflight.shift()!;
    this.inBody = false;
    this.answered++;
    const body = this.body.length === 1 ? this.body[0] : Buffer.concat(this.body, this.got);
    this.body = [];
    settle(p, null, { status: this.status, statusText: this.statusText, headers: this.headers, body });
    if (!this.keep) {
      // An HTTP/1.0 server ends every connection: pipelining to it only sends requests twice.
      this.gone(this.http10);
      return;
    }
    if (!this.inflight.length) this.socket.unref();
    this.onFree();
  }
}
