// Fetching files of a remote repository over http(s):// (keep-alive, pipelining,
// bounded concurrency, idle timeouts, retries, size limits, conditional GETs) or file://.
// pull.ts talks only to the Fetcher interface, so tests can put a fake behind it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArborError } from '../common/errors';
import { HttpPool, HttpRefusedError, HttpResponse, HttpTransientError, TlsSettings } from './http1';

export interface FetchRequest {
  /** Path relative to the remote's URL, e.g. `objects/ab/cdef….commit`. */
  path: string;
  /** Larger bodies are refused (an untrusted server must not fill memory or disk). */
  maxBytes: number;
  /** A 404 yields null instead of an error. */
  optional?: boolean;
  /** Validators from an earlier response: the server may answer 304 Not Modified. */
  etag?: string;
  lastModified?: Date;
  signal?: AbortSignal;
}

export interface FetchResponse {
  /** true for 304: body is empty, the cached copy is current. */
  notModified: boolean;
  body: Buffer;
  etag?: string;
  lastModified?: Date;
}

export interface Fetcher {
  readonly url: string;
  fetch(req: FetchRequest): Promise<FetchResponse | null>;
  /** Frees keep-alive connections. */
  close(): void;
}

export interface FetcherOptions {
  /** A request fails when no data arrives for this long (ms). Default 30 s. */
  timeoutMs?: number;
  /** Requests in flight at once, pipelined over at most MAX_CONNECTIONS keep-alive connections. Default 32. */
  concurrency?: number;
  /** Extra attempts after a network error, timeout or 5xx. Default 2. */
  retries?: number;
  headers?: Record<string, string>;
  /** For https://: CAs, client certificate, permissive mode (see remoteTlsSettings()). */
  tls?: TlsSettings;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_CONCURRENCY = 32;

/** Requests in flight are spread over this many keep-alive connections at most (then pipelined). */
const MAX_CONNECTIONS = 4;

export function createFetcher(url: string, opts: FetcherOptions = {}): Fetcher {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ArborError('InvalidArgument', `'${url}' is not a URL`);
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') return new HttpFetcher(url, opts);
  if (u.protocol === 'file:') return new FileFetcher(url);
  throw new ArborError('Unsupported', `'${url}': only http://, https:// and file:// remotes are supported`);
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function tooLarge(url: string, got: number | string, max: number): ArborError {
  return new ArborError('Corrupted', `GET ${url}: the server sent ${got} bytes, more than the ${max} allowed for this object`);
}

function cancelled(): ArborError {
  return new ArborError('Cancelled', 'pull cancelled');
}

class HttpFetcher implements Fetcher {
  private readonly base: URL;
  private readonly pool: HttpPool;
  private readonly retries: number;

  constructor(readonly url: string, private readonly opts: FetcherOptions) {
    this.base = new URL(withSlash(url));
    const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
    const connections = Math.min(concurrency, MAX_CONNECTIONS);
    this.pool = new HttpPool(this.base, { connections, depth: Math.ceil(concurrency / connections), timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, tls: opts.tls });
    this.retries = opts.retries ?? 2;
  }

  async fetch(req: FetchRequest): Promise<FetchResponse | null> {
    const url = new URL(req.path, this.base);
    const shown = url.href;
    const headers: Record<string, string> = { 'user-agent': 'arbor', ...this.opts.headers };
    if (req.etag) headers['if-none-match'] = req.etag;
    if (req.lastModified) headers['if-modified-since'] = req.lastModified.toUTCString();
    const get = { target: `${url.pathname}${url.search}`, headers, maxBytes: req.maxBytes, signal: req.signal };
    for (let attempt = 0; ; attempt++) {
      if (req.signal?.aborted) throw cancelled();
      let res: HttpResponse;
      try {
        res = await this.pool.get(get);
      } catch (e) {
        if (req.signal?.aborted || (e as Error).name === 'AbortError') throw cancelled();
        if (e instanceof HttpTransientError) {
          if (attempt < this.retries) continue;
          throw new ArborError('Io', `GET ${shown}: ${e.message}${attempt ? ` (after ${attempt + 1} attempts)` : ''}`);
        }
        if (e instanceof HttpRefusedError && e.tls) {
          throw new ArborError('Io', `GET ${shown}: ${e.message}; trust its CA with tls-ca-path= on the remote`);
        }
        throw new ArborError(e instanceof HttpRefusedError ? 'Corrupted' : 'Io', `GET ${shown}: ${(e as Error).message}`);
      }
      const status = res.status;
      const etag = res.headers.get('etag');
      const lm = res.headers.get('last-modified');
      let lastModified = lm ? new Date(lm) : undefined;
      if (lastModified && Number.isNaN(lastModified.getTime())) lastModified = undefined;
      if (status === 200) return { notModified: false, body: res.body, etag, lastModified };
      if (status === 304 && (req.etag || req.lastModified)) return { notModified: true, body: Buffer.alloc(0), etag, lastModified };
      if (status === 404 || status === 410) {
        if (req.optional) return null;
        throw new ArborError('NotFound', `GET ${shown}: HTTP ${status} (the remote does not have it)`);
      }
      const msg = `GET ${shown}: HTTP ${status} ${res.statusText}`.trim();
      if ((status >= 500 || status === 408 || status === 429) && attempt < this.retries) continue;
      throw new ArborError('Io', attempt ? `${msg} (after ${attempt + 1} attempts)` : msg);
    }
  }

  close(): void {
    this.pool.close();
  }
}

class FileFetcher implements Fetcher {
  private readonly dir: string;

  constructor(readonly url: string) {
    try {
      this.dir = fileURLToPath(url);
    } catch (e) {
      throw new ArborError('InvalidArgument', `'${url}': ${(e as Error).message}`);
    }
  }

  async fetch(req: FetchRequest): Promise<FetchResponse | null> {
    if (req.signal?.aborted) throw cancelled();
    const rel = path.posix.normalize(req.path);
    if (rel.startsWith('../') || path.isAbsolute(rel)) throw new ArborError('Unsafe', `'${req.path}' leaves the remote repository`);
    const p = path.join(this.dir, rel);
    const shown = `${withSlash(this.url)}${rel}`;
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(p, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        if (req.optional) return null;
        throw new ArborError('NotFound', `${shown}: not found in the remote repository`);
      }
      throw new ArborError('Io', `${shown}: ${(e as Error).message}`);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new ArborError('Corrupted', `${shown}: not a regular file`);
      if (st.size > req.maxBytes) throw tooLarge(shown, st.size, req.maxBytes);
      const etag = `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
      if ((req.etag && req.etag === etag) || (!req.etag && req.lastModified && lastModified <= req.lastModified)) {
        return { notModified: true, body: Buffer.alloc(0), etag, lastModified };
      }
      const body = await fh.readFile();
      if (body.length > req.maxBytes) throw tooLarge(shown, body.length, req.maxBytes);
      return { notModified: false, body, etag, lastModified };
    } finally {
      await fh.close();
    }
  }

  close(): void { /* nothing held */ }
}
