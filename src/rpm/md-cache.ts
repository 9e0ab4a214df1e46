// The parsed-metadata cache: a repo's packages as parsed from primary (and filelists),
// stored under the checksums of those files, so an unchanged repo loads without XML.
// A damaged or foreign cache file is a miss (and is removed), never an error.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { writeFileAtomic } from '../common/atomic-write';
import { Dep, DepOp, PackageMeta } from './types';

// The encoding is columnar: one JSON array of distinct strings and one Uint32Array of
// indexes and numbers. Decoding it is ~5x faster than JSON.parse or v8.deserialize of
// the objects themselves, because repeated dependency names are parsed once.
/** Bump when PackageMeta's shape or the encoding changes. */
const MAGIC = Buffer.from('arbor-md-cache-3\n');
const HEAD = MAGIC.length + 12;
const NONE = 0xffffffff;
const BIG = 0xfffffffe;
const DEP_KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
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

/** Packages to bytes (PackageMeta.repo is not stored: the loader sets it). */
export function encodePackages(packages: PackageMeta[]): Buffer {
  const strings: string[] = [];
  const index = new Map<string, number>();
  let ints = new Uint32Array(1 << 16);
  let n = 0;
  const push = (v: number): void => {
    if (n === ints.length) {
      const bigger = new Uint32Array(ints.length * 2);
      bigger.set(ints);
      ints = bigger;
    }
    ints[n++] = v;
  };
  const str = (s: string | undefined): void => {
    if (s === undefined) { push(NONE); return; }
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    push(i);
  };
  const num = (v: number | undefined): void => {
    if (v === undefined) push(NONE);
    else if (Number.isInteger(v) && v >= 0 && v < BIG) push(v);
    else { push(BIG); str(String(v)); }
  };
  push(packages.length);
  for (const p of packages) {
    str(p.name); str(p.arch); num(p.epoch); str(p.version); str(p.release);
    str(p.summary); str(p.license); str(p.sourcerpm); num(p.buildtime); str(p.location);
    str(p.checksum?.type); str(p.checksum?.value); num(p.packageSize); num(p.installedSize);
    for (const kind of DEP_KINDS) {
      const deps = p[kind];
      push(deps.length);
      for (const d of deps) {
        str(d.name);
        const flags = (d.op && d.evr ? OPCODE[d.op] : 0) | (d.pre ? PRE : 0);
        push(flags);
        if (flags & 7) { num(d.evr!.epoch); str(d.evr!.version); str(d.evr!.release); }
      }
    }
    push(p.files.length);
    for (const f of p.files) str(f);
  }
  const json = Buffer.from(JSON.stringify(strings));
  const pad = Buffer.alloc((4 - ((HEAD + json.length) % 4)) % 4);
  const body = Buffer.concat([json, pad, Buffer.from(ints.buffer, 0, n * 4)]);
  // A CRC catches disk damage that would otherwise decode into wrong packages.
  const head = Buffer.alloc(12);
  head.writeUInt32LE(json.length, 0);
  head.writeUInt32LE(n, 4);
  head.writeUInt32LE(zlib.crc32(body), 8);
  return Buffer.concat([MAGIC, head, body]);
}

/** Bytes to packages; throws on anything that is not a complete encoding. */
export function decodePackages(buf: Buffer): PackageMeta[] {
  if (buf.length < HEAD || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a metadata cache file');
  const jsonLen = buf.readUInt32LE(MAGIC.length);
  const count = buf.readUInt32LE(MAGIC.length + 4);
  const jsonStart = HEAD;
  const intStart = jsonStart + jsonLen + ((4 - ((jsonStart + jsonLen) % 4)) % 4);
  if (intStart + count * 4 !== buf.length) throw new Error('metadata cache file has the wrong length');
  if (zlib.crc32(buf.subarray(HEAD)) !== buf.readUInt32LE(MAGIC.length + 8)) throw new Error('metadata cache file fails its CRC');
  const strings = JSON.parse(buf.toString('utf8', jsonStart, jsonStart + jsonLen)) as string[];
  // Copy into an aligned array: the file buffer's offset need not be a multiple of 4.
  const ints = new Uint32Array(count);
  Buffer.from(ints.buffer).set(buf.subarray(intStart));
  let i = 0;
  const next = (): number => {
    if (i >= count) throw new Error('metadata cache file is truncated');
    return ints[i++];
  };
  const str = (): string | undefined => {
    const v = next();
    if (v === NONE) return undefined;
    const s = strings[v];
    if (s === undefined) throw new Error('metadata cache file has a bad string index');
    return s;
  };
  const req = (): string => {
    const s = str();
    if (s === undefined) throw new Error('metadata cache file lacks a required string');
    return s;
  };
  const num = (): number | undefined => {
    const v = next();
    return v === NONE ? undefined : v === BIG ? Number(req()) : v;
  };
  const total = next();
  const out: PackageMeta[] = new Array(total);
  for (let k = 0; k < total; k++) {
    const name = req(), arch = req(), epoch = num() ?? 0, version = req(), release = req();
    const summary = str(), license = str(), sourcerpm = str(), buildtime = num(), location = str();
    const ctype = str(), cvalue = str(), packageSize = num(), installedSize = num();
    const p = { name, arch, epoch, version, release } as PackageMeta;
    for (const kind of DEP_KINDS) {
      const len = next();
      const deps: Dep[] = new Array(len);
      for (let d = 0; d < len; d++) {
        const dep: Dep = { name: req() };
        const flags = next();
        if (flags & 7) {
          dep.op = OPS[(flags & 7) - 1];
          dep.evr = { epoch: num() ?? 0, version: req(), release: req() };
        }
        if (flags & PRE) dep.pre = true;
        deps[d] = dep;
      }
      p[kind] = deps;
    }
    const nf = next();
    const files: string[] = new Array(nf);
    for (let f = 0; f < nf; f++) files[f] = req();
    p.files = files;
    if (summary !== undefined) p.summary = summary;
    if (license !== undefined) p.license = license;
    if (sourcerpm !== undefined) p.sourcerpm = sourcerpm;
    if (buildtime !== undefined) p.buildtime = buildtime;
    if (location !== undefined) p.location = location;
    if (ctype !== undefined && cvalue !== undefined) p.checksum = { type: ctype, value: cvalue };
    if (packageSize !== undefined) p.packageSize = packageSize;
    if (installedSize !== undefined) p.installedSize = installedSize;
    out[k] = p;
  }
  if (i !== count) throw new Error('metadata cache file has trailing data');
  return out;
}

/** The cached packages for `key`, or undefined. */
export function readMdCache(cacheDir: string, key: string): PackageMeta[] | undefined {
  const file = fileFor(cacheDir, key);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    return decodePackages(buf);
  } catch {
    fs.rmSync(file, { force: true });
    return undefined;
  }
}

/** Stores packages under `key`, atomically (readers see the old file, the new one, or none). */
export function writeMdCache(cacheDir: string, key: string, packages: PackageMeta[]): void {
  fs.mkdirSync(cacheDir, { recursive: true });
  // Cheap to regenerate from the XML, so no fsync: a torn file fails decoding and is a miss.
  writeFileAtomic(fileFor(cacheDir, key), encodePackages(packages), { durable: false });
}
