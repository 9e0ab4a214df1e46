// Streaming parsers for rpm-md's primary.xml and filelists.xml: XmlScanner callbacks
// straight into PackageMeta objects, never a DOM, so a 60,000-package primary costs only
// its parsed form. Malformed or incomplete input is a Corrupted ArborError naming the file.
import { DEP_KINDS, HINTED_FIELDS, PackageEncoder } from './md-cache';
import { ByteMap, XmlScanner } from './xml-scanner';
import { Dep, DepOp, PackageMeta } from './types';

export interface ParseOptions {
  /** Names the input in errors: a URL or file name. */
  source: string;
  /** Sets PackageMeta.repo. */
  repo?: string;
  /** Called every `progressEvery` packages with the count so far. */
  onPackage?: (count: number) => void;
  /** Also encode the packages for the metadata cache as they are parsed (see cacheEncoder()). */
  encodeForCache?: boolean;
}

// Element indexes in PRIMARY_ELEMENTS; the dependency lists come last, in the cache's order.
const PACKAGE = 0, NAME = 1, ARCH = 2, VERSION = 3, CHECKSUM = 4, SUMMARY = 5, LICENSE = 6, SOURCERPM = 7, FILE = 8,
  TIME = 9, SIZE = 10, LOCATION = 11, FORMAT = 12, ENTRY = 13, FIRST_DEP_LIST = 14;
const DEP_LISTS = DEP_KINDS;
const PRIMARY_ELEMENTS = ['package', 'name', 'arch', 'version', 'checksum', 'summary', 'license', 'sourcerpm', 'file',
  'time', 'size', 'location', 'format', 'entry', ...DEP_LISTS];
/** Elements of a package whose text we keep. */
const TEXT_ELEMENTS = new Set([NAME, ARCH, CHECKSUM, SUMMARY, LICENSE, SOURCERPM, FILE]);

const A_NAME = 0, A_FLAGS = 1, A_EPOCH = 2, A_VER = 3, A_REL = 4, A_PRE = 5, A_TYPE = 6, A_BUILD = 7, A_PACKAGE = 8,
  A_INSTALLED = 9, A_HREF = 10, A_XML_BASE = 11, A_PACKAGES = 12;
const PRIMARY_ATTRIBUTES = ['name', 'flags', 'epoch', 'ver', 'rel', 'pre', 'type', 'build', 'package', 'installed', 'href', 'xml:base', 'packages'];

const OPS = new Set<string>(['LT', 'LE', 'EQ', 'GE', 'GT']);

/** What is known of the package being parsed; the PackageMeta is built at </package>. */
interface PackageFields {
  name: string;
  arch: string;
  epoch: number;
  version: string;
  release: string;
  summary: string | undefined;
  license: string | undefined;
  sourcerpm: string | undefined;
  buildtime: number | undefined;
  location: string | undefined;
  checksum: { type: string; value: string } | undefined;
  packageSize: number | undefined;
  installedSize: number | undefined;
  /** Interned-string ids of name, arch, version, release, license, sourcerpm, checksum type (-1: none), for the cache. */
  ids: Int32Array;
}

/**
 * A reused list with its own length: setting an array's length to 0 frees its storage,
 * so clearing one per package would reallocate it each time.
 */
class Scratch<T> {
  /** The entries; those at `length` and after are stale. */
  readonly items: T[] = [];
  private n = 0;
  get length(): number {
    return this.n;
  }
  push(v: T): void {
    this.items[this.n++] = v;
  }
  clear(): void {
    this.n = 0;
  }
  /**
   * An exact-size copy. Most lists are empty: a literal for those lets V8 allocate them
   * straight into the old generation once it sees they all survive.
   */
  copy(): T[] {
    return this.n === 0 ? [] : this.items.slice(0, this.n);
  }
}

/**
 * Parses primary.xml incrementally: write() chunks, then end() for the packages.
 * Equal dependency entries parse to one shared Dep object (most requires name a few
 * thousand sonames and packages): treat Deps as immutable.
 */
export class PrimaryParser extends XmlScanner {
  readonly packages: PackageMeta[] = [];
  private inPackage = false;
  private readonly cur: PackageFields = emptyFields();
  // Lists are gathered in reused arrays and copied to exact size at </package>: a
  // pushed-to array keeps room for 16 entries, which adds up over 60,000 packages.
  private readonly lists = DEP_LISTS.map(() => new Scratch<Dep>());
  private readonly files = new Scratch<string>();
  // With encodeForCache, the cache encoding is built alongside, from ids the parser has
  // anyway: of the strings it interned and the Deps it shared (an entry's index in their maps).
  private encoder: PackageEncoder | undefined;
  private readonly listIds = DEP_LISTS.map(() => new Scratch<number>());
  private depIds: Scratch<number> | undefined;
  private deps: Scratch<Dep> | undefined;
  private inFormat = false;
  /** Deps by the bytes of their <rpm:entry> attributes. */
  private readonly depsByBytes = new ByteMap<Dep>();

  constructor(private readonly opts: ParseOptions) {
    super(opts.source, 'metadata', PRIMARY_ELEMENTS, PRIMARY_ATTRIBUTES);
  }

  protected override onRoot(): void {
    // <metadata packages="N"> sizes the encoding's columns.
    const n = this.attrInt(A_PACKAGES);
    if (this.opts.encodeForCache) this.encoder = new PackageEncoder(n === undefined || n !== n ? 1024 : Math.min(n, 1 << 20), this.internedStrings());
  }

  protected onOpen(el: number): void {
    if (!this.inPackage) {
      if (el === PACKAGE) {
        if (this.depth !== 2) throw this.corrupted('<package> nested inside another element');
        this.startPackage();
      }
      return;
    }
    if (this.deps) {
      if (el !== ENTRY) throw this.corrupted(`unexpected <${this.tagName()}> in a dependency list of ${this.label()}`);
      this.deps.push(this.dep());
      this.depIds!.push(this.depsByBytes.lastIndex);
      return;
    }
    if (this.inFormat && el >= FIRST_DEP_LIST) {
      this.deps = this.lists[el - FIRST_DEP_LIST];
      this.depIds = this.listIds[el - FIRST_DEP_LIST];
      return;
    }
    const cur = this.cur;
    switch (el) {
      case VERSION: {
        const ver = this.attrInterned(A_VER);
        if (ver === undefined) throw this.corrupted(`<version> of ${this.label()} has no ver attribute`);
        cur.ids[2] = this.internId;
        cur.epoch = this.int(A_EPOCH, '') ?? 0;
        cur.version = ver;
        const rel = this.attrInterned(A_REL);
        cur.ids[3] = rel === undefined ? -1 : this.internId;
        cur.release = rel ?? '';
        return;
      }
      case CHECKSUM:
        cur.checksum = { type: this.attrInterned(A_TYPE) ?? '', value: '' };
        cur.ids[6] = cur.checksum.type ? this.internId : -1;
        break;
      case TIME: {
        const t = this.int(A_BUILD, '<time> of ');
        if (t !== undefined) cur.buildtime = t;
        return;
      }
      case SIZE: {
        const ps = this.int(A_PACKAGE, '<size> of ');
        const is = this.int(A_INSTALLED, '<size> of ');
        if (ps !== undefined) cur.packageSize = ps;
        if (is !== undefined) cur.installedSize = is;
        return;
      }
      case LOCATION: {
        const href = this.attr(A_HREF);
        if (!href) throw this.corrupted(`<location> of ${this.label()} has no href`);
        const base = this.attr(A_XML_BASE);
        // xml:base points a package at another server; keep it as an absolute URL.
        if (base) {
          try {
            cur.location = new URL(href, base.endsWith('/') ? base : `${base}/`).href;
          } catch {
            throw this.corrupted(`<location> of ${this.label()} has an invalid xml:base '${base}'`);
          }
        } else cur.location = href;
        return;
      }
      case FORMAT:
        this.inFormat = true;
        return;
    }
    // Names, arches, licenses and source rpms repeat (in provides, across subpackages): share them.
    if (TEXT_ELEMENTS.has(el)) this.collectText(el !== SUMMARY && el !== CHECKSUM && el !== FILE);
  }

  /** An integer attribute; `what` (with the package's label) names its tag in errors. */
  private int(id: number, what: string): number | undefined {
    const v = this.attrInt(id);
    if (v !== v) throw this.badNumber(id, `${what}${this.label()}`);
    return v;
  }

  private startPackage(): void {
    this.inPackage = true;
    this.inFormat = false;
    this.deps = undefined;
    const c = this.cur;
    c.name = c.arch = c.version = c.release = '';
    c.epoch = 0;
    c.summary = c.license = c.sourcerpm = c.location = c.checksum = c.buildtime = c.packageSize = c.installedSize = undefined;
    c.ids.fill(-1);
    for (const l of this.listIds) l.clear();
    for (const l of this.lists) l.clear();
    this.files.clear();
  }

  /** The Dep of an <rpm:entry>: the one already made from the same bytes, if any. */
  private dep(): Dep {
    const known = this.byAttributes(this.depsByBytes);
    if (known) return known;
    const name = this.attrInterned(A_NAME);
    if (!name) throw this.corrupted(`a dependency of ${this.label()} has no name`);
    const nameId = this.internId;
    const flags = this.attr(A_FLAGS);
    const preAttr = this.attr(A_PRE);
    const pre = preAttr === '1' || preAttr === 'true';
    let d: Dep;
    let verId = -1, relId = -1;
    // Whole literals: a Dep gets its final shape at once, not through added properties.
    if (flags !== undefined) {
      if (!OPS.has(flags)) throw this.corrupted(`dependency '${name}' of ${this.label()} has unknown flags="${flags}"`);
      const epoch = this.int(A_EPOCH, `dependency '${name}' of `) ?? 0;
      const version = this.attrInterned(A_VER);
      if (version !== undefined) verId = this.internId;
      const release = this.attrInterned(A_REL);
      if (release !== undefined) relId = this.internId;
      const evr = { epoch, version: version ?? '', release: release ?? '' };
      d = pre ? { name, op: flags as DepOp, evr, pre } : { name, op: flags as DepOp, evr };
    } else d = pre ? { name, pre } : { name };
    this.encoder?.addDep(d, nameId, verId, relId);
    this.setByAttributes(this.depsByBytes, d);
    return d;
  }

  protected onClose(el: number): void {
    if (!this.inPackage) return;
    if (this.deps) {
      if (el !== ENTRY) this.deps = undefined;
      return;
    }
    if (this.collecting) {
      const t = this.takeText();
      const cur = this.cur;
      switch (el) {
        case NAME: cur.name = t; cur.ids[0] = this.internId; break;
        case ARCH: cur.arch = t; cur.ids[1] = this.internId; break;
        case CHECKSUM: if (cur.checksum) cur.checksum.value = t; break;
        case SUMMARY: cur.summary = t; break;
        case LICENSE: cur.license = t; cur.ids[4] = this.internId; break;
        case SOURCERPM: cur.sourcerpm = t; cur.ids[5] = this.internId; break;
        case FILE: if (t) this.files.push(t); break;
      }
      return;
    }
    if (el === FORMAT) this.inFormat = false;
    else if (el === PACKAGE) this.finishPackage();
  }

  private label(): string {
    return this.inPackage && this.cur.name ? `package '${this.cur.name}'` : `package #${this.packages.length + 1}`;
  }

  private finishPackage(): void {
    const c = this.cur;
    if (!c.name) throw this.corrupted(`package #${this.packages.length + 1} has no <name>`);
    if (!c.arch) throw this.corrupted(`${this.label()} has no <arch>`);
    if (!c.version) throw this.corrupted(`${this.label()} has no <version>`);
    if (c.checksum && (!c.checksum.type || !isHex(c.checksum.value))) throw this.corrupted(`${this.label()} has an invalid <checksum>`);
    const l = this.lists;
    const repo = this.opts.repo;
    const { checksum, summary, buildtime, packageSize, installedSize, location, license, sourcerpm } = c;
    let pkg: PackageMeta;
    if (checksum !== undefined && summary !== undefined && buildtime !== undefined && packageSize !== undefined && installedSize !== undefined &&
      location !== undefined && license !== undefined && sourcerpm !== undefined && repo !== undefined) {
      // What createrepo_c always writes: one literal, so every package has one shape.
      pkg = {
        name: c.name, arch: c.arch, epoch: c.epoch, version: c.version, release: c.release,
        provides: l[0].copy(), requires: l[1].copy(), conflicts: l[2].copy(), obsoletes: l[3].copy(),
        recommends: l[4].copy(), suggests: l[5].copy(), supplements: l[6].copy(), enhances: l[7].copy(),
        files: this.files.copy(), checksum, summary, buildtime, packageSize, installedSize, location, license, sourcerpm, repo,
      };
    } else {
      pkg = {
        name: c.name, arch: c.arch, epoch: c.epoch, version: c.version, release: c.release,
        provides: l[0].copy(), requires: l[1].copy(), conflicts: l[2].copy(), obsoletes: l[3].copy(),
        recommends: l[4].copy(), suggests: l[5].copy(), supplements: l[6].copy(), enhances: l[7].copy(),
        files: this.files.copy(),
      };
      if (checksum !== undefined) pkg.checksum = checksum;
      if (summary !== undefined) pkg.summary = summary;
      if (buildtime !== undefined) pkg.buildtime = buildtime;
      if (packageSize !== undefined) pkg.packageSize = packageSize;
      if (installedSize !== undefined) pkg.installedSize = installedSize;
      if (location !== undefined) pkg.location = location;
      if (license !== undefined) pkg.license = license;
      if (sourcerpm !== undefined) pkg.sourcerpm = sourcerpm;
      if (repo !== undefined) pkg.repo = repo;
    }
    if (this.encoder) {
      this.encoder.addPackage(pkg, c.ids);
      for (const ids of this.listIds) this.encoder.addDepList(ids.items, ids.length);
    }
    this.packages.push(pkg);
    this.inPackage = false;
    this.inFormat = false;
    if (this.opts.onPackage && this.packages.length % 1000 === 0) this.opts.onPackage(this.packages.length);
  }

  /** Checks the document is complete and returns its packages. */
  end(): PackageMeta[] {
    this.finishDoc();
    return this.packages;
  }

  /** With encodeForCache: the encoder fed as the packages were parsed, for writeMdCache(). */
  cacheEncoder(): PackageEncoder | undefined {
    return this.encoder;
  }
}

function emptyFields(): PackageFields {
  // Every field present from the start, so resetting it never changes its shape.
  return {
    name: '', arch: '', epoch: 0, version: '', release: '', summary: undefined, license: undefined, sourcerpm: undefined,
    buildtime: undefined, location: undefined, checksum: undefined, packageSize: undefined, installedSize: undefined,
    ids: new Int32Array(HINTED_FIELDS).fill(-1),
  };
}

function isHex(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return false;
  }
  return true;
}

const FL_PACKAGE = 0, FL_FILE = 1;
const A_PKGID = 0, A_FL_NAME = 1, A_FL_ARCH = 2;

interface FilelistsEntry { pkgid: string; name: string | undefined; arch: string | undefined; files: string[] }

/**
 * Parses filelists.xml, replacing each matching package's `files` (primary's subset)
 * with its full list. Packages are matched by pkgid, then name and arch: as each
 * <package> ends, or, with `deferMatch` (to parse filelists while primary is still
 * being parsed), all at once by matchTo().
 */
export class FilelistsParser extends XmlScanner {
  private byPkgid = new Map<string, PackageMeta[]>();
  private cur: FilelistsEntry | undefined;
  private readonly files = new Scratch<string>();
  private readonly pending: FilelistsEntry[] = [];
  matched = 0;

  constructor(packages: PackageMeta[], source: string, private readonly deferMatch = false) {
    super(source, 'filelists', ['package', 'file'], ['pkgid', 'name', 'arch']);
    this.index(packages);
  }

  private index(packages: PackageMeta[]): void {
    this.byPkgid = new Map();
    for (const p of packages) {
      if (!p.checksum) continue;
      const list = this.byPkgid.get(p.checksum.value);
      if (list) list.push(p);
      else this.byPkgid.set(p.checksum.value, [p]);
    }
  }

  private apply(e: FilelistsEntry): void {
    const candidates = this.byPkgid.get(e.pkgid);
    if (!candidates) return;
    const pkg = candidates.length === 1 ? candidates[0] : candidates.find((p) => p.name === e.name && p.arch === e.arch);
    if (pkg) {
      pkg.files = e.files;
      this.matched++;
    }
  }

  protected onOpen(el: number): void {
    if (el === FL_PACKAGE) {
      if (this.cur) throw this.corrupted('<package> nested inside another <package>');
      this.cur = { pkgid: this.attr(A_PKGID) ?? '', name: this.attr(A_FL_NAME), arch: this.attr(A_FL_ARCH), files: [] };
      this.files.clear();
    } else if (el === FL_FILE && this.cur) this.collectText();
  }

  protected onClose(el: number): void {
    if (!this.cur) return;
    if (el === FL_FILE && this.collecting) {
      const t = this.takeText();
      if (t) this.files.push(t);
    } else if (el === FL_PACKAGE) {
      this.cur.files = this.files.copy();
      if (this.deferMatch) this.pending.push(this.cur);
      else this.apply(this.cur);
      this.cur = undefined;
    }
  }

  end(): void {
    this.finishDoc();
  }

  /** With deferMatch: gives the parsed file lists to `packages`; returns how many matched. */
  matchTo(packages: PackageMeta[]): number {
    this.index(packages);
    for (const e of this.pending) this.apply(e);
    this.pending.length = 0;
    return this.matched;
  }
}
