// The parsed-metadata cache: a repo's packages as parsed from primary (and filelists),
// stored under the checksums of those files, so an unchanged repo loads without XML.
// A damaged or foreign cache file is a miss (and is removed), never an error.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { writeFileAtomic } from '../common/atomic-write';
import { Dep, DepOp, Evr, PackageMeta } from './types';

// The encoding is columnar: one JSON array of strings, then Uint32 columns of indexes
// and numbers: a table of distinct dependencies, the packages (which name dependencies
// by index), and their files. Decoding parses each repeated string and dependency once
// (most requires are a few thousand sonames) and makes one shared Dep object for each,
// as the XML parser does. Strings come in two tables: shared ones (deduplicated, or the
// parser's interned strings as it numbered them) and unique ones (checksums, paths),
// which need no lookup; an index with the top bit set is into the second.
/** Bump when PackageMeta's shape or the encoding changes. */
const MAGIC = Buffer.from('arbor-md-cache-5\n');
const HEAD_FIELDS = 8;
const HEAD = MAGIC.length + 4 + HEAD_FIELDS * 4;
const NONE = 0xffffffff;
const BIG = 0xfffffffe;
const UNIQUE = 0x80000000;
/** The order of a package's dependency lists in the encoding. */
export const DEP_KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
const OPS: DepOp[] = ['LT', 'LE', 'EQ', 'GE', 'GT'];
const OPCODE: Record<DepOp, number> = { LT: 1, LE: 2, EQ: 3, GE: 4, GT: 5 };
const PRE = 8;

/** The cache key for a repo's parsed metadata: the checksums of what was parsed. */
export function mdCacheKey(primaryChecksum: string, filelistsChecksum?: string): string {
  return filelistsChecksum ? `primary-${primaryChecksum}-filelists-${filelistsChecksum}` : `primary-${primaryChecksum}`;
}

function fileFor(cacheDir: string, key: string): string {
  if (!/^[a-z]+-[0-9a-f]+(-[a-z]+-[0-9a-f]+)?$/.test(key)) throw new Error(`bad metadata cache key '${key}'`);
  return path.join(cacheDir, `${key}.mdc`);
}

/** A growable column of uint32s. */
class Column {
  a: Uint32Array;
  n = 0;
  constructor(expected: number) {
    this.a = new Uint32Array(Math.max(1024, expected));
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const bigger = new Uint32Array(this.a.length * 2);
      bigger.set(this.a);
      this.a = bigger;
    }
    this.a[this.n++] = v;
  }
  bytes(): Buffer {
    return Buffer.from(this.a.buffer, 0, this.n * 4);
  }
}

/** The string ids a parser knows for a package's name, arch, version, release, license, sourcerpm and checksum type (-1: none). */
export const HINTED_FIELDS = 7;

/**
 * Builds the encoding one dependency and package at a time: encodePackages() for any
 * packages, or a parser as it parses, passing the ids it gave the strings it interned
 * and the Deps it shared, so that encoding needs no lookups and no second pass. Files
 * are taken from the packages at the end (filelists replaces them after primary).
 */
export class PackageEncoder {
  /** Shared strings: the parser's interned strings, or those deduplicated through `index` into `own`. */
  private readonly shared: readonly string[];
  private readonly own: string[] | undefined;
  private readonly index: Map<string, number> | undefined;
  private readonly unique: string[] = [];
  private readonly deps: Column;
  private readonly pkgs: Column;
  private depCount = 0;
  private pkgCount = 0;

  /** `shared`: the parser's interned strings, by the ids it will pass (it may still add to them). */
  constructor(expectedPackages: number, shared?: readonly string[]) {
    if (shared) this.shared = shared;
    else {
      this.shared = this.own = [];
      this.index = new Map();
    }
    // Sized for a typical repo (one growth at most): doubling a big column is garbage to collect.
    this.deps = new Column(expectedPackages * 10);
    this.pkgs = new Column(expectedPackages * 32);
  }

  /** A string that repeats (names, versions): stored once, at `id` if the parser says so. */
  private str(col: Column, s: string | undefined, id = -1): void {
    if (s === undefined) col.push(NONE);
    else if (id >= 0) col.push(id);
    else if (!this.index || !this.own) this.uniq(col, s);
    else {
      let i = this.index.get(s);
      if (i === undefined) {
        i = this.own.length;
        this.own.push(s);
        this.index.set(s, i);
      }
      col.push(i);
    }
  }

  /** A string that is (almost always) unique, like a checksum or a path: not worth looking up. */
  private uniq(col: Column, s: string | undefined): void {
    if (s === undefined) { col.push(NONE); return; }
    if (this.unique.length >= BIG - UNIQUE) throw new Error('too many strings for the metadata cache');
    col.push(UNIQUE | this.unique.length);
    this.unique.push(s);
  }

  private num(col: Column, v: number | undefined): void {
    if (v === undefined) col.push(NONE);
    else if (Number.isInteger(v) && v >= 0 && v < BIG) col.push(v);
    else { col.push(BIG); this.str(col, String(v)); }
  }

  /** Adds a Dep to the table (with the ids of its name, version and release, if known); returns its index. */
  addDep(d: Dep, nameId = -1, verId = -1, relId = -1): number {
    const c = this.deps;
    this.str(c, d.name, nameId);
    const flags = (d.op && d.evr ? OPCODE[d.op] : 0) | (d.pre ? PRE : 0);
    c.push(flags);
    if (flags & 7) { this.num(c, d.evr!.epoch); this.str(c, d.evr!.version, verId); this.str(c, d.evr!.release, relId); }
    return this.depCount++;
  }

  /** Adds a package's fields (string ids as HINTED_FIELDS says, if known); its dependency lists must follow. */
  addPackage(p: PackageMeta, ids?: ArrayLike<number>): void {
    const c = this.pkgs;
    this.str(c, p.name, ids?.[0]); this.str(c, p.arch, ids?.[1]); this.num(c, p.epoch);
    this.str(c, p.version, ids?.[2]); this.str(c, p.release, ids?.[3]);
    this.uniq(c, p.summary); this.str(c, p.license, ids?.[4]); this.str(c, p.sourcerpm, ids?.[5]);
    this.num(c, p.buildtime); this.uniq(c, p.location);
    this.str(c, p.checksum?.type, ids?.[6]); this.uniq(c, p.checksum?.value); this.num(c, p.packageSize); this.num(c, p.installedSize);
    this.pkgCount++;
  }

  /** One of the package's dependency lists, in DEP_KINDS order: the table indexes of its first `n` Deps. */
  addDepList(indexes: ArrayLike<number>, n: number): void {
    this.pkgs.push(n);
    for (let i = 0; i < n; i++) this.pkgs.push(indexes[i]);
  }

  /** The encoding, with the files of `packages` (the ones added, in order). */
  finish(packages: PackageMeta[]): Buffer {
    if (packages.length !== this.pkgCount) throw new Error(`encoded ${this.pkgCount} packages, given ${packages.length}`);
    let nfiles = 0;
    for (const p of packages) nfiles += p.files.length;
    const files = new Column(packages.length + nfiles);
    for (const p of packages) {
      files.push(p.files.length);
      for (const f of p.files) this.uniq(files, f);
    }
    const shared = this.shared.length;
    const json = Buffer.from(JSON.stringify(shared ? this.shared.concat(this.unique) : this.unique));
    const pad = Buffer.alloc((4 - ((HEAD + json.length) % 4)) % 4);
    const head = Buffer.alloc(4 + HEAD_FIELDS * 4);
    [json.length, shared, this.deps.n, this.pkgs.n, files.n, this.depCount, this.pkgCount].forEach((v, i) => head.writeUInt32LE(v, 4 + i * 4));
    const parts = [head.subarray(4), json, pad, this.deps.bytes(), this.pkgs.bytes(), files.bytes()];
    // A CRC (of everything after it) catches disk damage that would otherwise decode into wrong packages.
    head.writeUInt32LE(parts.reduce((crc, part) => zlib.crc32(part, crc), 0), 0);
    return Buffer.concat([MAGIC, head.subarray(0, 4), ...parts]);
  }
}

/** Packages to bytes (PackageMeta.repo is not stored: the loader sets it). */
export function encodePackages(packages: PackageMeta[]): Buffer {
  const e = new PackageEncoder(packages.length);
  const depIndex = new Map<Dep, number>();
  let scratch: number[] = [];
  const list = (deps: Dep[]): void => {
    if (scratch.length < deps.length) scratch = new Array<number>(deps.length);
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i];
      let k = depIndex.get(d);
      if (k === undefined) depIndex.set(d, k = e.addDep(d));
      scratch[i] = k;
    }
    e.addDepList(scratch, deps.length);
  };
  for (const p of packages) {
    e.addPackage(p);
    // In DEP_KINDS order, spelled out: a loop over kind names makes every read a keyed lookup.
    list(p.provides); list(p.requires); list(p.conflicts); list(p.obsoletes);
    list(p.recommends); list(p.suggests); list(p.supplements); list(p.enhances);
  }
  return e.finish(packages);
}

/** Reads one column; every read is bounds-checked, so damage is an exception, not garbage. */
class Reader {
  i: number;
  constructor(private readonly ints: Uint32Array, start: number, private readonly end: number, private readonly strings: string[], private readonly shared: number) {
    this.i = start;
  }
  next(): number {
    if (this.i >= this.end) throw new Error('metadata cache file is truncated');
    return this.ints[this.i++];
  }
  str(): string | undefined {
    const v = this.next();
    if (v === NONE) return undefined;
    const s = this.strings[v & UNIQUE ? this.shared + (v & ~UNIQUE) : v];
    if (typeof s !== 'string') throw new Error('metadata cache file has a bad string index');
    return s;
  }
  req(): string {
    const s = this.str();
    if (s === undefined) throw new Error('metadata cache file lacks a required string');
    return s;
  }
  num(): number | undefined {
    const v = this.next();
    return v === NONE ? undefined : v === BIG ? Number(this.req()) : v;
  }
}

/** Bytes to packages, with `repo` set if given; throws on anything that is not a complete encoding. */
export function decodePackages(buf: Buffer, repo?: string): PackageMeta[] {
  if (buf.length < HEAD || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a metadata cache file');
  const [jsonLen, shared, depInts, pkgInts, fileInts, depCount, total] = Array.from({ length: 7 }, (_, i) => buf.readUInt32LE(MAGIC.length + 4 + i * 4));
  const intStart = HEAD + jsonLen + ((4 - ((HEAD + jsonLen) % 4)) % 4);
  const nints = depInts + pkgInts + fileInts;
  const bodyEnd = intStart + nints * 4;
  if (bodyEnd !== buf.length) throw new Error('metadata cache file has the wrong length');
  if (zlib.crc32(buf.subarray(MAGIC.length + 4)) !== buf.readUInt32LE(MAGIC.length)) throw new Error('metadata cache file fails its CRC');
  const strings = JSON.parse(buf.toString('utf8', HEAD, HEAD + jsonLen)) as string[];
  if (!Array.isArray(strings) || shared > strings.length) throw new Error('metadata cache file has no string table');
  // Copy into an aligned array: the file buffer's offset need not be a multiple of 4.
  const ints = new Uint32Array(nints);
  Buffer.from(ints.buffer).set(buf.subarray(intStart, bodyEnd));

  const dr = new Reader(ints, 0, depInts, strings, shared);
  if (depCount > depInts) throw new Error('metadata cache file has a bad dependency count');
  const deps: Dep[] = new Array(depCount);
  for (let k = 0; k < depCount; k++) {
    const name = dr.req();
    const flags = dr.next();
    const pre = (flags & PRE) !== 0;
    const opcode = flags & 7;
    if (opcode) {
      if (opcode > OPS.length) throw new Error('metadata cache file has a bad dependency operator');
      const evr: Evr = { epoch: dr.num() ?? 0, version: dr.req(), release: dr.req() };
      deps[k] = pre ? { name, op: OPS[opcode - 1], evr, pre } : { name, op: OPS[opcode - 1], evr };
    } else deps[k] = pre ? { name, pre } : { name };
  }
  if (dr.i !== depInts) throw new Error('metadata cache file has a bad dependency table');

  const r = new Reader(ints, depInts, depInts + pkgInts, strings, shared);
  const fr = new Reader(ints, depInts + pkgInts, nints, strings, shared);
  const list = (): Dep[] => {
    const len = r.next();
    // A literal for the (usual) empty list lets V8 allocate those straight into the old generation.
    if (len === 0) return [];
    if (len > pkgInts) throw new Error('metadata cache file has a bad list length');
    const out: Dep[] = new Array(len);
    for (let d = 0; d < len; d++) {
      const dep = deps[r.next()];
      if (dep === undefined) throw new Error('metadata cache file has a bad dependency index');
      out[d] = dep;
    }
    return out;
  };
  if (total > pkgInts) throw new Error('metadata cache file has a bad package count');
  const out: PackageMeta[] = new Array(total);
  for (let k = 0; k < total; k++) {
    const name = r.req(), arch = r.req(), epoch = r.num() ?? 0, version = r.req(), release = r.req();
    const summary = r.str(), license = r.str(), sourcerpm = r.str(), buildtime = r.num(), location = r.str();
    const ctype = r.str(), cvalue = r.str(), packageSize = r.num(), installedSize = r.num();
    const provides = list(), requires = list(), conflicts = list(), obsoletes = list();
    const recommends = list(), suggests = list(), supplements = list(), enhances = list();
    const nf = fr.next();
    if (nf > fileInts) throw new Error('metadata cache file has a bad file count');
    const files: string[] = new Array(nf);
    for (let f = 0; f < nf; f++) files[f] = fr.req();
    let p: PackageMeta;
    if (ctype !== undefined && cvalue !== undefined && summary !== undefined && buildtime !== undefined && packageSize !== undefined &&
      installedSize !== undefined && location !== undefined && license !== undefined && sourcerpm !== undefined && repo !== undefined) {
      // The usual case as one literal (in PrimaryParser's order), so every package has one shape.
      const checksum = { type: ctype, value: cvalue };
      p = {
        name, arch, epoch, version, release, provides, requires, conflicts, obsoletes, recommends, suggests, supplements, enhances,
        files, checksum, summary, buildtime, packageSize, installedSize, location, license, sourcerpm, repo,
      };
    } else {
      p = { name, arch, epoch, version, release, provides, requires, conflicts, obsoletes, recommends, suggests, supplements, enhances, files };
      if (ctype !== undefined && cvalue !== undefined) p.checksum = { type: ctype, value: cvalue };
      if (summary !== undefined) p.summary = summary;
      if (buildtime !== undefined) p.buildtime = buildtime;
      if (packageSize !== undefined) p.packageSize = packageSize;
      if (installedSize !== undefined) p.installedSize = installedSize;
      if (location !== undefined) p.location = location;
      if (license !== undefined) p.license = license;
      if (sourcerpm !== undefined) p.sourcerpm = sourcerpm;
      if (repo !== undefined) p.repo = repo;
    }
    out[k] = p;
  }
  if (r.i !== depInts + pkgInts || fr.i !== nints) throw new Error('metadata cache file has trailing data');
  return out;
}

/** The cached packages for `key` (with `repo` set if given), or undefined. */
export function readMdCache(cacheDir: string, key: string, repo?: string): PackageMeta[] | undefined {
  const file = fileFor(cacheDir, key);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    return decodePackages(buf, repo);
  } catch {
    fs.rmSync(file, { force: true });
    return undefined;
  }
}

/**
 * Stores packages under `key`, atomically (readers see the old file, the new one, or
 * none); `encoder`, if given, is the one their parser fed as it made them.
 */
export function writeMdCache(cacheDir: string, key: string, packages: PackageMeta[], encoder?: PackageEncoder): void {
  fs.mkdirSync(cacheDir, { recursive: true });
  // Cheap to regenerate from the XML, so no fsync: a torn file fails decoding and is a miss.
  writeFileAtomic(fileFor(cacheDir, key), encoder ? encoder.finish(packages) : encodePackages(packages), { durable: false });
}
