// rpm-md repositories: parse repodata/repomd.xml, then stream the primary (and, when
// asked, filelists) it lists through checksum verification, decompression and the
// SAX parsers, caching the parsed packages by the metadata's checksums.
import { pipeline } from 'node:stream/promises';
import { SaxesParser } from 'saxes';
import { ArborError, throwIfAborted } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Checksum, HashTap, compressionOf, decompressor, fetchBytes, normalizeBaseurl, openUrl, resolveUrl } from './fetch';
import { mdCacheKey, readMdCache, writeMdCache } from './md-cache';
import { FilelistsParser, PrimaryParser } from './primary';
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

/** Parses repomd.xml; `source` names it in errors. */
export function parseRepomd(xml: string | Buffer, source: string): Repomd {
  const records = new Map<string, RepomdRecord>();
  let revision: string | undefined;
  let rec: Partial<RepomdRecord> & { type?: string } | undefined;
  let textFor: string | undefined;
  let text = '';
  let sumType = '';
  let root: string | undefined;
  const sax = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  const bad = (msg: string): ArborError => new ArborError('Corrupted', `${source}: line ${sax.line}: ${msg}`);
  const num = (s: string, what: string): number => {
    if (!/^\d{1,15}$/.test(s)) throw bad(`<${what}> of '${rec?.type}' is '${s}', expected a number`);
    return Number(s);
  };
  sax.on('error', (e) => { throw bad(e.message.replace(/^(?:[^:]*:)?\d+:\d+: /, '')); });
  sax.on('opentag', (tag) => {
    const name = tag.name.replace(/^.*:/, '');
    if (root === undefined) {
      root = name;
      if (name !== 'repomd') throw bad(`root element is <${tag.name}>, expected <repomd>`);
      return;
    }
    if (name === 'data') {
      const type = tag.attributes.type;
      if (!type) throw bad('<data> without a type attribute');
      rec = { type };
    } else if (rec && name === 'location') {
      if (!tag.attributes.href) throw bad(`<location> of '${rec.type}' has no href`);
      rec.location = tag.attributes.href;
    } else if (rec || name === 'revision') {
      if (name === 'checksum' || name === 'open-checksum') sumType = tag.attributes.type ?? '';
      textFor = name;
      text = '';
    }
  });
  sax.on('text', (t) => {
    if (textFor !== undefined && text.length < 4096) text += t;
  });
  sax.on('closetag', (tag) => {
    const name = tag.name.replace(/^.*:/, '');
    if (name === textFor) {
      const t = text.trim();
      textFor = undefined;
      if (name === 'revision' && !rec) revision = t;
      else if (rec) {
        if (name === 'checksum' || name === 'open-checksum') {
          if (!sumType || !/^[0-9a-f]+$/i.test(t)) throw bad(`<${name}> of '${rec.type}' is not a typed hex checksum`);
          rec[name === 'checksum' ? 'checksum' : 'openChecksum'] = { type: sumType, value: t.toLowerCase() };
        } else if (name === 'size') rec.size = num(t, name);
        else if (name === 'open-size') rec.openSize = num(t, name);
        else if (name === 'timestamp') rec.timestamp = num(t.replace(/\.0*$/, ''), name);
      }
    } else if (name === 'data' && rec) {
      if (!rec.location) throw bad(`<data type="${rec.type}"> has no <location>`);
      if (!rec.checksum) throw bad(`<data type="${rec.type}"> has no <checksum>`);
      records.set(rec.type!, rec as RepomdRecord);
      rec = undefined;
    }
  });
  sax.write(typeof xml === 'string' ? xml : xml.toString('utf8'));
  sax.close();
  if (root === undefined) throw new ArborError('Corrupted', `${source}: empty or not XML`);
  return { revision, records };
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
    await pipeline(stream, raw, decompressor(compressionOf(rec.location)), open, async (source: AsyncIterable<Buffer>) => {
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
  const done = (packages: PackageMeta[]): LoadedRepo => {
    for (const p of packages) p.repo = src.id;
    opts.progress?.({ phase: 'metadata', done: packages.length, total: packages.length, message: src.id });
    return { id: src.id, baseurl, revision: repomd.revision, primaryChecksum: primary.checksum.value, packages };
  };
  const cached = opts.cacheDir ? readMdCache(opts.cacheDir, key) : undefined;
  if (cached) return done(cached);

  const parser = new PrimaryParser({
    source: `repo '${src.id}': ${resolveUrl(baseurl, primary.location)}`,
    repo: src.id,
    onPackage: (n) => opts.progress?.({ phase: 'metadata', done: n, message: src.id }),
  });
  await streamRecord(source, primary, parser, opts);
  const packages = parser.end();
  if (fl) {
    throwIfAborted(opts.signal);
    const flp = new FilelistsParser(packages, `repo '${src.id}': ${resolveUrl(baseurl, fl.location)}`);
    await streamRecord(source, fl, flp, opts);
    flp.end();
  }
  if (opts.cacheDir) writeMdCache(opts.cacheDir, key, packages);
  return done(packages);
}
