// A streaming XML scanner specialised to rpm-md (repomd, primary, filelists): bytes in,
// element and text callbacks out, with no per-tag or per-attribute objects (attributes
// are byte ranges read on demand), so a 60 MB primary costs little beyond what is kept.
// It rejects what would make the data untrustworthy (mismatched or unclosed tags, bad
// quoting, entities or characters, a second root) as a Corrupted ArborError naming the
// input and byte offset. Namespaces are ignored: elements are known by local name.
import { ArborError } from '../common/errors';

/** Node's Buffer has these native decoders; they skip toString()'s argument handling. */
type FastBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/** Text longer than this in one element is treated as damage, not data. */
const MAX_TEXT = 1 << 20;
/** A tag, comment or CDATA section still open after this many bytes is damage too. */
const MAX_MARKUP = MAX_TEXT + 4096;
/** Distinct element or attribute names one document may use (rpm-md uses a few dozen). */
const MAX_NAMES = 4096;
const MAX_ATTRS = 256;

const LT = 0x3c, GT = 0x3e, SLASH = 0x2f, AMP = 0x26, EQ = 0x3d, Q1 = 0x27, Q2 = 0x22, BANG = 0x21, QM = 0x3f, HYPHEN = 0x2d, RBRACK = 0x5d;

// Byte classes of attribute values and text: which need the slow decoder, which are errors.
const F_HIGH = 1; // UTF-8 lead or continuation byte: decode as UTF-8, not Latin-1
const F_AMP = 2; // an entity or character reference
const F_TABNL = 4; // tab or newline: attribute values normalise it to a space
const F_CR = 8; // CR and CR LF become LF (a space in attribute values)
const F_LT = 16; // '<' in an attribute value
const F_CTRL = 32; // a control character XML does not allow
const VALUE_CLASS = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) VALUE_CLASS[c] = c === 9 || c === 10 ? F_TABNL : c === 13 ? F_CR : F_CTRL;
for (let c = 0x80; c < 0x100; c++) VALUE_CLASS[c] = F_HIGH;
VALUE_CLASS[AMP] = F_AMP;
VALUE_CLASS[LT] = F_LT;

// Name characters: ASCII letters, '_' and ':' start a name; digits, '-' and '.' may follow.
// Bytes >= 0x80 are allowed anywhere: full Unicode name classes buy nothing here.
const N_CHAR = 1, N_START = 2;
const NAME_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const start = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a || c >= 0x80;
  const char = start || (c >= 0x30 && c <= 0x39) || c === HYPHEN || c === 0x2e;
  NAME_CLASS[c] = (char ? N_CHAR : 0) | (start ? N_START : 0);
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;

/** Seeds the hash per process, so no document can be crafted to collide in every run. */
const SEED = (Math.random() * 0x100000000) | 0;

/** A 32-bit hash of buf[s, e): four bytes per multiply, then murmur3's finaliser for the low bits. */
function hashBytes(buf: Uint8Array, s: number, e: number): number {
  let h = SEED ^ (e - s);
  let i = s;
  for (; i + 4 <= e; i += 4) h = Math.imul(h ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)), 0x01000193) ^ (h >>> 15);
  for (; i < e; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function sameBytes(a: Uint8Array, as: number, b: Uint8Array, bs: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[as + i] !== b[bs + i]) return false;
  return true;
}

/**
 * A hash map from byte strings to values, the bytes kept in one arena: looking up a
 * value by the bytes it was made from allocates nothing, which is what interning
 * repeated dependency names and versions needs. get() then set() on a miss.
 */
export class ByteMap<T> {
  // Open addressing over (hash, entry + 1) pairs, entries as (hash, start, length) triples:
  // a lookup touches one slot, one entry and the arena, which matters once the tables
  // outgrow the CPU caches (a 60,000-package primary has ~100,000 distinct entries).
  private table = new Int32Array(2048);
  private meta = new Int32Array(1536);
  private values: T[] = [];
  private arena: Buffer = Buffer.allocUnsafe(1 << 16);
  private arenaLen = 0;
  private missHash = 0;
  private missSlot = -1;
  /** The entry index of the last get() hit or set(): entries are numbered 0, 1, … as added. */
  lastIndex = -1;

  /** The values, by entry index. */
  entries(): readonly T[] {
    return this.values;
  }

  get(buf: Uint8Array, s: number, e: number): T | undefined {
    const h = hashBytes(buf, s, e);
    const len = e - s;
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = table[i * 2 + 1] - 1;
      if (k < 0) {
        this.missHash = h;
        this.missSlot = i;
        return undefined;
      }
      if (table[i * 2] === h && this.meta[k * 3 + 2] === len && sameBytes(this.arena, this.meta[k * 3 + 1], buf, s, len)) {
        this.lastIndex = k;
        return this.values[k];
      }
    }
  }

  /** Adds `v` for the bytes the last get() missed. */
  set(buf: Uint8Array, s: number, e: number, v: T): void {
    const len = e - s;
    const k = this.values.length;
    if (this.arenaLen + len > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaLen + len));
      this.arena.copy(bigger, 0, 0, this.arenaLen);
      this.arena = bigger;
    }
    if ((k + 1) * 3 > this.meta.length) this.meta = grow(this.meta);
    // A loop, not set(subarray()): keys are short, and a subarray is an object per key.
    const arena = this.arena, at = this.arenaLen;
    for (let i = 0; i < len; i++) arena[at + i] = buf[s + i];
    this.meta[k * 3] = this.missHash;
    this.meta[k * 3 + 1] = this.arenaLen;
    this.meta[k * 3 + 2] = len;
    this.arenaLen += len;
    this.values.push(v);
    this.lastIndex = k;
    this.table[this.missSlot * 2] = this.missHash;
    this.table[this.missSlot * 2 + 1] = k + 1;
    this.missSlot = -1;
    if (this.values.length * 4 > this.table.length) this.rehash();
  }

  /** Doubles the table, keeping it at most half full. */
  private rehash(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = (table.length >> 1) - 1;
    for (let k = 0; k < this.values.length; k++) {
      const h = this.meta[k * 3];
      let i = h & mask;
      while (table[i * 2 + 1] !== 0) i = (i + 1) & mask;
      table[i * 2] = h;
      table[i * 2 + 1] = k + 1;
    }
    this.table = table;
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Element or attribute names seen in a document, each with an id and, if known, its index in `known`. */
class NameTable {
  private readonly map = new ByteMap<number>();
  readonly names: string[] = [];
  // Each name's bytes, in one array: endOf() runs for every tag and attribute.
  private bytes = new Uint8Array(1024);
  private bytesLen = 0;
  private starts = new Int32Array(64);
  private lens = new Int32Array(64);
  /** Index in the caller's list of known names, or -1. */
  readonly known: number[] = [];

  constructor(private readonly knownNames: readonly string[], private readonly byLocalName: boolean) {}

  /** The id of buf[s, e), added if new; undefined past MAX_NAMES. */
  id(buf: Uint8Array, s: number, e: number): number | undefined {
    const hit = this.map.get(buf, s, e);
    if (hit !== undefined) return hit;
    if (this.names.length >= MAX_NAMES) return undefined;
    const name = Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
    const id = this.names.length;
    this.names.push(name);
    if (this.bytesLen + e - s > this.bytes.length) {
      const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.bytesLen + e - s));
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    this.bytes.set(buf.subarray(s, e), this.bytesLen);
    if (id === this.starts.length) {
      this.starts = grow(this.starts);
      this.lens = grow(this.lens);
    }
    this.starts[id] = this.bytesLen;
    this.lens[id] = e - s;
    this.bytesLen += e - s;
    this.known.push(this.knownNames.indexOf(this.byLocalName ? name.slice(name.lastIndexOf(':') + 1) : name));
    this.map.set(buf, s, e, id);
    return id;
  }

  /**
   * Where name `id` ends if it is the name starting at buf[s] (-1 if not, or if too few
   * bytes came to tell): checking a predicted name in place costs less than scanning it.
   */
  endOf(id: number, buf: Uint8Array, s: number, end: number): number {
    const len = this.lens[id];
    const e = s + len;
    if (e >= end || NAME_CLASS[buf[e]] & N_CHAR) return -1;
    const bytes = this.bytes, at = this.starts[id];
    for (let i = 0; i < len; i++) if (bytes[at + i] !== buf[s + i]) return -1;
    return e;
  }
}

const enum Mode { Attr, Text, CData }

/**
 * The scanner: subclasses name the elements and attributes they care about, get
 * onOpen/onClose with the element's index in that list (-1 for others), read the open
 * tag's attributes with attr*(), and collect an element's text with collectText/takeText.
 * The root element is checked against `rootName` and not reported.
 */
export abstract class XmlScanner {
  private readonly elements: NameTable;
  private readonly attributes: NameTable;
  /** The buffer being scanned; attribute ranges point into it during onOpen. */
  private buf: FastBuffer = Buffer.alloc(0) as FastBuffer;
  /** Bytes of an unfinished token, kept for the next write(). */
  private carry: FastBuffer = Buffer.allocUnsafe(4096) as FastBuffer;
  private carryLen = 0;
  /** A byte the next chunk must contain before rescanning the carry can get further (-1: rescan anyway). */
  private carryNeed = -1;
  private carryIsText = false;
  /** Document offset of buf[0]. */
  private offset = 0;
  private started = false;
  private docStart = 0;
  private stack = new Int32Array(64);
  /** Open elements, the root being 1. */
  protected depth = 0;
  private rootSeen = false;
  private tagId = -1;
  // rpm-md repeats one layout per package: after a given tag, the next element and each
  // attribute are almost always the same as last time, so they are predicted and checked.
  /** Element id seen after (id * 2 + (close ? 1 : 0)); last such key. */
  private readonly nextElement: number[] = [];
  private lastEvent = 0;
  /** Attribute id seen at (element id * 8 + position). */
  private readonly attrAt: number[] = [];
  /** Where the tag being handled starts in buf, for errors the subclasses raise. */
  private tagAt = 0;

  // The open tag's attributes, as parallel arrays of ids and byte ranges into buf.
  private nattr = 0;
  private readonly attrId = new Int32Array(MAX_ATTRS);
  private readonly attrKnown = new Int32Array(MAX_ATTRS);
  private readonly attrStart = new Int32Array(MAX_ATTRS);
  private readonly attrEnd = new Int32Array(MAX_ATTRS);
  private readonly attrFlags = new Int32Array(MAX_ATTRS);
  /** The open tag's bytes between its name and its '>' or '/>'. */
  private attrsStart = 0;
  private attrsEnd = 0;

  protected collecting = false;
  private internText = false;
  private textInterned = false;
  private textId = -1;
  /** The text collected so far: usually one piece, so no array until a second comes. */
  private text = '';
  private textParts: string[] | undefined;
  private textPieces = 0;
  private textLen = 0;
  private readonly interned = new ByteMap<string>();
  /**
   * The id of the string the last attrInterned() or interning takeText() returned, in
   * internedStrings(); -1 if it was not interned from plain bytes.
   */
  protected internId = -1;
  private readonly internedSlow = new Map<string, string>();

  constructor(
    protected readonly source: string,
    private readonly rootName: string,
    knownElements: readonly string[],
    private readonly knownAttributes: readonly string[],
  ) {
    this.elements = new NameTable(knownElements, true);
    this.attributes = new NameTable(knownAttributes, false);
  }

  /** The root element opened; its attributes are readable until this returns. */
  protected onRoot(): void {}

  /** An element opened (its index in knownElements, or -1); attributes are readable until this returns. */
  protected abstract onOpen(el: number): void;
  protected abstract onClose(el: number): void;

  /** A Corrupted error at the current position. */
  protected corrupted(msg: string, at = this.offset + this.tagAt): ArborError {
    return new ArborError('Corrupted', `${this.source}: byte ${at}: ${msg}`);
  }

  /** The qualified name of the element being opened or closed, for messages. */
  protected tagName(): string {
    return this.tagId >= 0 ? this.elements.names[this.tagId] : '?';
  }

  // --- Text -------------------------------------------------------------------------

  /**
   * Starts collecting text (and CDATA) until the next takeText(); with `intern`, equal
   * texts come back as one shared string (for values that repeat, like arches).
   */
  protected collectText(intern = false): void {
    this.collecting = true;
    this.internText = intern;
    this.textInterned = false;
    this.text = '';
    this.textParts = undefined;
    this.textPieces = 0;
    this.textLen = 0;
  }

  /** The collected text, trimmed. */
  protected takeText(): string {
    this.collecting = false;
    const n = this.textPieces;
    // An interned single run had no surrounding whitespace: it is already the answer.
    const s = n <= 1 ? this.text : this.textParts!.join('');
    this.text = '';
    this.textParts = undefined;
    if (n === 1 && this.textInterned) {
      this.internId = this.textId;
      return s;
    }
    this.internId = -1;
    return this.internText ? this.intern(s.trim()) : s.trim();
  }

  /** The same string object for equal strings, so repeated values share memory. */
  protected intern(s: string): string {
    const hit = this.internedSlow.get(s);
    if (hit !== undefined) return hit;
    this.internedSlow.set(s, s);
    return s;
  }

  // --- Attributes of the tag being opened ---------------------------------------------

  private attrIndex(id: number): number {
    for (let k = 0; k < this.nattr; k++) if (this.attrKnown[k] === id) return k;
    return -1;
  }

  private attrValue(k: number): string {
    const f = this.attrFlags[k];
    return f === 0 ? this.buf.latin1Slice(this.attrStart[k], this.attrEnd[k]) : this.decode(this.buf, this.attrStart[k], this.attrEnd[k], f, Mode.Attr);
  }

  /** The value of the known attribute `id`, or undefined. */
  protected attr(id: number): string | undefined {
    const k = this.attrIndex(id);
    return k < 0 ? undefined : this.attrValue(k);
  }

  /** Like attr(), but equal values come back as one shared string, found without allocating. */
  protected attrInterned(id: number): string | undefined {
    const k = this.attrIndex(id);
    if (k < 0) return undefined;
    if (this.attrFlags[k] === 0) return this.internBytes(this.buf, this.attrStart[k], this.attrEnd[k]);
    this.internId = -1;
    return this.intern(this.attrValue(k));
  }

  /** Strings interned from plain bytes, by id (see internId). */
  protected internedStrings(): readonly string[] {
    return this.interned.entries();
  }

  /** The shared string for plain ASCII bytes buf[s, e). */
  private internBytes(buf: FastBuffer, s: number, e: number): string {
    let v = this.interned.get(buf, s, e);
    if (v === undefined) {
      v = buf.latin1Slice(s, e);
      this.interned.set(buf, s, e, v);
    }
    this.internId = this.interned.lastIndex;
    return v;
  }

  /**
   * What `map` holds for the open tag's attribute bytes: tags with equal bytes parse to
   * equal values, so a repeated tag can be looked up instead of parsed.
   */
  protected byAttributes<T>(map: ByteMap<T>): T | undefined {
    return map.get(this.buf, this.attrsStart, this.attrsEnd);
  }

  /** Stores `v` for the open tag's attribute bytes, after byAttributes() missed. */
  protected setByAttributes<T>(map: ByteMap<T>, v: T): void {
    map.set(this.buf, this.attrsStart, this.attrsEnd, v);
  }

  /**
   * A non-negative integer attribute: undefined when absent or empty, NaN when not a
   * number (the caller says which tag, through badNumber()).
   */
  protected attrInt(id: number): number | undefined {
    const k = this.attrIndex(id);
    if (k < 0) return undefined;
    const s = this.attrStart[k], e = this.attrEnd[k];
    if (s === e) return undefined;
    if (this.attrFlags[k] === 0 && e - s <= 15) {
      let v = 0;
      let i = s;
      for (; i < e; i++) {
        const d = this.buf[i] - 0x30;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
      }
      if (i === e) return v;
    }
    const str = this.attrValue(k);
    if (str === '') return undefined;
    return /^\d{1,15}$/.test(str) ? Number(str) : NaN;
  }

  /** The error for an attribute attrInt() found not to be a number; `what` names the tag. */
  protected badNumber(id: number, what: string): ArborError {
    return this.corrupted(`${what} has ${this.knownAttributes[id]}="${this.attr(id)}", expected a number`);
  }

  // --- Input --------------------------------------------------------------------------

  /** Feeds the next bytes (or text) of the document. */
  write(chunk: Buffer | string): void {
    const data = (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk) as FastBuffer;
    if (data.length === 0) return;
    if (this.carryLen === 0) {
      this.scanBuffer(data, false);
      return;
    }
    this.appendCarry(data);
    // Nothing before the byte the unfinished token waits for can finish it: skip rescanning.
    if (this.carryNeed >= 0 && data.indexOf(this.carryNeed) < 0) {
      this.checkCarry();
      return;
    }
    this.scanBuffer(this.carry.subarray(0, this.carryLen) as FastBuffer, true);
  }

  /** Feeds a whole byte stream (already decompressed) through the scanner. */
  async consume(source: AsyncIterable<Buffer | string>): Promise<void> {
    for await (const chunk of source) this.write(chunk);
  }

  /** Checks the document is complete: everything closed, one root. */
  protected finishDoc(): void {
    if (this.carryLen > 0 && !(this.carryIsText && this.depth > 0)) throw this.corrupted('the document ends inside a tag, comment or CDATA section (truncated?)');
    if (!this.rootSeen) throw this.corrupted(`no <${this.rootName}> element (empty or not XML)`);
    if (this.depth > 0) throw this.corrupted(`the document ends inside <${this.elements.names[this.stack[this.depth - 1]]}> (truncated?)`);
  }

  private appendCarry(data: Buffer): void {
    const need = this.carryLen + data.length;
    if (need > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.carry.length * 2)) as FastBuffer;
      this.carry.copy(bigger, 0, 0, this.carryLen);
      this.carry = bigger;
    }
    data.copy(this.carry, this.carryLen);
    this.carryLen = need;
  }

  private checkCarry(): void {
    if (this.carryIsText ? this.carryLen > MAX_TEXT : this.carryLen > MAX_MARKUP) {
      throw this.corrupted(this.carryIsText ? `an element's text is longer than ${MAX_TEXT} characters` : `a tag, comment or CDATA section runs on for more than ${MAX_MARKUP} bytes`);
    }
  }

  private scanBuffer(buf: FastBuffer, fromCarry: boolean): void {
    this.buf = buf;
    const stop = this.scan(buf, buf.length);
    const rest = buf.length - stop;
    if (fromCarry) {
      if (rest > 0 && stop > 0) this.carry.copyWithin(0, stop, buf.length);
      this.carryLen = rest;
    } else if (rest > 0) {
      this.carryLen = 0;
      this.appendCarry(buf.subarray(stop));
    }
    this.offset += stop;
    this.tagAt = 0;
    if (rest > 0) this.checkCarry();
  }

  private fail(at: number, msg: string): never {
    throw this.corrupted(msg, this.offset + at);
  }

  // scan() runs each chunk in one loop, so the first run of a path it has not taken yet
  // would drop the rest of the chunk back to the interpreter: rare paths are methods.

  /** Scans buf[0, end); returns where an unfinished token starts (end if none). */
  private scan(buf: FastBuffer, end: number): number {
    let p = this.started ? 0 : this.start(buf, end);
    if (p < 0) return this.unfinished(0, -1, false);
    while (p < end) {
      if (buf[p] === LT) {
        const q = this.markup(buf, p, end);
        if (q < 0) return this.unfinished(p, GT, false);
        p = q;
        continue;
      }
      // Most text is the indentation between tags: look a few bytes ahead before calling indexOf.
      let q = p + 1;
      const near = Math.min(end, p + 24);
      while (q < near && buf[q] !== LT) q++;
      if (q === near) q = q === end ? -1 : buf.indexOf(LT, q);
      if (this.depth === 0) this.outsideRoot(buf, p, q < 0 ? end : q);
      else if (this.collecting) {
        // Decode the text whole: an entity or a UTF-8 sequence may straddle chunks.
        if (q < 0) return this.unfinished(p, LT, true);
        this.textRun(buf, p, q, Mode.Text);
      }
      p = q < 0 ? end : q;
    }
    return end;
  }

  /** Where the document proper starts: after a UTF-8 byte order mark, if any (-1: too few bytes to tell). */
  private start(buf: FastBuffer, end: number): number {
    if (buf[0] === 0xef) {
      if (end < 3) return -1;
      if (buf[1] === 0xbb && buf[2] === 0xbf) this.docStart = 3;
    }
    this.started = true;
    return this.docStart;
  }

  /** Keeps buf[p..] for the next write(), which must bring byte `need` (-1: any) to get further. */
  private unfinished(p: number, need: number, isText: boolean): number {
    this.carryNeed = need;
    this.carryIsText = isText;
    return p;
  }

  /** Text before or after the root element: whitespace only. */
  private outsideRoot(buf: FastBuffer, s: number, e: number): void {
    for (let i = s; i < e; i++) if (!isSpace(buf[i])) this.fail(i, this.rootSeen ? 'text after the root element' : 'text before the root element');
  }

  /** The end of the name starting at buf[s] (-1 if it does not end in buf). */
  private nameEnd(buf: FastBuffer, s: number, end: number): number {
    let i = s;
    while (++i < end && NAME_CLASS[buf[i]] & N_CHAR);
    return i < end ? i : -1;
  }

  /** One token starting with '<' at p: its end, or -1 if it does not end in buf. */
  private markup(buf: FastBuffer, p: number, end: number): number {
    if (p + 1 >= end) return -1;
    const c = buf[p + 1];
    if (c === SLASH) return this.closeTag(buf, p, end);
    if (c === BANG) return this.bang(buf, p, end);
    if (c === QM) return this.pi(buf, p, end);
    return this.openTag(buf, p, end);
  }

  private openTag(buf: FastBuffer, p: number, end: number): number {
    let i = p + 1;
    let c = buf[i];
    if (!(NAME_CLASS[c] & N_START)) this.fail(i, `'<' is not followed by a tag name`);
    const ns = i;
    let el = this.nextElement[this.lastEvent];
    if (el === undefined || (i = this.elements.endOf(el, buf, ns, end)) < 0) {
      if ((i = this.nameEnd(buf, ns, end)) < 0) return -1;
      el = this.newElement(buf, ns, i);
    }
    let n = 0;
    let selfClosing = false;
    this.attrsStart = i;
    for (;;) {
      c = buf[i];
      let ws = false;
      while (isSpace(c)) {
        if (++i >= end) return -1;
        c = buf[i];
        ws = true;
      }
      if (c === GT) {
        this.attrsEnd = i++;
        break;
      }
      if (c === SLASH) {
        if (i + 1 >= end) return -1;
        if (buf[i + 1] !== GT) this.fail(i, `'/' in a tag is not followed by '>'`);
        this.attrsEnd = i;
        i += 2;
        selfClosing = true;
        break;
      }
      if (!ws) this.fail(i, 'an attribute is not preceded by whitespace');
      if (!(NAME_CLASS[c] & N_START)) this.fail(i, 'invalid attribute name');
      const as = i;
      const slot = n < 8 ? el * 8 + n : -1;
      let id = slot < 0 ? undefined : this.attrAt[slot];
      if (id === undefined || (i = this.attributes.endOf(id, buf, as, end)) < 0) {
        if ((i = this.nameEnd(buf, as, end)) < 0) return -1;
        id = this.newAttribute(buf, as, i, slot);
      }
      c = buf[i];
      while (isSpace(c)) {
        if (++i >= end) return -1;
        c = buf[i];
      }
      if (c !== EQ) this.fail(i, 'an attribute has no value');
      if (++i >= end) return -1;
      c = buf[i];
      while (isSpace(c)) {
        if (++i >= end) return -1;
        c = buf[i];
      }
      if (c !== Q1 && c !== Q2) this.fail(i, 'an attribute value is not quoted');
      const vs = ++i;
      let f = 0;
      for (;;) {
        if (i >= end) return -1;
        const b = buf[i];
        if (b === c) break;
        f |= VALUE_CLASS[b];
        i++;
      }
      if (f & (F_LT | F_CTRL)) this.fail(i, f & F_LT ? `'<' in an attribute value` : 'a control character in an attribute value');
      if (++i >= end) return -1;
      // Recorded as soon as it is complete (again if the tag is cut short and rescanned).
      if (n === MAX_ATTRS) this.fail(as, `more than ${MAX_ATTRS} attributes in one tag`);
      for (let k = 0; k < n; k++) if (this.attrId[k] === id) this.fail(as, `duplicate attribute '${this.attributes.names[id]}'`);
      this.attrId[n] = id;
      this.attrKnown[n] = this.attributes.known[id];
      this.attrStart[n] = vs;
      this.attrEnd[n] = i - 1;
      this.attrFlags[n] = f;
      n++;
    }
    this.nattr = n;
    this.tagId = el;
    this.tagAt = p;
    this.lastEvent = el * 2;
    this.openElement(el, p, selfClosing);
    this.nattr = 0;
    return i;
  }

  /** The id of an element name endOf() did not predict, remembered as the next prediction. */
  private newElement(buf: FastBuffer, s: number, e: number): number {
    const id = this.elements.id(buf, s, e);
    if (id === undefined) this.fail(s, `more than ${MAX_NAMES} distinct element names`);
    this.nextElement[this.lastEvent] = id;
    return id;
  }

  /** The id of an attribute name endOf() did not predict, remembered for its position if `slot` >= 0. */
  private newAttribute(buf: FastBuffer, s: number, e: number, slot: number): number {
    const id = this.attributes.id(buf, s, e);
    if (id === undefined) this.fail(s, `more than ${MAX_NAMES} distinct attribute names`);
    if (slot >= 0) this.attrAt[slot] = id;
    return id;
  }

  /** A closing tag whose name is not the open element's: an error, once its name is complete. */
  private badClose(buf: FastBuffer, p: number, end: number, open: number): number {
    const i = this.nameEnd(buf, p + 2, end);
    if (i < 0) return -1;
    const closing = Buffer.from(buf.buffer, buf.byteOffset + p + 2, i - p - 2).toString('utf8');
    if (open < 0) this.fail(p, `closing tag </${closing}> without an open element`);
    return this.fail(p, `closing tag </${closing}> does not match <${this.elements.names[open]}>`);
  }

  private openElement(id: number, p: number, selfClosing: boolean): void {
    if (this.depth === 0) {
      if (this.rootSeen) this.fail(p, `a second root element <${this.elements.names[id]}>`);
      this.rootSeen = true;
      const name = this.elements.names[id];
      if (name.slice(name.lastIndexOf(':') + 1) !== this.rootName) this.fail(p, `root element is <${name}>, expected <${this.rootName}>`);
      this.onRoot();
      if (!selfClosing) this.stack[this.depth++] = id;
      return;
    }
    if (this.depth === this.stack.length) this.stack = grow(this.stack);
    this.stack[this.depth++] = id;
    const el = this.elements.known[id];
    this.onOpen(el);
    if (selfClosing) {
      this.depth--;
      this.onClose(el);
    }
  }

  private closeTag(buf: FastBuffer, p: number, end: number): number {
    let i = p + 2;
    if (i >= end) return -1;
    if (!(NAME_CLASS[buf[i]] & N_START)) this.fail(i, `'</' is not followed by a tag name`);
    const ns = i;
    const id = this.depth > 0 ? this.stack[this.depth - 1] : -1;
    // The name must be the open element's: check it in place, and scan it only to complain.
    if (id < 0 || (i = this.elements.endOf(id, buf, ns, end)) < 0) return this.badClose(buf, p, end, id);
    while (isSpace(buf[i])) if (++i >= end) return -1;
    if (buf[i] !== GT) this.fail(i, 'a closing tag does not end with \'>\'');
    this.depth--;
    this.lastEvent = id * 2 + 1;
    if (this.depth > 0) {
      this.tagId = id;
      this.tagAt = p;
      this.onClose(this.elements.known[id]);
    }
    return i + 1;
  }

  /** Comments, CDATA sections and DOCTYPEs. */
  private bang(buf: FastBuffer, p: number, end: number): number {
    if (this.startsWith(buf, p, end, '<!--')) {
      for (let j = p + 4; ; j++) {
        j = buf.indexOf(GT, j);
        if (j < 0) return -1;
        if (j >= p + 6 && buf[j - 1] === HYPHEN && buf[j - 2] === HYPHEN) return j + 1;
      }
    }
    if (this.startsWith(buf, p, end, '<![CDATA[')) {
      for (let j = p + 9; ; j++) {
        j = buf.indexOf(GT, j);
        if (j < 0) return -1;
        if (j >= p + 11 && buf[j - 1] === RBRACK && buf[j - 2] === RBRACK) {
          if (this.depth === 0) this.fail(p, 'CDATA outside the root element');
          if (this.collecting) this.textRun(buf, p + 9, j - 2, Mode.CData);
          return j + 1;
        }
      }
    }
    if (this.startsWith(buf, p, end, '<!DOCTYPE')) {
      if (this.depth > 0 || this.rootSeen) this.fail(p, 'a DOCTYPE after the start of the root element');
      // Skipped, internal subset and all: as with saxes, the entities it declares are not defined.
      let j = buf.indexOf(GT, p + 9);
      const subset = buf.indexOf(0x5b, p + 9); // '['
      if (subset >= 0 && (j < 0 || subset < j)) {
        const close = buf.indexOf(RBRACK, subset);
        j = close < 0 ? -1 : buf.indexOf(GT, close);
      }
      return j < 0 ? -1 : j + 1;
    }
    if (end - p < 9) return -1;
    return this.fail(p, `invalid markup after '<!'`);
  }

  /** Whether buf[p..] starts with the ASCII `s` (false too while too few bytes came to tell). */
  private startsWith(buf: FastBuffer, p: number, end: number, s: string): boolean {
    for (let k = 0; k < s.length; k++) {
      if (p + k >= end) return false;
      if (buf[p + k] !== s.charCodeAt(k)) return false;
    }
    return true;
  }

  /** Processing instructions, including the XML declaration. */
  private pi(buf: FastBuffer, p: number, end: number): number {
    for (let j = p + 2; ; j++) {
      j = buf.indexOf(GT, j);
      if (j < 0) return -1;
      if (buf[j - 1] === QM && j >= p + 3) {
        const isDecl = j - p >= 6 && (buf[p + 2] | 0x20) === 0x78 && (buf[p + 3] | 0x20) === 0x6d && (buf[p + 4] | 0x20) === 0x6c && (isSpace(buf[p + 5]) || buf[p + 5] === QM);
        if (isDecl && this.offset + p !== this.docStart) this.fail(p, 'an XML declaration after the start of the document');
        return j + 1;
      }
    }
  }

  /** Collected text between tags (or CDATA content). */
  private textRun(buf: FastBuffer, s: number, e: number, mode: Mode): void {
    let f = 0;
    for (let i = s; i < e; i++) f |= VALUE_CLASS[buf[i]];
    if (f & F_CTRL) this.fail(s, 'a control character in text');
    let str: string;
    if ((f & (F_HIGH | F_AMP | F_CR)) !== 0) str = this.decode(buf, s, e, f, mode);
    else if (this.internText && this.textPieces === 0 && e > s && !isSpace(buf[s]) && !isSpace(buf[e - 1])) {
      str = this.internBytes(buf, s, e);
      this.textInterned = true;
      this.textId = this.internId;
    } else {
      str = buf.latin1Slice(s, e);
      this.textInterned = false;
    }
    this.textLen += str.length;
    if (this.textLen > MAX_TEXT) this.fail(s, `an element's text is longer than ${MAX_TEXT} characters`);
    if (this.textPieces === 0) this.text = str;
    else if (this.textPieces === 1) this.textParts = [this.text, str];
    else this.textParts!.push(str);
    this.textPieces++;
  }

  /** The slow path: UTF-8, entities, and the line-end (and attribute whitespace) normalisation XML requires. */
  private decode(buf: FastBuffer, s: number, e: number, f: number, mode: Mode): string {
    const str = f & F_HIGH ? buf.utf8Slice(s, e) : buf.latin1Slice(s, e);
    // Invalid UTF-8 decodes to U+FFFD, as it always did; these two are not XML characters.
    if (f & F_HIGH && /[\ufffe\uffff]/.test(str)) this.fail(s, 'a character XML does not allow (U+FFFE or U+FFFF)');
    let out = '';
    let last = 0;
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      if (c === AMP && mode !== Mode.CData) {
        const semi = str.indexOf(';', i + 1);
        if (semi < 0 || semi - i > 12) this.fail(s, `an '&' that starts no entity`);
        out += str.slice(last, i) + this.entity(str.slice(i + 1, semi), s);
        i = semi;
        last = semi + 1;
      } else if (c === 0x0d) {
        out += str.slice(last, i) + (mode === Mode.Attr ? ' ' : '\n');
        if (str.charCodeAt(i + 1) === 0x0a) i++;
        last = i + 1;
      } else if (mode === Mode.Attr && (c === 0x09 || c === 0x0a)) {
        out += `${str.slice(last, i)} `;
        last = i + 1;
      }
    }
    return last === 0 ? str : out + str.slice(last);
  }

  private entity(name: string, at: number): string {
    switch (name) {
      case 'amp': return '&';
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
    }
    let cp = NaN;
    if (/^#x[0-9a-fA-F]{1,6}$/.test(name)) cp = parseInt(name.slice(2), 16);
    else if (/^#[0-9]{1,7}$/.test(name)) cp = parseInt(name.slice(1), 10);
    else this.fail(at, `undefined entity '&${name};'`);
    const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
    if (!ok) this.fail(at, `character reference '&${name};' is not an XML character`);
    return String.fromCodePoint(cp);
  }
}
