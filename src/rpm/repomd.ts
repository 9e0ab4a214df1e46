// rpm-md repositories: parse repodata/repomd.xml, then stream the primary (and, when
// asked, filelists) it lists through checksum verification, decompression and the
// XML parsers, caching the parsed packages by the metadata's checksums.
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { ArborError } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Checksum, HashTap, compressionOf, decompressor, fetchBytes, normalizeBaseurl, openUrl, resolveUrl } from './fetch';
import { mdCacheKey, readMdCache, writeMdCache } from './md-cache';
import { FilelistsParser, PrimaryParser } from './primary';
import { XmlScanner } from './xml-scanner';
import { PackageMeta } from './types';

export interface RepoSource {
  id: string;
  /** `file:///…`, `http(s)://…` or a plain local directory. */
  baseurl: string;
}

/** One `<data type="…">` record of repomd.xml. */
export interface RepomdRecord {
  type: string;
  location: string;
  checksum: Checksum;
  openChecksum?: Checksum;
  size?: number;
  openSize?: number;
  timestamp?: number;
}

export interface Repomd {
  revision?: string;
  records: Map<string, RepomdRecord>;
}

export interface LoadedRepo {
  id: string;
  /** Normalized: a URL ending in '/'. */
  baseurl: string;
  revision?: string;
  primaryChecksum: string;
  packages: PackageMeta[];
}

export interface LoadRepoOptions extends WorkOptions {
  /** Where parsed metadata is cached by checksum; no caching without it. */
  cacheDir?: string;
  /** Read filelists too, so `files` holds every file (for file dependencies). */
  filelists?: boolean;
}

const MAX_REPOMD = 16 << 20;
/** Decompressed metadata larger than this is refused (a decompression bomb, not a repo). */
const MAX_OPEN_SIZE = 8 * 1024 ** 3;

/**
 * The decompressor for a metadata file, with 256 KB output chunks for gzip and xz: with
 * zlib's default 16 KB, per-chunk stream overhead costs twice what inflating does.
 */
function metadataDecompressor(location: string): Transform {
  const kind = compressionOf(location);
  const d = kind === 'gz' ? zlib.createGunzip({ chunkSize: 256 << 10 }) : decompressor(kind);
  if (kind === 'xz') (d as Transform & { bufsize: number }).bufsize = 256 << 10;
  return d;
}

const DATA = 0, LOCATION = 1;
const A_TYPE = 0, A_HREF = 1;

/** repomd.xml's <data> records, through the same scanner as primary. */
class RepomdParser extends XmlScanner {
  readonly records = new Map<string, RepomdRecord>();
  revision: string | undefined;
  private rec: Partial<RepomdRecord> & { type?: string } | undefined;
  /** The (local) name of the element whose text is being collected. */
  private textFor: string | undefined;
  private sumType = '';

  constructor(source: string) {
    super(source, 'repomd', ['data', 'location'], ['type', 'href']);
  }

  private num(s: string, what: string): number {
    if (!/^\d{1,15}$/.test(s)) throw this.corrupted(`<${what}> of '${this.rec?.type}' is '${s}', expected a number`);
    return Number(s);
  }

  protected onOpen(el: number): void {
    const name = this.tagName().replace(/^.*:/, '');
    if (el === DATA) {
      const type = this.attr(A_TYPE);
      if (!type) throw this.corrupted('<data> without a type attribute');
      this.rec = { type };
    } else if (this.rec && el === LOCATION) {
      const href = this.attr(A_HREF);
      if (!href) throw this.corrupted(`<location> of '${this.rec.type}' has no href`);
      this.rec.location = href;
    } else if (this.rec || name === 'revision') {
      if (name === 'checksum' || name === 'open-checksum') this.sumType = this.attr(A_TYPE) ?? '';
      this.textFor = name;
      this.collectText();
    }
  }

  protected onClose(el: number): void {
    const name = this.tagName().replace(/^.*:/, '');
    const rec = this.rec;
    if (name === this.textFor) {
      const t = this.takeText();
      this.textFor = undefined;
      if (name === 'revision' && !rec) this.revision = t;
      else if (rec) {
        if (name === 'checksum' || name === 'open-checksum') {
          if (!this.sumType || !/^[0-9a-f]+$/i.test(t)) throw this.corrupted(`<${name}> of '${rec.type}' is not a typed hex checksum`);
          rec[name === 'checksum' ? 'checksum' : 'openChecksum'] = { type: this.sumType, value: t.toLowerCase() };
        } else if (name === 'size') rec.size = this.num(t, name);
        else if (name === 'open-size') rec.openSize = this.num(t, name);
        else if (name === 'timestamp') rec.timestamp = this.num(t.replace(/\.0*$/, ''), name);
      }
    } else if (el === DATA && rec) {
      if (!rec.location) throw this.corrupted(`<data type="${rec.type}"> has no <location>`);
      if (!rec.checksum) throw this.corrupted(`<data type="${rec.type}"> has no <checksum>`);
      this.records.set(rec.type!, rec as RepomdRecord);
      this.rec = undefined;
    }
  }

  end(): Repomd {
    this.finishDoc();
    return { revision: this.revision, records: this.records };
  }
}

/** Parses repomd.xml; `source` names it in errors. */
export function parseRepomd(xml: string | Buffer, source: string): Repomd {
  const p = new RepomdParser(source);
  p.write(xml);
  return p.end();
}

/** Fetches and parses `<baseurl>/repodata/repomd.xml`. */
export async function fetchRepomd(src: RepoSource, opts: WorkOptions = {}): Promise<{ url: string; repomd: Repomd }> {
  const url = resolveUrl(src.baseurl, 'repodata/repomd.xml');
  const bytes = await fetchBytes(url, { what: `repo '${src.id}'`, signal: opts.signal, maxBytes: MAX_REPOMD, idleTimeoutMs: 60_000 });
  return { url, repomd: parseRepomd(bytes, `repo '${src.id}': ${url}`) };
}

/**
 * Streams one metadata file: compressed bytes are hashed against repomd's checksum,
 * decompressed bytes against its open-checksum, and handed to `sink` as they come.
 */
async function streamRecord(
  src: RepoSource,
  rec: RepomdRecord,
  sink: { write(chunk: Buffer): void },
  opts: WorkOptions,
): Promise<void> {
  const url = resolveUrl(src.baseurl, rec.location);
  const what = `repo '${src.id}': ${rec.type}`;
  const { stream } = await openUrl(url, { what: `repo '${src.id}'`, signal: opts.signal, idleTimeoutMs: 60_000 });
  const raw = new HashTap(rec.checksum.type, what, rec.size ?? Infinity, undefined, 'repomd.xml lists (stale mirror or damaged file)');
  const open = new HashTap(rec.openChecksum?.type, what, rec.openSize ?? MAX_OPEN_SIZE, undefined,
    rec.openSize ? 'repomd.xml lists as open-size' : 'allowed for decompressed metadata');
  let sinkError: unknown;
  try {
    await pipeline(stream, raw, metadataDecompressor(rec.location), open, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        try {
          sink.write(chunk);
        } catch (err) {
          sinkError = err;
          throw err;
        }
      }
    }, { signal: opts.signal });
  } catch (err) {
    if (opts.signal?.aborted) throw new ArborError('Cancelled', `${what}: cancelled`);
    if (sinkError) throw sinkError;
    if (err instanceof ArborError && err.code !== 'Corrupted') throw err;
    const reason = err instanceof ArborError ? err.message : (err as Error).message;
    throw new ArborError('Corrupted', `${what} ${url} cannot be read: ${reason}`, { cause: err });
  }
  const got = raw.hex();
  if (got !== rec.checksum.value) {
    throw new ArborError('Corrupted', `${what} ${url}: ${rec.checksum.type} checksum is ${got}, repomd.xml says ${rec.checksum.value} (stale mirror or damaged file)`);
  }
  if (rec.size !== undefined && raw.bytes !== rec.size) {
    throw new ArborError('Corrupted', `${what} ${url}: ${raw.bytes} bytes, repomd.xml says ${rec.size}`);
  }
  if (rec.openChecksum) {
    const openGot = open.hex();
    if (openGot !== rec.openChecksum.value) {
      throw new ArborError('Corrupted', `${what} ${url}: decompressed ${rec.openChecksum.type} checksum is ${openGot}, repomd.xml says ${rec.openChecksum.value}`);
    }
  }
}

/**
 * Runs two jobs at once; when one fails, cancels the other and reports the first job's
 * error if it has one (so errors read the same as when the jobs ran one after the other).
 */
async function both<T>(signal: AbortSignal | undefined, first: (s: AbortSignal) => Promise<T>, second: (s: AbortSignal) => Promise<unknown>): Promise<T> {
  const ac = new AbortController();
  const linked = signal ? AbortSignal.any([signal, ac.signal]) : ac.signal;
  const cancelOnFailure = <R>(p: Promise<R>): Promise<R> => p.catch((err: unknown) => { ac.abort(); throw err; });
  const [a, b] = await Promise.allSettled([cancelOnFailure(first(linked)), cancelOnFailure(second(linked))]);
  const cancelledByUs = (r: PromiseSettledResult<unknown>): boolean =>
    r.status === 'rejected' && !signal?.aborted && r.reason instanceof ArborError && r.reason.code === 'Cancelled';
  if (a.status === 'rejected' && !cancelledByUs(a)) throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  if (a.status === 'rejected') throw a.reason;
  return a.value;
}

/**
 * Loads a repo's packages: from the cache when the metadata checksums match a cached
 * parse, else by streaming and verifying its primary (and filelists when asked).
 */
export async function loadRepo(src: RepoSource, opts: LoadRepoOptions = {}): Promise<LoadedRepo> {
  const baseurl = normalizeBaseurl(src.baseurl);
  const source = { id: src.id, baseurl };
  const { url, repomd } = await fetchRepomd(source, opts);
  const primary = repomd.records.get('primary');
  if (!primary) throw new ArborError('Corrupted', `repo '${src.id}': ${url} lists no primary metadata`);
  const fl = opts.filelists ? repomd.records.get('filelists') : undefined;
  if (opts.filelists && !fl) throw new ArborError('Corrupted', `repo '${src.id}': ${url} lists no filelists metadata`);
  const key = mdCacheKey(primary.checksum.value, fl?.checksum.value);
  // Both the cache and the parser set PackageMeta.repo.
  const done = (packages: PackageMeta[]): LoadedRepo => {
    opts.progress?.({ phase: 'metadata', done: packages.length, total: packages.length, message: src.id });
    return { id: src.id, baseurl, revision: repomd.revision, primaryChecksum: primary.checksum.value, packages };
  };
  const cached = opts.cacheDir ? readMdCache(opts.cacheDir, key, src.id) : undefined;
  if (cached) return done(cached);

  const parser = new PrimaryParser({
    source: `repo '${src.id}': ${resolveUrl(baseurl, primary.location)}`,
    repo: src.id,
    onPackage: (n) => opts.progress?.({ phase: 'metadata', done: n, message: src.id }),
    encodeForCache: opts.cacheDir !== undefined,
  });
  let packages: PackageMeta[];
  if (!fl) {
    await streamRecord(source, primary, parser, opts);
    packages = parser.end();
  } else {
    // Filelists stream and parse alongside primary (decompression overlaps parsing); its
    // file lists are matched to the packages once both are done.
    const flp = new FilelistsParser([], `repo '${src.id}': ${resolveUrl(baseurl, fl.location)}`, true);
    packages = await both(opts.signal, (signal) => streamRecord(source, primary, parser, { ...opts, signal }).then(() => parser.end()),
      (signal) => streamRecord(source, fl, flp, { ...opts, signal }).then(() => flp.end()));
    flp.matchTo(packages);
  }
  if (opts.cacheDir) writeMdCache(opts.cacheDir, key, packages, parser.cacheEncoder());
  return done(packages);
}
