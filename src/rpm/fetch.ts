// Byte fetching for rpm-md metadata and packages: file://, http(s):// and plain paths
// as streams (optionally from an offset, for resuming), with the checksums rpm-md
// names and the decompressors its metadata uses (gz, xz, zst).
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { createHash, Hash } from 'node:crypto';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { ArborError, toArborError, throwIfAborted } from '../common/errors';

/** A checksum as rpm-md writes it: `<checksum type="sha256">hex</checksum>`. */
export interface Checksum { type: string; value: string }

export type Compression = 'gz' | 'xz' | 'zst' | 'none';

const HASHES: Record<string, string> = { sha: 'sha1', sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', md5: 'md5' };

/** A hash for an rpm-md checksum type ('sha' is rpm-md's old name for SHA-1). */
export function newHash(type: string, what: string): Hash {
  const algo = HASHES[type.toLowerCase()];
  if (!algo) throw new ArborError('Unsupported', `${what}: unknown checksum type '${type}' (known: ${Object.keys(HASHES).join(', ')})`);
  return createHash(algo);
}

/** Normalizes a baseurl: plain directory paths become file:// URLs; the result ends in '/'. */
export function normalizeBaseurl(baseurl: string): string {
  let u: URL;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(baseurl)) {
    try {
      u = new URL(baseurl);
    } catch {
      throw new ArborError('InvalidArgument', `baseurl '${baseurl}' is not a valid URL`);
    }
    if (!['file:', 'http:', 'https:'].includes(u.protocol)) {
      throw new ArborError('Unsupported', `baseurl '${baseurl}': only file://, http:// and https:// are supported`);
    }
  } else {
    u = pathToFileURL(path.resolve(baseurl));
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

/** `rel` resolved against a normalized baseurl; absolute URLs in `rel` are kept. */
export function resolveUrl(baseurl: string, rel: string): string {
  return new URL(rel, normalizeBaseurl(baseurl)).href;
}

/** The compression of a metadata file, from its name as repomd.xml lists it. */
export function compressionOf(location: string): Compression {
  if (location.endsWith('.gz')) return 'gz';
  if (location.endsWith('.xz')) return 'xz';
  if (location.endsWith('.zst')) return 'zst';
  if (/\.(bz2|zck|lzma)$/.test(location)) {
    throw new ArborError('Unsupported', `${location}: compression not supported (use gz, xz or zst)`);
  }
  return 'none';
}

interface LzmaNative { createDecompressor(opts?: object): Transform }

/** A stream that decompresses `kind`; damaged or truncated input makes it fail. */
export function decompressor(kind: Compression): Transform {
  switch (kind) {
    case 'gz':
      return (require('node:zlib') as typeof import('node:zlib')).createGunzip();
    case 'xz':
      return (require('lzma-native') as LzmaNative).createDecompressor({ synchronous: false });
    case 'zst': {
      const { DecompressStream } = require('zstd-napi') as typeof import('zstd-napi');
      return new DecompressStream();
    }
    case 'none':
      return new Transform({ transform: (c, _e, cb) => cb(null, c) });
  }
}

/** Passes bytes through while hashing and counting them; fails past `maxBytes`. */
export class HashTap extends Transform {
  bytes = 0;
  private readonly hash: Hash | undefined;
  constructor(
    /** A checksum type, a hash already fed a prefix, or undefined to only count. */
    type: string | Hash | undefined,
    what: string,
    private readonly maxBytes = Infinity,
    private readonly onBytes?: (n: number) => void,
    private readonly limitWhy = 'the limit',
  ) {
    super();
    this.hash = typeof type === 'string' ? newHash(type, what) : type;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      cb(new ArborError('Corrupted', `more than the ${this.maxBytes} bytes ${this.limitWhy}`));
      return;
    }
    this.hash?.update(chunk);
    this.onBytes?.(chunk.length);
    cb(null, chunk);
  }
  hex(): string {
    return this.hash ? this.hash.digest('hex') : '';
  }
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** Start reading here (an HTTP Range request); `resumed` says whether it was honoured. */
  offset?: number;
  /** Names the thing fetched in errors, e.g. "repo 'fedora'" or "package foo-1-1.x86_64". */
  what: string;
  /** Gives up when no byte arrives for this long. */
  idleTimeoutMs?: number;
  /**
   * Hand back the HTTP body as is, without the check that it is as long as its
   * Content-Length (the caller checks): no byte received is lost to a stream error.
   */
  rawBody?: boolean;
}

export interface Opened {
  stream: Readable;
  /** Bytes the stream will deliver, when the source says so. */
  length?: number;
  /** true when the stream starts at `offset`, false when it starts at 0. */
  resumed: boolean;
}

/** Opens `url` for reading; a missing file or an HTTP 404 is a NotFound ArborError. */
export async function openUrl(url: string, opts: OpenOptions): Promise<Opened> {
  throwIfAborted(opts.signal);
  const u = new URL(url);
  if (u.protocol === 'file:') return openFile(u, opts);
  if (u.protocol === 'http:' || u.protocol === 'https:') return openHttp(u, opts, 0);
  throw new ArborError('Unsupported', `${opts.what}: cannot fetch '${url}': only file://, http:// and https:// are supported`);
}

function openFile(u: URL, opts: OpenOptions): Opened {
  const file = fileURLToPath(u);
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new ArborError('NotFound', `${opts.what}: ${u.href} is not a file`);
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ArborError('NotFound', `${opts.what}: ${u.href} does not exist`);
    throw toArborError(err, opts.what);
  }
  const start = Math.min(opts.offset ?? 0, size);
  return { stream: fs.createReadStream(file, { start, signal: opts.signal }), length: size - start, resumed: true };
}

function openHttp(u: URL, opts: OpenOptions, redirects: number): Promise<Opened> {
  const offset = opts.offset ?? 0;
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<Opened>((resolve, reject) => {
    const req = mod.get(u, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, signal: opts.signal }, (res) => {
      const status = res.statusCode ?? 0;
      const fail = (code: 'NotFound' | 'Io' | 'Corrupted', msg: string): void => {
        res.resume();
        reject(new ArborError(code, `${opts.what}: ${msg}`));
      };
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        if (redirects >= 5) { reject(new ArborError('Io', `${opts.what}: too many redirects from ${u.href}`)); return; }
        openHttp(new URL(res.headers.location, u), opts, redirects + 1).then(resolve, reject);
        return;
      }
      if (status === 404 || status === 410) { fail('NotFound', `${u.href} not found (HTTP ${status})`); return; }
      if (status === 416 && offset > 0) {
        // The partial file is already as long as (or longer than) the resource: start over.
        res.resume();
        openHttp(u, { ...opts, offset: 0 }, redirects).then(resolve, reject);
        return;
      }
      if (status !== 200 && status !== 206) { fail('Io', `${u.href}: HTTP ${status} ${res.statusMessage ?? ''}`.trim()); return; }
      let resumed = false;
      if (status === 206) {
        const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
        if (!m || Number(m[1]) !== offset) { fail('Io', `${u.href}: unexpected Content-Range '${res.headers['content-range'] ?? ''}' for a request from byte ${offset}`); return; }
        resumed = true;
      }
      const cl = res.headers['content-length'];
      const length = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
      const stream: Readable = length === undefined || opts.rawBody ? res : res.pipe(lengthCheck(length, u.href, opts.what, res));
      if (opts.idleTimeoutMs) {
        res.setTimeout(opts.idleTimeoutMs, () => {
          // Fail the stream the caller reads first, so the timeout is the error it sees.
          stream.destroy(new ArborError('Io', `${opts.what}: ${u.href}: no data for ${opts.idleTimeoutMs} ms`));
          res.destroy();
        });
      }
      resolve({ stream, length, resumed });
    });
    if (opts.idleTimeoutMs) req.setTimeout(opts.idleTimeoutMs, () => req.destroy(new ArborError('Io', `${opts.what}: ${u.href}: no response for ${opts.idleTimeoutMs} ms`)));
    req.on('error', (err) => {
      if (opts.signal?.aborted) reject(new ArborError('Cancelled', `${opts.what}: cancelled`));
      else reject(err instanceof ArborError ? err : new ArborError('Io', `${opts.what}: ${u.href}: ${(err as Error).message}`, { cause: err }));
    });
  });
}

/**
 * Turns an HTTP body that ends early (the server closed the connection) into a clear
 * error: Node reports that as a bare 'aborted' or nothing at all, depending on timing.
 */
function lengthCheck(length: number, url: string, what: string, res: http.IncomingMessage): Transform {
  let got = 0;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      got += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      cb(got === length ? null : new ArborError('Io', `${what}: short read from ${url}: got ${got} of ${length} bytes`));
    },
  });
  res.on('error', (err) => t.destroy(err instanceof ArborError ? err : new ArborError('Io', `${what}: short read from ${url}: connection closed after ${got} of ${length} bytes`)));
  res.on('aborted', () => t.destroy(new ArborError('Io', `${what}: short read from ${url}: connection closed after ${got} of ${length} bytes`)));
  return t;
}

/** Reads a whole (small) resource into memory; fails past `maxBytes`. */
export async function fetchBytes(url: string, opts: OpenOptions & { maxBytes: number }): Promise<Buffer> {
  const { stream, length } = await openUrl(url, opts);
  if (length !== undefined && length > opts.maxBytes) {
    stream.destroy();
    throw new ArborError('Corrupted', `${opts.what}: ${url} is ${length} bytes, more than the ${opts.maxBytes} allowed`);
  }
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of stream) {
      n += (chunk as Buffer).length;
      if (n > opts.maxBytes) throw new ArborError('Corrupted', `${opts.what}: ${url} is more than the ${opts.maxBytes} bytes allowed`);
      parts.push(chunk as Buffer);
    }
  } catch (err) {
    stream.destroy();
    if (opts.signal?.aborted) throw new ArborError('Cancelled', `${opts.what}: cancelled`);
    throw err instanceof ArborError ? err : new ArborError('Io', `${opts.what}: ${url}: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(parts);
}
