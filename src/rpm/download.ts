// Package downloads into a cache keyed by checksum: bounded parallelism, resumable
// partial files (`.part`, continued with HTTP Range requests), and verification of
// size and checksum before a file is renamed into place, so the cache holds only
// packages that match their repo metadata.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ArborError, throwIfAborted } from '../common/errors';
import { WorkOptions, limiter } from '../common/progress';
import { fsyncDir } from '../common/atomic-write';
import { newHash, openUrl, resolveUrl } from './fetch';
import { PackageMeta, formatNevra } from './types';

export interface DownloadOptions extends WorkOptions {
  /** Downloads at once (default 4). */
  concurrency?: number;
  /** Further attempts after a dropped connection or short read, each resuming (default 2). */
  retries?: number;
  /** Give up on a connection silent for this long (default 60 s). */
  idleTimeoutMs?: number;
}

/** Where a package lives in the cache: `<cacheDir>/<type>-<hex>.rpm`. */
export function cachedPackagePath(cacheDir: string, pkg: PackageMeta): string {
  const sum = pkg.checksum;
  const nevra = formatNevra(pkg);
  if (!sum || !/^[a-z0-9]+$/i.test(sum.type) || !/^[0-9a-f]{16,}$/i.test(sum.value)) {
    throw new ArborError('InvalidArgument', `package ${nevra} has no usable checksum in its repo metadata: it cannot be verified`);
  }
  return path.join(cacheDir, `${sum.type.toLowerCase()}-${sum.value.toLowerCase()}.rpm`);
}

/** Hashes an existing file (a partial download being resumed). */
async function hashFile(file: string, type: string, what: string): Promise<{ hash: ReturnType<typeof newHash>; size: number }> {
  const hash = newHash(type, what);
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash, size };
}

interface Job {
  pkg: PackageMeta;
  nevra: string;
  url: string;
  target: string;
}

/**
 * Downloads `pkgs` (each from `repos.get(pkg.repo)` + pkg.location) into `cacheDir`.
 * Returns nevra → cached path. Packages already cached are not fetched again. The
 * first failure stops the others and is thrown; their partial files stay for a resume.
 */
export async function downloadPackages(
  pkgs: PackageMeta[],
  repos: Map<string, string>,
  cacheDir: string,
  opts: DownloadOptions = {},
): Promise<Map<string, string>> {
  throwIfAborted(opts.signal);
  const jobs: Job[] = [];
  const result = new Map<string, string>();
  const byTarget = new Map<string, Job>();
  for (const pkg of pkgs) {
    const nevra = formatNevra(pkg);
    const target = cachedPackagePath(cacheDir, pkg);
    result.set(nevra, target);
    if (byTarget.has(target)) continue;
    if (!pkg.location) throw new ArborError('InvalidArgument', `package ${nevra} has no location in its repo metadata`);
    const baseurl = pkg.repo !== undefined ? repos.get(pkg.repo) : undefined;
    // An absolute location (xml:base) needs no baseurl.
    const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(pkg.location);
    if (baseurl === undefined && !absolute) {
      throw new ArborError('InvalidArgument', `package ${nevra} comes from repo '${pkg.repo ?? '(none)'}', which has no baseurl here`);
    }
    const job = { pkg, nevra, url: absolute ? pkg.location : resolveUrl(baseurl!, pkg.location), target };
    byTarget.set(target, job);
    jobs.push(job);
  }
  fs.mkdirSync(cacheDir, { recursive: true });

  const total = jobs.length;
  let done = 0;
  let bytes = 0;
  let lastReport = 0;
  const report = (message?: string): void => {
    opts.progress?.({ phase: 'download', done, total, bytes, message });
  };
  const onBytes = (n: number): void => {
    bytes += n;
    if (bytes - lastReport >= 256 * 1024) {
      lastReport = bytes;
      report();
    }
  };

  // One failure cancels the rest; the caller's signal cancels everything.
  const inner = new AbortController();
  const onAbort = (): void => inner.abort();
  opts.signal?.addEventListener('abort', onAbort);
  const limit = limiter(Math.max(1, opts.concurrency ?? 4));
  let firstError: unknown;
  try {
    await Promise.all(jobs.map((job) => limit(async () => {
      if (inner.signal.aborted) return;
      try {
        await fetchOne(job, { ...opts, signal: inner.signal }, onBytes);
        done++;
        report(job.nevra);
      } catch (err) {
        firstError ??= err;
        inner.abort();
      }
    })));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (opts.signal?.aborted) throw new ArborError('Cancelled', 'package download cancelled');
  if (firstError) throw firstError;
  if (jobs.length) fsyncDir(cacheDir);
  return result;
}

async function fetchOne(job: Job, opts: DownloadOptions, onBytes: (n: number) => void): Promise<void> {
  const { pkg, nevra, url, target } = job;
  const expected = pkg.packageSize;
  if (fs.existsSync(target) && (expected === undefined || fs.statSync(target).size === expected)) return;
  const part = `${target}.part`;
  const what = `package ${nevra}`;
  const retries = opts.retries ?? 2;
  let fromScratch = false;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(opts.signal);
    try {
      await attemptOnce(job, part, fromScratch, opts, onBytes);
      return;
    } catch (err) {
      if (opts.signal?.aborted) throw new ArborError('Cancelled', `${what}: download cancelled`);
      const e = err instanceof ArborError ? err : new ArborError('Io', `${what}: ${url}: ${(err as Error).message}`, { cause: err });
      // A resumed file that fails its checksum may have had a bad prefix: once, start over.
      if (e.code === 'Corrupted' && (e as ArborError & { resumed?: boolean }).resumed && !fromScratch) {
        fromScratch = true;
        continue;
      }
      if (e.code === 'Io' && attempt < retries) continue;
      throw e;
    }
  }
}

async function attemptOnce(job: Job, part: string, fromScratch: boolean, opts: DownloadOptions, onBytes: (n: number) => void): Promise<void> {
  const { pkg, nevra, url, target } = job;
  const sum = pkg.checksum!;
  const what = `package ${nevra}`;
  const expected = pkg.packageSize;
  if (fromScratch) fs.rmSync(part, { force: true });
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  if (expected !== undefined && have > expected) {
    fs.rmSync(part, { force: true });
    have = 0;
  }
  const corrupted = (msg: string, resumed: boolean): ArborError => {
    fs.rmSync(part, { force: true });
    const e = new ArborError('Corrupted', `${what} from ${url}: ${msg}`) as ArborError & { resumed?: boolean };
    e.resumed = resumed;
    return e;
  };

  let prefix: { hash: ReturnType<typeof newHash>; size: number } | undefined;
  let resumed = false;
  if (have > 0 && expected !== undefined && have === expected) {
    // A complete .part from an interrupted run: verify it without any request.
    prefix = await hashFile(part, sum.type, what);
    resumed = true;
  } else {
    const opened = await openUrl(url, { what, signal: opts.signal, offset: have, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000, rawBody: true });
    resumed = have > 0 && opened.resumed;
    if (resumed) prefix = await hashFile(part, sum.type, what);
    const hash = prefix?.hash ?? newHash(sum.type, what);
    const start = resumed ? have : 0;
    const fd = fs.openSync(part, resumed ? 'a' : 'w');
    let got = 0;
    try {
      got = await writeBody(opened.stream, fd, hash, {
        url, what, onBytes, signal: opts.signal,
        length: opened.length,
        max: expected === undefined ? Infinity : expected - start,
      });
    } catch (err) {
      if (err instanceof ArborError && err.code === 'Corrupted') throw corrupted(err.message.replace(`${what}: `, ''), resumed);
      throw err;
    } finally {
      fs.closeSync(fd);
    }
    prefix = { hash, size: start + got };
  }
  if (expected !== undefined && prefix.size !== expected) {
    throw corrupted(`got ${prefix.size} bytes, the repo metadata says ${expected}`, resumed);
  }
  const got = prefix.hash.digest('hex');
  if (got !== sum.value.toLowerCase()) {
    throw corrupted(`${sum.type} checksum is ${got}, the repo metadata says ${sum.value} (stale mirror or damaged download)`, resumed);
  }
  const fd = fs.openSync(part, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(part, target);
}

/**
 * Writes a body to `fd` chunk by chunk, synchronously from each 'data' event, so every
 * byte received is on disk for a resume even when the connection then drops.
 * Resolves with the byte count; a body shorter than its length is an Io error.
 */
function writeBody(
  stream: Readable,
  fd: number,
  hash: ReturnType<typeof newHash>,
  o: { url: string; what: string; length?: number; max: number; onBytes: (n: number) => void; signal?: AbortSignal },
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let got = 0;
    let settled = false;
    const finish = (err: unknown): void => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      if (err) {
        stream.destroy();
        reject(err);
      } else resolve(got);
    };
    const short = (): ArborError => new ArborError('Io', `${o.what}: short read from ${o.url}: connection closed after ${got} of ${o.length ?? '?'} bytes`);
    const onAbort = (): void => finish(new ArborError('Cancelled', `${o.what}: download cancelled`));
    o.signal?.addEventListener('abort', onAbort);
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (got + chunk.length > o.max) {
        finish(new ArborError('Corrupted', `${o.what}: more than the ${o.max} bytes the repo metadata lists`));
        return;
      }
      try {
        fs.writeSync(fd, chunk);
      } catch (err) {
        finish(err);
        return;
      }
      hash.update(chunk);
      got += chunk.length;
      o.onBytes(chunk.length);
    });
    stream.on('end', () => finish(o.length !== undefined && got !== o.length ? short() : null));
    // 'aborted' comes before the 'error' that carries the reason (e.g. our idle timeout).
    stream.on('aborted', () => setImmediate(() => finish(short())));
    stream.on('error', (err) => finish(err instanceof ArborError ? err : short()));
    stream.on('close', () => finish(o.length !== undefined && got !== o.length ? short() : null));
  });
}
