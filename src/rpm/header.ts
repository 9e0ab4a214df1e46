// The RPM header structure: an index of (tag, type, offset, count) entries over a data
// store, optionally wrapped as an immutable region. Parses untrusted bytes with every
// size and offset checked before use, and encodes headers rpm itself accepts.
import { ArborError } from '../common/errors';
import { TAG, TYPE, tagName } from './tags';

/** The 8 bytes before il/dl in a header as it appears in a package file. */
export const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);

// rpm's own limits (HEADER_DATA_MAX, hdrchkCount): a claim beyond them is corrupt, and
// refusing it before allocating is what keeps a hostile header from costing memory.
export const MAX_INDEX_ENTRIES = 0xffff;
export const MAX_DATA_BYTES = 0x0fffffff;
const MAX_COUNT = 0x00ffffff;
const ENTRY_SIZE = 16;
const REGION_TRAILER = 16;

export interface HeaderEntry {
  tag: number;
  type: number;
  count: number;
  /** Offset of the entry's data in the data store. */
  offset: number;
}

export type HeaderValue = number | bigint | string | Buffer | Array<number | bigint> | string[];

export interface EntryInput {
  tag: number;
  type: number;
  value: HeaderValue;
}

const FIXED_SIZE: Record<number, number> = {
  [TYPE.CHAR]: 1,
  [TYPE.INT8]: 1,
  [TYPE.INT16]: 2,
  [TYPE.INT32]: 4,
  [TYPE.INT64]: 8,
  [TYPE.BIN]: 1,
};

function isRegionTag(tag: number): boolean {
  return tag === TAG.HEADERIMAGE || tag === TAG.HEADERSIGNATURES || tag === TAG.HEADERIMMUTABLE;
}

export class Header {
  /** il + dl + index + store: the rpmdb form. */
  private readonly raw: Buffer;
  private readonly dataStart: number;
  private readonly byTag: Map<number, HeaderEntry>;
  private readonly order: HeaderEntry[];
  readonly where: string;
  /** The region tag (62/63) when the header starts with an immutable region. */
  readonly regionTag: number | undefined;

  private constructor(raw: Buffer, entries: HeaderEntry[], where: string, regionTag: number | undefined, regionEntries: number) {
    this.raw = raw;
    this.dataStart = 8 + entries.length * ENTRY_SIZE;
    this.order = entries;
    this.byTag = new Map();
    // Inside the region the first of duplicate tags counts; an entry after the region
    // (rpm's "dribble", e.g. tags the rpmdb adds at install time) overrides, as in rpm.
    entries.forEach((e, i) => {
      if (!this.byTag.has(e.tag) || i >= regionEntries) this.byTag.set(e.tag, e);
    });
    this.where = where;
    this.regionTag = regionTag;
  }

  /** Parses a header with its 8-byte magic at `offset`; `end` is the byte after it. */
  static parse(buf: Buffer, offset: number, where: string): { header: Header; end: number } {
    if (offset < 0 || offset + 16 > buf.length) {
      throw new ArborError('Corrupted', `${where}: truncated header (need 16 bytes at offset ${offset}, have ${Math.max(0, buf.length - offset)})`);
    }
    if (buf.readUInt32BE(offset) !== 0x8eade801) {
      throw new ArborError('Corrupted', `${where}: bad header magic ${buf.subarray(offset, offset + 4).toString('hex')} at offset ${offset}`);
    }
    const { il, dl } = Header.checkSizes(buf, offset + 8, where);
    const size = 8 + il * ENTRY_SIZE + dl;
    if (offset + 8 + size > buf.length) {
      throw new ArborError('Corrupted', `${where}: truncated header (il ${il}, dl ${dl} need ${size} bytes, have ${buf.length - offset - 8})`);
    }
    const header = Header.fromRaw(Buffer.from(buf.subarray(offset + 8, offset + 8 + size)), where);
    return { header, end: offset + 8 + size };
  }

  /** Parses the rpmdb form: il, dl, index and store without the magic. */
  static parseBlob(blob: Buffer, where: string): Header {
    if (blob.length < 8) throw new ArborError('Corrupted', `${where}: header blob of ${blob.length} bytes is too short`);
    const { il, dl } = Header.checkSizes(blob, 0, where);
    const size = 8 + il * ENTRY_SIZE + dl;
    if (size !== blob.length) {
      throw new ArborError('Corrupted', `${where}: header blob is ${blob.length} bytes but il ${il}, dl ${dl} say ${size}`);
    }
    return Header.fromRaw(Buffer.from(blob), where);
  }

  /**
   * Reads il and dl at `at` and refuses impossible sizes: callers reading a file use this
   * on the 16-byte preamble before reading (and allocating) the rest.
   */
  static checkSizes(buf: Buffer, at: number, where: string): { il: number; dl: number } {
    const il = buf.readUInt32BE(at);
    const dl = buf.readUInt32BE(at + 4);
    if (il < 1 || il > MAX_INDEX_ENTRIES) throw new ArborError('Corrupted', `${where}: header claims ${il} index entries (allowed 1..${MAX_INDEX_ENTRIES})`);
    if (dl > MAX_DATA_BYTES) throw new ArborError('Corrupted', `${where}: header claims ${dl} data bytes (allowed up to ${MAX_DATA_BYTES})`);
    return { il, dl };
  }

  private static fromRaw(raw: Buffer, where: string): Header {
    const il = raw.readUInt32BE(0);
    const dl = raw.readUInt32BE(4);
    const ds = 8 + il * ENTRY_SIZE;
    const bad = (i: number, tag: number, why: string): ArborError =>
      new ArborError('Corrupted', `${where}: header entry ${i} (${tagName(tag)}): ${why}`);
    const entries: HeaderEntry[] = new Array(il);
    for (let i = 0; i < il; i++) {
      const p = 8 + i * ENTRY_SIZE;
      entries[i] = { tag: raw.readUInt32BE(p), type: raw.readUInt32BE(p + 4), offset: raw.readInt32BE(p + 8), count: raw.readUInt32BE(p + 12) };
    }

    // An immutable region: the first entry points at a trailer whose negative offset
    // says how many index entries the region covers (rpm's hdrblobVerifyRegion).
    let regionTag: number | undefined;
    let regionEntries = 0;
    let regionEnd = 0;
    const first = entries[0];
    if (isRegionTag(first.tag)) {
      if (first.type !== TYPE.BIN || first.count !== REGION_TRAILER) throw bad(0, first.tag, `region entry has type ${first.type}, count ${first.count}`);
      if (first.offset < 0 || first.offset + REGION_TRAILER > dl) throw bad(0, first.tag, `region trailer offset ${first.offset} outside data of ${dl} bytes`);
      const t = ds + first.offset;
      let ttag = raw.readUInt32BE(t);
      const ttype = raw.readUInt32BE(t + 4);
      const toff = -raw.readInt32BE(t + 8);
      const tcount = raw.readUInt32BE(t + 12);
      // Old packages put HEADER_IMAGE in the signature region trailer; rpm accepts that.
      if (first.tag === TAG.HEADERSIGNATURES && ttag === TAG.HEADERIMAGE) ttag = TAG.HEADERSIGNATURES;
      if (ttag !== first.tag || ttype !== TYPE.BIN || tcount !== REGION_TRAILER) throw bad(0, first.tag, 'bad region trailer');
      if (toff <= 0 || toff % ENTRY_SIZE !== 0 || toff / ENTRY_SIZE > il) throw bad(0, first.tag, `region trailer covers ${toff} index bytes of ${il * ENTRY_SIZE}`);
      regionTag = first.tag;
      regionEntries = toff / ENTRY_SIZE;
      regionEnd = first.offset + REGION_TRAILER;
    }

    let prevEnd = 0;
    for (let i = regionTag !== undefined ? 1 : 0; i < il; i++) {
      const e = entries[i];
      if (e.type < TYPE.CHAR || e.type > TYPE.I18NSTRING) throw bad(i, e.tag, `unknown type ${e.type}`);
      if (e.count < 1 || e.count > MAX_COUNT) throw bad(i, e.tag, `count ${e.count} out of range`);
      if (e.offset < 0 || e.offset >= dl) throw bad(i, e.tag, `offset ${e.offset} outside data of ${dl} bytes`);
      const size = FIXED_SIZE[e.type];
      if (size > 1 && e.offset % size !== 0) throw bad(i, e.tag, `offset ${e.offset} not aligned for type ${e.type}`);
      // Data in the region may not overlap what comes before it (rpm's hdrblobVerifyInfo).
      if (i < regionEntries && e.offset < prevEnd) throw bad(i, e.tag, `data at ${e.offset} overlaps the previous entry's (ending at ${prevEnd})`);
      const len = dataLength(raw, ds + e.offset, ds + dl, e.type, e.count);
      if (len < 0) throw bad(i, e.tag, `data (type ${e.type}, count ${e.count}) runs past the end of the data store`);
      const end = e.offset + len;
      if (i < regionEntries) {
        if (end > regionEnd - REGION_TRAILER && e.offset < regionEnd) throw bad(i, e.tag, 'data overlaps the region trailer');
        prevEnd = end;
      }
    }
    return new Header(raw, entries, where, regionTag, regionEntries);
  }

  /** The exact bytes without the magic: il, dl, index, store (what the rpmdb stores). */
  blob(): Buffer {
    return this.raw;
  }

  /** The header as it appears in a package file, magic included (what digests cover). */
  bytes(): Buffer {
    return Buffer.concat([HEADER_MAGIC, this.raw]);
  }

  has(tag: number): boolean {
    return this.byTag.has(tag);
  }

  tags(): number[] {
    return this.order.map((e) => e.tag);
  }

  entry(tag: number): HeaderEntry | undefined {
    const e = this.byTag.get(tag);
    return e && { ...e };
  }

  /** A STRING, or the first string of a STRING_ARRAY/I18NSTRING (the C locale). */
  getString(tag: number): string | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE.STRING && e.type !== TYPE.STRING_ARRAY && e.type !== TYPE.I18NSTRING) throw this.wrongType(e, 'a string');
    const start = this.dataStart + e.offset;
    return this.raw.toString('utf8', start, this.raw.indexOf(0, start));
  }

  /** A STRING_ARRAY; a STRING as one element; an I18NSTRING's first (C locale) text. */
  getStrings(tag: number): string[] | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    if (e.type === TYPE.STRING || e.type === TYPE.I18NSTRING) return [this.getString(tag) as string];
    if (e.type !== TYPE.STRING_ARRAY) throw this.wrongType(e, 'a string array');
    const out: string[] = new Array(e.count);
    let p = this.dataStart + e.offset;
    for (let i = 0; i < e.count; i++) {
      const z = this.raw.indexOf(0, p);
      out[i] = this.raw.toString('utf8', p, z);
      p = z + 1;
    }
    return out;
  }

  /** Every locale's text of an I18NSTRING, in the order of HEADERI18NTABLE. */
  getI18n(tag: number): string[] | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE.I18NSTRING) return this.getStrings(tag);
    const out: string[] = [];
    let p = this.dataStart + e.offset;
    for (let i = 0; i < e.count; i++) {
      const z = this.raw.indexOf(0, p);
      out.push(this.raw.toString('utf8', p, z));
      p = z + 1;
    }
    return out;
  }

  /** CHAR/INT8/16/32/64 entries as unsigned numbers. */
  getNumbers(tag: number): number[] | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    const p = this.dataStart + e.offset;
    const r = this.raw;
    const out: number[] = new Array(e.count);
    switch (e.type) {
      case TYPE.CHAR:
      case TYPE.INT8:
        for (let i = 0; i < e.count; i++) out[i] = r[p + i];
        return out;
      case TYPE.INT16:
        for (let i = 0; i < e.count; i++) out[i] = r.readUInt16BE(p + 2 * i);
        return out;
      case TYPE.INT32:
        for (let i = 0; i < e.count; i++) out[i] = r.readUInt32BE(p + 4 * i);
        return out;
      case TYPE.INT64:
        for (let i = 0; i < e.count; i++) {
          const v = r.readBigUInt64BE(p + 8 * i);
          if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ArborError('Corrupted', `${this.where}: ${tagName(tag)} value ${v} is beyond 2^53`);
          out[i] = Number(v);
        }
        return out;
      default:
        throw this.wrongType(e, 'numeric');
    }
  }

  getNumber(tag: number): number | undefined {
    return this.getNumbers(tag)?.[0];
  }

  /** BIN data (a view into the header: do not modify). */
  getBin(tag: number): Buffer | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE.BIN) throw this.wrongType(e, 'binary');
    const p = this.dataStart + e.offset;
    return this.raw.subarray(p, p + e.count);
  }

  /**
   * Every entry as buildHeader takes it (region entries left out): read a header, change
   * some tags, encode it again.
   */
  entries(): EntryInput[] {
    const out: EntryInput[] = [];
    for (const e of this.order) {
      if (isRegionTag(e.tag)) continue;
      let value: HeaderValue;
      switch (e.type) {
        case TYPE.STRING: value = this.getString(e.tag) as string; break;
        case TYPE.STRING_ARRAY:
        case TYPE.I18NSTRING: value = this.getI18n(e.tag) as string[]; break;
        case TYPE.BIN: value = Buffer.from(this.getBin(e.tag) as Buffer); break;
        case TYPE.INT64: {
          const p = this.dataStart + e.offset;
          value = Array.from({ length: e.count }, (_, i) => this.raw.readBigUInt64BE(p + 8 * i));
          break;
        }
        default: value = this.getNumbers(e.tag) as number[];
      }
      out.push({ tag: e.tag, type: e.type, value });
    }
    return out;
  }

  private wrongType(e: HeaderEntry, want: string): ArborError {
    return new ArborError('Corrupted', `${this.where}: ${tagName(e.tag)} has type ${e.type}, expected ${want}`);
  }
}

/** Bytes an entry's data takes from `start`, or -1 when it runs past `limit`. */
function dataLength(buf: Buffer, start: number, limit: number, type: number, count: number): number {
  const size = FIXED_SIZE[type];
  if (size !== undefined) return start + size * count <= limit ? size * count : -1;
  if (type === TYPE.STRING && count !== 1) return -1;
  let p = start;
  for (let i = 0; i < count; i++) {
    const z = buf.indexOf(0, p);
    if (z < 0 || z >= limit) return -1;
    p = z + 1;
  }
  return p - start;
}

const ALIGN: Record<number, number> = { [TYPE.INT16]: 2, [TYPE.INT32]: 4, [TYPE.INT64]: 8 };

function encodeValue(e: EntryInput): { data: Buffer; count: number } {
  const v = e.value;
  const nums = (): Array<number | bigint> => (Array.isArray(v) ? (v as Array<number | bigint>) : [v as number | bigint]);
  const strs = (): string[] => (Array.isArray(v) ? (v as string[]) : [v as string]);
  const where = `${tagName(e.tag)} (type ${e.type})`;
  switch (e.type) {
    case TYPE.CHAR:
    case TYPE.INT8:
    case TYPE.INT16:
    case TYPE.INT32:
    case TYPE.INT64: {
      const n = nums();
      const size = FIXED_SIZE[e.type];
      const b = Buffer.alloc(n.length * size);
      n.forEach((x, i) => {
        if (size === 8) b.writeBigUInt64BE(BigInt(x), i * 8);
        else b.writeUIntBE(Number(x), i * size, size);
      });
      return { data: b, count: n.length };
    }
    case TYPE.STRING:
      if (typeof v !== 'string') throw new ArborError('InvalidArgument', `buildHeader: ${where} needs one string`);
      return { data: Buffer.from(`${v}\0`, 'utf8'), count: 1 };
    case TYPE.STRING_ARRAY:
    case TYPE.I18NSTRING: {
      const s = strs();
      return { data: Buffer.from(s.map((x) => `${x}\0`).join(''), 'utf8'), count: s.length };
    }
    case TYPE.BIN: {
      if (!Buffer.isBuffer(v)) throw new ArborError('InvalidArgument', `buildHeader: ${where} needs a Buffer`);
      return { data: v, count: v.length };
    }
    default:
      throw new ArborError('InvalidArgument', `buildHeader: ${where}: unknown type`);
  }
}

/**
 * Encodes a header blob (il, dl, index, store; no magic — prepend HEADER_MAGIC for a
 * package file). Entries are sorted by tag, data aligned as rpm requires. With `region`
 * (63 for a main header, 62 for a signature header) every entry is wrapped in that
 * immutable region with its trailer at the end of the data, as rpm's headerExport does.
 */
export function buildHeader(entries: EntryInput[], region?: number): Buffer {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  const il = sorted.length + (region !== undefined ? 1 : 0);
  if (il === 0) throw new ArborError('InvalidArgument', 'buildHeader: a header needs at least one entry');
  const index = Buffer.alloc(il * ENTRY_SIZE);
  const chunks: Buffer[] = [];
  let dl = 0;
  let slot = region !== undefined ? 1 : 0;
  for (const e of sorted) {
    if (count0(e)) throw new ArborError('InvalidArgument', `buildHeader: ${tagName(e.tag)} has no values`);
    const { data, count } = encodeValue(e);
    const align = ALIGN[e.type] ?? 1;
    const pad = (align - (dl % align)) % align;
    if (pad) {
      chunks.push(Buffer.alloc(pad));
      dl += pad;
    }
    const p = slot++ * ENTRY_SIZE;
    index.writeUInt32BE(e.tag, p);
    index.writeUInt32BE(e.type, p + 4);
    index.writeInt32BE(dl, p + 8);
    index.writeUInt32BE(count, p + 12);
    chunks.push(data);
    dl += data.length;
  }
  if (region !== undefined) {
    const trailer = Buffer.alloc(REGION_TRAILER);
    trailer.writeUInt32BE(region, 0);
    trailer.writeUInt32BE(TYPE.BIN, 4);
    trailer.writeInt32BE(-il * ENTRY_SIZE, 8);
    trailer.writeUInt32BE(REGION_TRAILER, 12);
    index.writeUInt32BE(region, 0);
    index.writeUInt32BE(TYPE.BIN, 4);
    index.writeInt32BE(dl, 8);
    index.writeUInt32BE(REGION_TRAILER, 12);
    chunks.push(trailer);
    dl += REGION_TRAILER;
  }
  const pre = Buffer.alloc(8);
  pre.writeUInt32BE(il, 0);
  pre.writeUInt32BE(dl, 4);
  return Buffer.concat([pre, index, ...chunks]);
}

/**
 * Adds entries after a header's immutable region, keeping the region's bytes as they
 * are (so its digests and signatures still hold): what rpm does when it stores a
 * package's header in the rpmdb with install-time tags (INSTALLTIME, FILESTATES, …).
 */
export function appendEntries(blob: Buffer, extra: EntryInput[]): Buffer {
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  const index = blob.subarray(8, 8 + il * ENTRY_SIZE);
  const chunks: Buffer[] = [blob.subarray(8 + il * ENTRY_SIZE, 8 + il * ENTRY_SIZE + dl)];
  const more = Buffer.alloc(extra.length * ENTRY_SIZE);
  let size = dl;
  extra.forEach((e, i) => {
    const { data, count } = encodeValue(e);
    const align = ALIGN[e.type] ?? 1;
    const pad = (align - (size % align)) % align;
    if (pad) {
      chunks.push(Buffer.alloc(pad));
      size += pad;
    }
    more.writeUInt32BE(e.tag, i * ENTRY_SIZE);
    more.writeUInt32BE(e.type, i * ENTRY_SIZE + 4);
    more.writeInt32BE(size, i * ENTRY_SIZE + 8);
    more.writeUInt32BE(count, i * ENTRY_SIZE + 12);
    chunks.push(data);
    size += data.length;
  });
  const pre = Buffer.alloc(8);
  pre.writeUInt32BE(il + extra.length, 0);
  pre.writeUInt32BE(size, 4);
  return Buffer.concat([pre, index, more, ...chunks]);
}

function count0(e: EntryInput): boolean {
  return Array.isArray(e.value) && e.value.length === 0;
}
