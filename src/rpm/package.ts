// An RPM file read: lead, signature header, main header — with the header digests
// checked on open and the payload digest checked as the payload streams. Gives the
// shared PackageMeta, a typed file list, scriptlets, triggers, changelog and the payload.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { ArborError, toArborError } from '../common/errors';
import { Header } from './header';
import { LEAD_SIZE, Lead, parseLead } from './lead';
import { FILEFLAG, HASHALGO, SCRIPTFLAG, SENSE, SIGTAG, TAG } from './tags';
import { Compressor, compressorFromTag, decompressedPayload } from './payload';
import { Dep, Nevra, PackageMeta, isPrimaryFile, opFromSense, parseEvr } from './types';

export type FileType = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket' | 'unknown';

export interface RpmFile {
  /** Position in the header's file arrays (the stripped cpio form refers to it). */
  index: number;
  /** Absolute path as installed: '/usr/bin/x'. */
  path: string;
  type: FileType;
  /** Full st_mode (type and permission bits). */
  mode: number;
  size: number;
  user: string;
  group: string;
  mtime: number;
  /** Hex digest in `digestAlgo` ('' for non-regular files). */
  digest: string;
  /** Symlink target ('' otherwise). */
  linkTo: string;
  flags: number;
  config: boolean;
  noreplace: boolean;
  missingok: boolean;
  doc: boolean;
  license: boolean;
  ghost: boolean;
  inode: number;
  device: number;
  rdev: number;
  lang: string;
  /** File capabilities in text form, when the package sets any. */
  caps: string;
}

export type ScriptletKind = 'pretrans' | 'prein' | 'postin' | 'preun' | 'postun' | 'posttrans' | 'verify';

export interface Scriptlet {
  kind: ScriptletKind;
  /** Interpreter and its arguments ('/bin/sh' when the header names none). */
  prog: string[];
  /** The script text; '' for `-p <program>` scriptlets with no body. */
  body: string;
  flags: number;
  /** rpm expands macros in the body at install time (%post -e). */
  expand: boolean;
}

export interface Trigger {
  kind: 'triggerprein' | 'triggerin' | 'triggerun' | 'triggerpostun';
  conditions: Dep[];
  prog: string[];
  body: string;
}

export interface ChangelogEntry {
  time: number;
  author: string;
  text: string;
}

export interface PayloadInfo {
  format: string;
  compressor: Compressor;
  /** PAYLOADFLAGS, e.g. '19' for zstd level 19. */
  flags: string;
  /** Hex digest over the compressed payload, and its algorithm, when the package has one. */
  digest?: string;
  digestAlgo?: string;
  /** Offset of the compressed payload in the file, and its length. */
  offset: number;
  size: number;
}

const SCRIPTLET_TAGS: Array<[ScriptletKind, number, number, number]> = [
  ['pretrans', TAG.PRETRANS, TAG.PRETRANSPROG, TAG.PRETRANSFLAGS],
  ['prein', TAG.PREIN, TAG.PREINPROG, TAG.PREINFLAGS],
  ['postin', TAG.POSTIN, TAG.POSTINPROG, TAG.POSTINFLAGS],
  ['preun', TAG.PREUN, TAG.PREUNPROG, TAG.PREUNFLAGS],
  ['postun', TAG.POSTUN, TAG.POSTUNPROG, TAG.POSTUNFLAGS],
  ['posttrans', TAG.POSTTRANS, TAG.POSTTRANSPROG, TAG.POSTTRANSFLAGS],
  ['verify', TAG.VERIFYSCRIPT, TAG.VERIFYSCRIPTPROG, TAG.VERIFYSCRIPTFLAGS],
];

export const DEP_KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
export type DepKind = (typeof DEP_KINDS)[number];
const DEP_TAGS: Record<DepKind, [number, number, number]> = {
  provides: [TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION],
  requires: [TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION],
  conflicts: [TAG.CONFLICTNAME, TAG.CONFLICTFLAGS, TAG.CONFLICTVERSION],
  obsoletes: [TAG.OBSOLETENAME, TAG.OBSOLETEFLAGS, TAG.OBSOLETEVERSION],
  recommends: [TAG.RECOMMENDNAME, TAG.RECOMMENDFLAGS, TAG.RECOMMENDVERSION],
  suggests: [TAG.SUGGESTNAME, TAG.SUGGESTFLAGS, TAG.SUGGESTVERSION],
  supplements: [TAG.SUPPLEMENTNAME, TAG.SUPPLEMENTFLAGS, TAG.SUPPLEMENTVERSION],
  enhances: [TAG.ENHANCENAME, TAG.ENHANCEFLAGS, TAG.ENHANCEVERSION],
};
// Requires(pre)/(post): needed before an install scriptlet runs. The same bits
// createrepo_c turns into pre="1", so repo metadata and headers agree.
const PRE_MASK = SENSE.PREREQ | SENSE.SCRIPT_PRE | SENSE.SCRIPT_POST;

const S_IFMT = 0o170000;
function fileType(mode: number): FileType {
  switch (mode & S_IFMT) {
    case 0o100000: return 'file';
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o020000: return 'chardev';
    case 0o060000: return 'blockdev';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    default: return 'unknown';
  }
}

/** Turns parallel name/flags/version arrays into Deps. */
export function depsFromHeader(h: Header, nameTag: number, flagsTag: number, versionTag: number, dropRpmlib: boolean): Dep[] {
  const names = h.getStrings(nameTag) ?? [];
  const flags = h.getNumbers(flagsTag) ?? [];
  const versions = h.getStrings(versionTag) ?? [];
  if ((flags.length && flags.length !== names.length) || (versions.length && versions.length !== names.length)) {
    throw new ArborError('Corrupted', `${h.where}: dependency arrays of tag ${nameTag} disagree in length (${names.length} names, ${flags.length} flags, ${versions.length} versions)`);
  }
  const out: Dep[] = [];
  for (let i = 0; i < names.length; i++) {
    const f = flags[i] ?? 0;
    if (dropRpmlib && (f & SENSE.RPMLIB || names[i].startsWith('rpmlib('))) continue;
    const d: Dep = { name: names[i] };
    const op = opFromSense(f);
    const v = versions[i] ?? '';
    if (op && v) {
      d.op = op;
      d.evr = parseEvr(v);
    }
    if (f & PRE_MASK) d.pre = true;
    out.push(d);
  }
  return out;
}

export class RpmPackage {
  readonly path: string;
  readonly lead: Lead;
  readonly signature: Header;
  readonly header: Header;
  /** Offset of the main header (its magic) in the file. */
  readonly headerOffset: number;
  readonly payloadOffset: number;
  readonly fileSize: number;
  private fileCache: RpmFile[] | undefined;
  private payloadInfoCache: PayloadInfo | undefined;

  constructor(p: string, lead: Lead, signature: Header, header: Header, headerOffset: number, payloadOffset: number, fileSize: number) {
    this.path = p;
    this.lead = lead;
    this.signature = signature;
    this.header = header;
    this.headerOffset = headerOffset;
    this.payloadOffset = payloadOffset;
    this.fileSize = fileSize;
  }

  private str(tag: number): string {
    return this.header.getString(tag) ?? '';
  }

  nevra(): Nevra {
    return {
      name: this.str(TAG.NAME),
      epoch: this.header.getNumber(TAG.EPOCH) ?? 0,
      version: this.str(TAG.VERSION),
      release: this.str(TAG.RELEASE),
      arch: this.isSource() ? 'src' : this.str(TAG.ARCH),
    };
  }

  isSource(): boolean {
    return !this.header.has(TAG.SOURCERPM) && (this.header.has(TAG.SOURCEPACKAGE) || this.lead.type === 1);
  }

  deps(kind: DepKind, opts: { keepRpmlib?: boolean } = {}): Dep[] {
    const [n, f, v] = DEP_TAGS[kind];
    return depsFromHeader(this.header, n, f, v, kind === 'requires' && !opts.keepRpmlib);
  }

  /**
   * Requires as createrepo_c writes them to primary.xml: no rpmlib(), none the package
   * provides itself, none on its own /etc or bin/ files, and a repeat of the previous
   * entry of the same name (same flags, version and pre) dropped.
   */
  repoRequires(): Dep[] {
    const provided = new Set(this.deps('provides').map((d) => d.name));
    const own = new Set(this.files().map((f) => f.path).filter(isPrimaryFile));
    const last = new Map<string, Dep>();
    const out: Dep[] = [];
    for (const d of this.deps('requires')) {
      if (provided.has(d.name) || own.has(d.name)) continue;
      const prev = last.get(d.name);
      if (prev && prev.op === d.op && formatEvrOrEmpty(prev) === formatEvrOrEmpty(d) && !!prev.pre === !!d.pre) continue;
      out.push(d);
      last.set(d.name, d);
    }
    return out;
  }

  /** The shared package model, its requires filtered as createrepo_c does (repoRequires). */
  meta(): PackageMeta {
    const h = this.header;
    const m: PackageMeta = {
      ...this.nevra(),
      provides: this.deps('provides'),
      requires: this.repoRequires(),
      conflicts: this.deps('conflicts'),
      obsoletes: this.deps('obsoletes'),
      recommends: this.deps('recommends'),
      suggests: this.deps('suggests'),
      supplements: this.deps('supplements'),
      enhances: this.deps('enhances'),
      files: this.files().map((f) => f.path),
      summary: h.getString(TAG.SUMMARY),
      license: h.getString(TAG.LICENSE),
      sourcerpm: h.getString(TAG.SOURCERPM),
      buildtime: h.getNumber(TAG.BUILDTIME),
      packageSize: this.fileSize,
      installedSize: h.getNumber(TAG.LONGSIZE) ?? h.getNumber(TAG.SIZE),
    };
    return m;
  }

  /** The file list with everything rpm records per file. */
  files(): RpmFile[] {
    return (this.fileCache ??= buildFileList(this.header));
  }

  /** Groups of indices of regular files that share one inode (rpm's hardlink sets). */
  hardlinkSets(): number[][] {
    const byKey = new Map<string, number[]>();
    for (const f of this.files()) {
      if (f.type !== 'file' || f.ghost) continue;
      const k = `${f.device}:${f.inode}`;
      const set = byKey.get(k);
      if (set) set.push(f.index);
      else byKey.set(k, [f.index]);
    }
    return [...byKey.values()].filter((s) => s.length > 1);
  }

  scriptlets(): Scriptlet[] {
    const h = this.header;
    const out: Scriptlet[] = [];
    for (const [kind, bodyTag, progTag, flagsTag] of SCRIPTLET_TAGS) {
      const body = h.getString(bodyTag);
      const prog = h.getStrings(progTag);
      if (body === undefined && prog === undefined) continue;
      const flags = h.getNumber(flagsTag) ?? 0;
      out.push({ kind, prog: prog ?? ['/bin/sh'], body: body ?? '', flags, expand: !!(flags & SCRIPTFLAG.EXPAND) });
    }
    return out;
  }

  triggers(): Trigger[] {
    const h = this.header;
    const scripts = h.getStrings(TAG.TRIGGERSCRIPTS) ?? [];
    if (!scripts.length) return [];
    const progs = h.getStrings(TAG.TRIGGERSCRIPTPROG) ?? [];
    const names = h.getStrings(TAG.TRIGGERNAME) ?? [];
    const flags = h.getNumbers(TAG.TRIGGERFLAGS) ?? [];
    const index = h.getNumbers(TAG.TRIGGERINDEX) ?? [];
    const conds = depsFromHeader(h, TAG.TRIGGERNAME, TAG.TRIGGERFLAGS, TAG.TRIGGERVERSION, false);
    if (index.length !== names.length) throw new ArborError('Corrupted', `${h.where}: TRIGGERINDEX has ${index.length} entries for ${names.length} trigger names`);
    return scripts.map((body, i) => {
      const mine = names.map((_, j) => j).filter((j) => index[j] === i);
      const f = mine.length ? flags[mine[0]] : 0;
      const kind = f & SENSE.TRIGGERPREIN ? 'triggerprein' : f & SENSE.TRIGGERUN ? 'triggerun' : f & SENSE.TRIGGERPOSTUN ? 'triggerpostun' : 'triggerin';
      return { kind, conditions: mine.map((j) => conds[j]), prog: progs[i] ? [progs[i]] : ['/bin/sh'], body };
    });
  }

  changelog(): ChangelogEntry[] {
    const h = this.header;
    const times = h.getNumbers(TAG.CHANGELOGTIME) ?? [];
    const names = h.getStrings(TAG.CHANGELOGNAME) ?? [];
    const texts = h.getStrings(TAG.CHANGELOGTEXT) ?? [];
    const n = Math.min(times.length, names.length, texts.length);
    return Array.from({ length: n }, (_, i) => ({ time: times[i], author: names[i], text: texts[i] }));
  }

  /** Read once: telling an uncompressed payload from gzip means reading the file. */
  payloadInfo(): PayloadInfo {
    return (this.payloadInfoCache ??= this.readPayloadInfo());
  }

  private readPayloadInfo(): PayloadInfo {
    const h = this.header;
    const algo = h.getNumber(TAG.PAYLOADDIGESTALGO);
    let compressor = compressorFromTag(h.getString(TAG.PAYLOADCOMPRESSOR), this.path);
    // rpm reads gzip payloads through zlib's gzread, which passes data without the gzip
    // magic through unchanged: that is how rpmbuild's uncompressed (w0.ufdio) payloads,
    // which carry no compressor tag, are read. Do the same.
    if (compressor === 'gzip' && !this.payloadStartsWith([0x1f, 0x8b])) compressor = 'none';
    return {
      format: h.getString(TAG.PAYLOADFORMAT) ?? 'cpio',
      compressor,
      flags: h.getString(TAG.PAYLOADFLAGS) ?? '',
      digest: h.getStrings(TAG.PAYLOADDIGEST)?.[0],
      digestAlgo: h.has(TAG.PAYLOADDIGEST) ? HASHALGO[algo ?? 8] ?? `algo ${algo}` : undefined,
      offset: this.payloadOffset,
      size: this.fileSize - this.payloadOffset,
    };
  }

  private payloadStartsWith(magic: number[]): boolean {
    const b = Buffer.alloc(magic.length);
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.path, 'r');
      fs.readSync(fd, b, 0, b.length, this.payloadOffset);
    } catch (e) {
      throw toArborError(e, `reading RPM ${this.path}`);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    return magic.every((m, i) => b[i] === m);
  }

  /**
   * The decompressed payload (a cpio archive) as chunks. The payload digest is checked
   * as the compressed bytes stream past: read to the end, or the check never runs.
   */
  async *payload(opts: { signal?: AbortSignal; verify?: boolean } = {}): AsyncGenerator<Buffer> {
    const info = this.payloadInfo();
    if (info.format !== 'cpio') throw new ArborError('Unsupported', `${this.path}: payload format '${info.format}' is not supported (cpio is)`);
    let hash: crypto.Hash | undefined;
    if (opts.verify !== false && info.digest) {
      if (!info.digestAlgo || !crypto.getHashes().includes(info.digestAlgo)) {
        throw new ArborError('Unsupported', `${this.path}: payload digest algorithm ${info.digestAlgo} is not supported`);
      }
      hash = crypto.createHash(info.digestAlgo);
    }
    yield* decompressedPayload({ path: this.path, offset: this.payloadOffset, compressor: info.compressor, hash, size: info.size, signal: opts.signal }, this.path);
    if (hash && info.digest) {
      const got = hash.digest('hex');
      if (got !== info.digest) {
        throw new ArborError('Corrupted', `${this.path}: payload digest mismatch (${info.digestAlgo} ${got}, header says ${info.digest}); the file is damaged or was tampered with`);
      }
    }
  }
}


function formatEvrOrEmpty(d: Dep): string {
  return d.evr ? `${d.evr.epoch}:${d.evr.version}-${d.evr.release}` : '';
}

function buildFileList(h: Header): RpmFile[] {
  const where = h.where;
  let paths: string[];
  const basenames = h.getStrings(TAG.BASENAMES);
  if (basenames) {
    const dirnames = h.getStrings(TAG.DIRNAMES) ?? [];
    const dirindexes = h.getNumbers(TAG.DIRINDEXES) ?? [];
    if (dirindexes.length !== basenames.length) throw new ArborError('Corrupted', `${where}: ${basenames.length} basenames but ${dirindexes.length} dirindexes`);
    paths = basenames.map((b, i) => {
      const d = dirnames[dirindexes[i]];
      if (d === undefined) throw new ArborError('Corrupted', `${where}: file ${i} has dirindex ${dirindexes[i]} of ${dirnames.length} dirnames`);
      return d + b;
    });
  } else {
    paths = h.getStrings(TAG.OLDFILENAMES) ?? [];
  }
  const n = paths.length;
  if (n === 0) return [];
  const arr = <T>(tag: number, get: (t: number) => T[] | undefined, fill: T): T[] => {
    const v = get(tag);
    if (v === undefined) return new Array<T>(n).fill(fill);
    if (v.length !== n) throw new ArborError('Corrupted', `${where}: tag ${tag} has ${v.length} values for ${n} files`);
    return v;
  };
  const nums = (t: number): number[] | undefined => h.getNumbers(t);
  const strs = (t: number): string[] | undefined => h.getStrings(t);
  const modes = arr(TAG.FILEMODES, nums, 0o100644);
  const sizes = h.has(TAG.LONGFILESIZES) ? arr(TAG.LONGFILESIZES, nums, 0) : arr(TAG.FILESIZES, nums, 0);
  const users = arr(TAG.FILEUSERNAME, strs, 'root');
  const groups = arr(TAG.FILEGROUPNAME, strs, 'root');
  const mtimes = arr(TAG.FILEMTIMES, nums, 0);
  const digests = arr(TAG.FILEDIGESTS, strs, '');
  const links = arr(TAG.FILELINKTOS, strs, '');
  const flags = arr(TAG.FILEFLAGS, nums, 0);
  const inodes = arr(TAG.FILEINODES, nums, 0);
  const devices = arr(TAG.FILEDEVICES, nums, 0);
  const rdevs = arr(TAG.FILERDEVS, nums, 0);
  const langs = arr(TAG.FILELANGS, strs, '');
  const caps = arr(TAG.FILECAPS, strs, '');
  const out: RpmFile[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const f = flags[i];
    out[i] = {
      index: i,
      path: paths[i],
      type: fileType(modes[i]),
      mode: modes[i],
      size: sizes[i],
      user: users[i],
      group: groups[i],
      mtime: mtimes[i],
      digest: digests[i],
      linkTo: links[i],
      flags: f,
      config: !!(f & FILEFLAG.CONFIG),
      noreplace: !!(f & FILEFLAG.NOREPLACE),
      missingok: !!(f & FILEFLAG.MISSINGOK),
      doc: !!(f & FILEFLAG.DOC),
      license: !!(f & FILEFLAG.LICENSE),
      ghost: !!(f & FILEFLAG.GHOST),
      inode: inodes[i],
      device: devices[i],
      rdev: rdevs[i],
      lang: langs[i],
      caps: caps[i],
    };
  }
  return out;
}

export interface ReadOptions {
  /** Check SHA256/SHA1 header digests and the signature's size (default true). */
  verify?: boolean;
}

// One read usually covers lead and both headers; a bigger header costs a second read.
const FIRST_READ = 256 * 1024;

/** Opens an RPM file and reads (and by default verifies) its headers. */
export async function readRpm(p: string, opts: ReadOptions = {}): Promise<RpmPackage> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(p, 'r');
  } catch (e) {
    throw toArborError(e, `reading RPM ${p}`);
  }
  try {
    const st = await fh.stat();
    const size = st.size;
    let buf = Buffer.allocUnsafe(Math.min(FIRST_READ, size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    buf = buf.subarray(0, bytesRead);
    const ensure = async (end: number, what: string): Promise<void> => {
      if (end <= buf.length) return;
      if (end > size) throw new ArborError('Corrupted', `${p}: file ends inside the ${what} (needs ${end} bytes, file has ${size})`);
      const more = Buffer.allocUnsafe(end);
      buf.copy(more);
      const r = await fh.read(more, buf.length, end - buf.length, buf.length);
      if (r.bytesRead !== end - buf.length) throw new ArborError('Corrupted', `${p}: short read in the ${what}`);
      buf = more;
    };
    // Check il/dl from the 16-byte preamble before reading (allocating) a header.
    const headerAt = async (off: number, what: string): Promise<{ header: Header; end: number }> => {
      await ensure(off + 16, what);
      if (buf.readUInt32BE(off) !== 0x8eade801) throw new ArborError('Corrupted', `${p}: bad ${what} magic at offset ${off}`);
      const { il, dl } = Header.checkSizes(buf, off + 8, `${p}: ${what}`);
      await ensure(off + 16 + il * 16 + dl, what);
      return Header.parse(buf, off, `${p}: ${what}`);
    };
    const lead = parseLead(buf, p);
    const sig = await headerAt(LEAD_SIZE, 'signature header');
    const headerOffset = sig.end + ((8 - (sig.end % 8)) % 8);
    const main = await headerAt(headerOffset, 'header');
    const pkg = new RpmPackage(p, lead, sig.header, main.header, headerOffset, main.end, size);
    if (opts.verify !== false) verifyHeaderDigests(pkg, buf.subarray(headerOffset, main.end));
    return pkg;
  } finally {
    await fh.close();
  }
}

/** Checks the signature header's digests over the main header, and the recorded size. */
export function verifyHeaderDigests(pkg: RpmPackage, headerBytes: Buffer): void {
  const sig = pkg.signature;
  const p = pkg.path;
  for (const [tag, algo] of [[SIGTAG.SHA256, 'sha256'], [SIGTAG.SHA1, 'sha1']] as const) {
    const want = sig.has(tag) ? sig.getString(tag) : undefined;
    if (want === undefined) continue;
    const got = crypto.createHash(algo).update(headerBytes).digest('hex');
    if (got !== want) throw new ArborError('Corrupted', `${p}: header ${algo} digest mismatch (computed ${got}, signature header says ${want}); the file is damaged or was tampered with`);
  }
  const sizeTag = sig.has(SIGTAG.LONGSIZE) ? SIGTAG.LONGSIZE : sig.has(SIGTAG.SIZE) ? SIGTAG.SIZE : undefined;
  if (sizeTag !== undefined) {
    const want = sig.getNumber(sizeTag) ?? 0;
    const got = pkg.fileSize - pkg.headerOffset;
    if (want !== got) throw new ArborError('Corrupted', `${p}: header and payload are ${got} bytes, the signature header says ${want} (truncated or padded file)`);
  }
}
