// Fetching files of a remote repository over http(s):// (keep-alive, bounded
// concurrency, idle timeouts, retries, size limits, conditional GETs) or file://.
// pull.ts talks only to the Fetcher interface, so tests can put a fake behind it.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArborError } from '../common/errors';
import { limiter } from '../common/progress';

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
  /** Requests in flight at once (and keep-alive connections). Default 8. */
  concurrency?: number;
  /** Extra attempts after a network error, timeout or 5xx. Default 2. */
  retries?: number;
  headers?: Record<string, string>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_CONCURRENCY = 8;

/** A failure worth another attempt: the network, not the data. */
class TransientError extends ArborError {}

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
  private readonly base: string;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly limit: <T>(job: () => Promise<T>) => Promise<T>;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(readonly url: string, private readonly opts: FetcherOptions) {
    this.base = withSlash(url);
    const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
    this.mod = url.startsWith('https:') ? https : http;
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: concurrency, scheduling: 'lifo' });
    this.limit = limiter(concurrency);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = opts.retries ?? 2;
  }

  fetch(req: FetchRequest): Promise<FetchResponse | null> {
    return this.limit(async () => {
      for (let attempt = 0; ; attempt++) {
        if (req.signal?.aborted) throw cancelled();
        try {
          return await this.once(req);
        } catch (e) {
          if (!(e instanceof TransientError) || attempt >= this.retries || req.signal?.aborted) {
            if (e instanceof TransientError) throw new ArborError('Io', attempt ? `${e.message} (after ${attempt + 1} attempts)` : e.message);
            throw e;
          }
        }
      }
    });
  }

  private once(req: FetchRequest): Promise<FetchResponse | null> {
    const url = new URL(req.path, this.base);
    const shown = url.href;
    const headers: Record<string, string> = { 'user-agent': 'arbor', ...this.opts.headers };
    if (req.etag) headers['if-none-match'] = req.etag;
    if (req.lastModified) headers['if-modified-since'] = req.lastModified.toUTCString();
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, value?: FetchResponse | null): void => {
        if (settled) return;
        settled = true;
        req.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value!);
      };
      const onAbort = (): void => {
        r.destroy();
        finish(cancelled());
      };
      const r = this.mod.request(url, { agent: this.agent, headers, method: 'GET' }, (res) => {
        const status = res.statusCode ?? 0;
        const meta = {
          etag: typeof res.headers.etag === 'string' ? res.headers.etag : undefined,
          lastModified: res.headers['last-modified'] ? new Date(res.headers['last-modified']) : undefined,
        };
        if (meta.lastModified && Number.isNaN(meta.lastModified.getTime())) meta.lastModified = undefined;
        if (status !== 200) {
          res.resume();
          if (status === 304 && (req.etag || req.lastModified)) return finish(null, { notModified: true, body: Buffer.alloc(0), ...meta });
          if (status === 404 || status === 410) {
            return req.optional ? finish(null, null) : finish(new ArborError('NotFound', `GET ${shown}: HTTP ${status} (the remote does not have it)`));
          }
          const msg = `GET ${shown}: HTTP ${status} ${res.statusMessage ?? ''}`.trim();
          return finish(status >= 500 || status === 408 || status === 429 ? new TransientError('Io', msg) : new ArborError('Io', msg));
        }
        const declared = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
        if (declared !== undefined && declared > req.maxBytes) {
          res.destroy();
          return finish(tooLarge(shown, declared, req.maxBytes));
        }
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > req.maxBytes) {
            res.destroy();
            finish(tooLarge(shown, `at least ${got}`, req.maxBytes));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if (!res.complete || (declared !== undefined && got !== declared)) {
            return finish(new TransientError('Io', `GET ${shown}: the response was cut short (${got} of ${declared ?? '?'} bytes)`));
          }
          finish(null, { notModified: false, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, got), ...meta });
        });
        res.on('error', (e) => finish(new TransientError('Io', `GET ${shown}: the connection broke after ${got} bytes (${e.message})`)));
        res.on('close', () => {
          if (!res.complete) finish(new TransientError('Io', `GET ${shown}: the connection closed after ${got} of ${declared ?? '?'} bytes`));
        });
      });
      r.setTimeout(this.timeoutMs, () => {
        r.destroy();
        finish(new TransientError('Io', `GET ${shown}: no data from the server for ${this.timeoutMs} ms (timed out)`));
      });
      r.on('error', (e: NodeJS.ErrnoException) => finish(new TransientError('Io', `GET ${shown}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '))));
      if (req.signal) {
        if (req.signal.aborted) return onAbort();
        req.signal.addEventListener('abort', onAbort, { once: true });
      }
      r.end();
    });
  }

  close(): void {
    this.agent.destroy();
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
