// Streaming parsers for rpm-md's primary.xml and filelists.xml: SAX events straight
// into PackageMeta objects, never a DOM, so a 60,000-package primary costs only its
// parsed form. Malformed or incomplete input is a Corrupted ArborError naming the file.
import { SaxesParser, SaxesTagPlain } from 'saxes';
import { StringDecoder } from 'node:string_decoder';
import { ArborError } from '../common/errors';
import { Dep, DepOp, PackageMeta } from './types';

export interface ParseOptions {
  /** Names the input in errors: a URL or file name. */
  source: string;
  /** Sets PackageMeta.repo. */
  repo?: string;
  /** Called every `progressEvery` packages with the count so far. */
  onPackage?: (count: number) => void;
}

/** Text longer than this in one element is treated as damage, not data. */
const MAX_TEXT = 1 << 20;
const DEP_LISTS = new Set(['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances']);
const OPS = new Set<string>(['LT', 'LE', 'EQ', 'GE', 'GT']);
/** Elements of a package whose text we keep. */
const PRIMARY_TEXT = new Set(['name', 'arch', 'checksum', 'summary', 'license', 'sourcerpm', 'file']);

type DepListKey = 'provides' | 'requires' | 'conflicts' | 'obsoletes' | 'recommends' | 'suggests' | 'supplements' | 'enhances';

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

/**
 * Wraps saxes for one document: feeds it strings, turns its errors into Corrupted
 * ArborErrors with line numbers, and checks the root element's name.
 */
abstract class XmlDocParser {
  protected readonly sax = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  protected text: string[] = [];
  protected textLen = 0;
  protected collecting = false;
  private sawRoot = false;
  /** Open elements, the root being 1. */
  protected depth = 0;
  private readonly decoder = new StringDecoder('utf8');

  constructor(protected readonly source: string, private readonly rootName: string) {
    this.sax.on('error', (err) => {
      throw this.corrupted(err.message.replace(/^(?:[^:]*:)?\d+:\d+: /, ''));
    });
    this.sax.on('opentag', (tag) => {
      this.depth++;
      const name = localName(tag.name);
      if (!this.sawRoot) {
        this.sawRoot = true;
        if (name !== this.rootName) throw this.corrupted(`root element is <${tag.name}>, expected <${this.rootName}>`);
        return;
      }
      this.open(name, tag);
    });
    this.sax.on('closetag', (tag) => {
      this.depth--;
      this.close(localName(tag.name));
    });
    const onText = (t: string): void => {
      if (!this.collecting) return;
      this.textLen += t.length;
      if (this.textLen > MAX_TEXT) throw this.corrupted(`an element's text is longer than ${MAX_TEXT} characters`);
      this.text.push(t);
    };
    this.sax.on('text', onText);
    this.sax.on('cdata', onText);
  }

  protected abstract open(name: string, tag: SaxesTagPlain): void;
  protected abstract close(name: string): void;

  protected corrupted(msg: string): ArborError {
    return new ArborError('Corrupted', `${this.source}: line ${this.sax.line}: ${msg}`);
  }

  protected startText(): void {
    this.collecting = true;
    this.text = [];
    this.textLen = 0;
  }

  protected takeText(): string {
    this.collecting = false;
    const s = this.text.length === 1 ? this.text[0] : this.text.join('');
    this.text = [];
    return s.trim();
  }

  write(chunk: Buffer | string): void {
    const s = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (s) this.sax.write(s);
  }

  protected finishDoc(): void {
    const rest = this.decoder.end();
    if (rest) this.sax.write(rest);
    this.sax.close();
    if (!this.sawRoot) throw this.corrupted(`no <${this.rootName}> element (empty or not XML)`);
  }

  /** Feeds a whole byte stream (already decompressed) through the parser. */
  async consume(source: AsyncIterable<Buffer | string>): Promise<void> {
    for await (const chunk of source) this.write(chunk);
  }
}

/** Parses primary.xml incrementally: write() chunks, then end() for the packages. */
export class PrimaryParser extends XmlDocParser {
  readonly packages: PackageMeta[] = [];
  private pkg: PackageMeta | undefined;
  private deps: Dep[] | undefined;
  private inFormat = false;
  // Dependency names and arches repeat across thousands of packages: share the strings.
  private readonly strings = new Map<string, string>();

  constructor(private readonly opts: ParseOptions) {
    super(opts.source, 'metadata');
  }

  private intern(s: string): string {
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    this.strings.set(s, s);
    return s;
  }

  private attr(tag: SaxesTagPlain, name: string): string | undefined {
    return tag.attributes[name];
  }

  private int(tag: SaxesTagPlain, name: string, what: string): number | undefined {
    const v = tag.attributes[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d{1,15}$/.test(v)) throw this.corrupted(`${what} has ${name}="${v}", expected a number`);
    return Number(v);
  }

  private epoch(tag: SaxesTagPlain, what: string): number {
    return this.int(tag, 'epoch', what) ?? 0;
  }

  protected open(name: string, tag: SaxesTagPlain): void {
    const pkg = this.pkg;
    if (!pkg) {
      if (name === 'package') {
        if (this.depth !== 2) throw this.corrupted('<package> nested inside another element');
        this.pkg = {
          name: '', arch: '', epoch: 0, version: '', release: '',
          provides: [], requires: [], conflicts: [], obsoletes: [], recommends: [], suggests: [], supplements: [], enhances: [],
          files: [],
        };
        if (this.opts.repo !== undefined) this.pkg.repo = this.opts.repo;
      }
      return;
    }
    if (this.deps) {
      if (name !== 'entry') throw this.corrupted(`unexpected <${tag.name}> in a dependency list of ${this.label()}`);
      this.deps.push(this.dep(tag));
      return;
    }
    if (this.inFormat && DEP_LISTS.has(name)) {
      this.deps = pkg[name as DepListKey];
      return;
    }
    switch (name) {
      case 'version': {
        const ver = this.attr(tag, 'ver');
        if (ver === undefined) throw this.corrupted(`<version> of ${this.label()} has no ver attribute`);
        pkg.epoch = this.epoch(tag, this.label());
        pkg.version = ver;
        pkg.release = this.attr(tag, 'rel') ?? '';
        return;
      }
      case 'checksum':
        pkg.checksum = { type: this.attr(tag, 'type') ?? '', value: '' };
        break;
      case 'time': {
        const t = this.int(tag, 'build', `<time> of ${this.label()}`);
        if (t !== undefined) pkg.buildtime = t;
        return;
      }
      case 'size': {
        const ps = this.int(tag, 'package', `<size> of ${this.label()}`);
        const is = this.int(tag, 'installed', `<size> of ${this.label()}`);
        if (ps !== undefined) pkg.packageSize = ps;
        if (is !== undefined) pkg.installedSize = is;
        return;
      }
      case 'location': {
        const href = this.attr(tag, 'href');
        if (!href) throw this.corrupted(`<location> of ${this.label()} has no href`);
        const base = this.attr(tag, 'xml:base');
        // xml:base points a package at another server; keep it as an absolute URL.
        if (base) {
          try {
            pkg.location = new URL(href, base.endsWith('/') ? base : `${base}/`).href;
          } catch {
            throw this.corrupted(`<location> of ${this.label()} has an invalid xml:base '${base}'`);
          }
        } else pkg.location = href;
        return;
      }
      case 'format':
        this.inFormat = true;
        return;
    }
    if (PRIMARY_TEXT.has(name)) this.startText();
  }

  private dep(tag: SaxesTagPlain): Dep {
    const name = this.attr(tag, 'name');
    if (!name) throw this.corrupted(`a dependency of ${this.label()} has no name`);
    const d: Dep = { name: this.intern(name) };
    const flags = this.attr(tag, 'flags');
    if (flags !== undefined) {
      if (!OPS.has(flags)) throw this.corrupted(`dependency '${name}' of ${this.label()} has unknown flags="${flags}"`);
      d.op = flags as DepOp;
      d.evr = { epoch: this.epoch(tag, `dependency '${name}' of ${this.label()}`), version: this.attr(tag, 'ver') ?? '', release: this.attr(tag, 'rel') ?? '' };
    }
    const pre = this.attr(tag, 'pre');
    if (pre === '1' || pre === 'true') d.pre = true;
    return d;
  }

  protected close(name: string): void {
    const pkg = this.pkg;
    if (!pkg) return;
    if (this.deps) {
      if (name !== 'entry') this.deps = undefined;
      return;
    }
    if (this.collecting) {
      const t = this.takeText();
      switch (name) {
        case 'name': pkg.name = t; break;
        case 'arch': pkg.arch = this.intern(t); break;
        case 'checksum': if (pkg.checksum) pkg.checksum.value = t; break;
        case 'summary': pkg.summary = t; break;
        case 'license': pkg.license = this.intern(t); break;
        case 'sourcerpm': pkg.sourcerpm = t; break;
        case 'file': if (t) pkg.files.push(t); break;
      }
      return;
    }
    if (name === 'format') this.inFormat = false;
    else if (name === 'package') this.finishPackage(pkg);
  }

  private label(): string {
    const p = this.pkg;
    return p && p.name ? `package '${p.name}'` : `package #${this.packages.length + 1}`;
  }

  private finishPackage(pkg: PackageMeta): void {
    if (!pkg.name) throw this.corrupted(`package #${this.packages.length + 1} has no <name>`);
    if (!pkg.arch) throw this.corrupted(`${this.label()} has no <arch>`);
    if (!pkg.version) throw this.corrupted(`${this.label()} has no <version>`);
    if (pkg.checksum && (!pkg.checksum.type || !/^[0-9a-f]+$/i.test(pkg.checksum.value))) {
      throw this.corrupted(`${this.label()} has an invalid <checksum>`);
    }
    this.packages.push(pkg);
    this.pkg = undefined;
    this.inFormat = false;
    if (this.opts.onPackage && this.packages.length % 1000 === 0) this.opts.onPackage(this.packages.length);
  }

  /** Checks the document is complete and returns its packages. */
  end(): PackageMeta[] {
    this.finishDoc();
    return this.packages;
  }
}

/**
 * Parses filelists.xml, replacing each matching package's `files` (primary's subset)
 * with its full list. Packages are matched by pkgid, then name and arch.
 */
export class FilelistsParser extends XmlDocParser {
  private readonly byPkgid = new Map<string, PackageMeta[]>();
  private cur: { pkg: PackageMeta | undefined; files: string[] } | undefined;
  matched = 0;

  constructor(packages: PackageMeta[], source: string) {
    super(source, 'filelists');
    for (const p of packages) {
      if (!p.checksum) continue;
      const list = this.byPkgid.get(p.checksum.value);
      if (list) list.push(p);
      else this.byPkgid.set(p.checksum.value, [p]);
    }
  }

  protected open(name: string, tag: SaxesTagPlain): void {
    if (name === 'package') {
      if (this.cur) throw this.corrupted('<package> nested inside another <package>');
      const pkgid = tag.attributes.pkgid ?? '';
      const candidates = this.byPkgid.get(pkgid) ?? [];
      const pkg = candidates.length === 1 ? candidates[0]
        : candidates.find((p) => p.name === tag.attributes.name && p.arch === tag.attributes.arch);
      this.cur = { pkg, files: [] };
    } else if (name === 'file' && this.cur) this.startText();
  }

  protected close(name: string): void {
    if (!this.cur) return;
    if (name === 'file' && this.collecting) {
      const t = this.takeText();
      if (t) this.cur.files.push(t);
    } else if (name === 'package') {
      if (this.cur.pkg) {
        this.cur.pkg.files = this.cur.files;
        this.matched++;
      }
      this.cur = undefined;
    }
  }

  end(): void {
    this.finishDoc();
  }
}
