// A streaming reader for the cpio archives in RPM payloads: SVR4 "newc" (070701), its
// CRC twin (070702), and rpm's stripped form (07070X) whose header carries only an index
// into the package's file list. Entry data is handed out as views of the input chunks.
import { ArborError } from '../common/errors';

export const NEWC_MAGIC = '070701';
export const CRC_MAGIC = '070702';
export const STRIPPED_MAGIC = '07070X';
export const TRAILER = 'TRAILER!!!';
/** rpm refuses longer names (lib/cpio.c); so do we, before buffering one. */
export const MAX_NAME = 4096;
const NEWC_HEADER = 110;
const STRIPPED_HEADER = 14;

export interface CpioEntry {
  format: 'newc' | 'crc' | 'stripped';
  /** The name as stored ('./usr/bin/x'); '' in the stripped form. */
  name: string;
  /** Index into the header's file list (stripped form only; -1 otherwise). */
  fileIndex: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
}

/** Pulls bytes from an async iterable of chunks, tracking the absolute offset for padding. */
export class ByteSource {
  private readonly it: AsyncIterator<Buffer>;
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private ended = false;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  get available(): number {
    return this.chunk.length - this.pos;
  }

  /** Loads the next non-empty chunk; false at the end of input. */
  async fill(): Promise<boolean> {
    while (this.available === 0) {
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      this.chunk = r.value;
      this.pos = 0;
    }
    return true;
  }

  /** Exactly n bytes (copied only when they span chunks), or null at a clean end of input. */
  async take(n: number): Promise<Buffer | null> {
    if (this.available === 0 && !(await this.fill())) return null;
    if (this.available >= n) {
      const b = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return b;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (this.available === 0 && !(await this.fill())) throw new RangeError(`input ends ${n - got} bytes early`);
      const k = Math.min(n - got, this.available);
      this.chunk.copy(out, got, this.pos, this.pos + k);
      this.pos += k;
      got += k;
    }
    this.offset += n;
    return out;
  }

  /** Up to `max` bytes from the current chunk (no copy); empty at the end of input. */
  async span(max: number): Promise<Buffer> {
    if (this.available === 0 && !(await this.fill())) return this.chunk.subarray(0, 0);
    const k = Math.min(max, this.available);
    const b = this.chunk.subarray(this.pos, this.pos + k);
    this.pos += k;
    this.offset += k;
    return b;
  }

  async return(): Promise<void> {
    await this.it.return?.();
  }
}

function hex8(b: Buffer, at: number, field: string, where: string): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = b[i];
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) throw new ArborError('Corrupted', `${where}: cpio header field ${field} is not 8 hex digits: ${JSON.stringify(b.toString('latin1', at, at + 8))}`);
    v = v * 16 + d;
  }
  return v;
}

/**
 * Reads entries one after another. After next(), read the entry's data with
 * readData()/readAll() or leave it: the next next() skips what is left.
 * In the stripped form the data size is not in the archive; `strippedSize(fx)` gives it.
 */
export class CpioReader {
  private readonly src: ByteSource;
  private readonly where: string;
  private remaining = 0;
  private done = false;
  strippedSize: ((fileIndex: number) => number) | undefined;

  constructor(source: AsyncIterable<Buffer>, where: string, strippedSize?: (fileIndex: number) => number) {
    this.src = new ByteSource(source);
    this.where = where;
    this.strippedSize = strippedSize;
  }

  private truncated(what: string): ArborError {
    return new ArborError('Corrupted', `${this.where}: cpio archive truncated in ${what} at offset ${this.src.offset}`);
  }

  private async skip(n: number, what: string): Promise<void> {
    while (n > 0) {
      const b = await this.src.span(n);
      if (b.length === 0) throw this.truncated(what);
      n -= b.length;
    }
  }

  private async pad4(what: string): Promise<void> {
    const p = (4 - (this.src.offset % 4)) % 4;
    if (p) await this.skip(p, what);
  }

  /** The next entry, or null after the trailer. Input ending without a trailer is corrupt. */
  async next(): Promise<CpioEntry | null> {
    if (this.done) return null;
    if (this.remaining > 0) await this.skip(this.remaining, 'entry data');
    this.remaining = 0;
    await this.pad4('padding');
    let magicBuf: Buffer | null;
    try {
      magicBuf = await this.src.take(6);
    } catch (e) {
      if (e instanceof RangeError) throw this.truncated('a header');
      throw e;
    }
    if (!magicBuf) throw new ArborError('Corrupted', `${this.where}: cpio archive ends without a trailer at offset ${this.src.offset}`);
    const magic = magicBuf.toString('latin1');
    const where = this.where;
    const take = async (n: number, what: string): Promise<Buffer> => {
      try {
        const b = await this.src.take(n);
        if (!b) throw this.truncated(what);
        return b;
      } catch (e) {
        if (e instanceof RangeError) throw this.truncated(what);
        throw e;
      }
    };
    if (magic === STRIPPED_MAGIC) {
      const h = await take(STRIPPED_HEADER - 6, 'a stripped header');
      const fx = hex8(h, 0, 'fx', where);
      await this.pad4('padding');
      if (fx === 0xffffffff) {
        this.done = true;
        return null;
      }
      if (!this.strippedSize) throw new ArborError('Corrupted', `${where}: stripped cpio entry outside an rpm payload`);
      const size = this.strippedSize(fx);
      this.remaining = size;
      return { format: 'stripped', name: '', fileIndex: fx, ino: 0, mode: 0, uid: 0, gid: 0, nlink: 0, mtime: 0, size, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0 };
    }
    if (magic !== NEWC_MAGIC && magic !== CRC_MAGIC) {
      throw new ArborError('Corrupted', `${where}: bad cpio magic ${JSON.stringify(magic)} at offset ${this.src.offset - 6} (expected 070701)`);
    }
    const h = await take(NEWC_HEADER - 6, 'a header');
    const f = (i: number, name: string): number => hex8(h, i * 8, name, where);
    const entry: CpioEntry = {
      format: magic === NEWC_MAGIC ? 'newc' : 'crc',
      name: '',
      fileIndex: -1,
      ino: f(0, 'ino'),
      mode: f(1, 'mode'),
      uid: f(2, 'uid'),
      gid: f(3, 'gid'),
      nlink: f(4, 'nlink'),
      mtime: f(5, 'mtime'),
      size: f(6, 'filesize'),
      devMajor: f(7, 'devmajor'),
      devMinor: f(8, 'devminor'),
      rdevMajor: f(9, 'rdevmajor'),
      rdevMinor: f(10, 'rdevminor'),
    };
    const nameSize = f(11, 'namesize');
    if (nameSize < 1 || nameSize > MAX_NAME) throw new ArborError('Corrupted', `${where}: cpio name size ${nameSize} out of range 1..${MAX_NAME}`);
    const nameBuf = await take(nameSize, 'a name');
    if (nameBuf[nameSize - 1] !== 0) throw new ArborError('Corrupted', `${where}: cpio name is not NUL-terminated`);
    entry.name = nameBuf.toString('utf8', 0, nameSize - 1);
    if (entry.name.includes('\0')) throw new ArborError('Corrupted', `${where}: cpio name contains a NUL byte`);
    await this.pad4('name padding');
    if (entry.name === TRAILER) {
      this.done = true;
      return null;
    }
    this.remaining = entry.size;
    return entry;
  }

  /** Calls `sink` with each piece of the current entry's data: the fast path for extraction. */
  async readData(sink: (b: Buffer) => void): Promise<void> {
    while (this.remaining > 0) {
      const b = await this.src.span(this.remaining);
      if (b.length === 0) throw this.truncated('entry data');
      this.remaining -= b.length;
      sink(b);
    }
  }

  /** The whole data of the current entry, for small things such as symlink targets. */
  async readAll(limit: number): Promise<Buffer> {
    if (this.remaining > limit) throw new ArborError('Corrupted', `${this.where}: cpio entry data of ${this.remaining} bytes exceeds ${limit}`);
    const parts: Buffer[] = [];
    await this.readData((b) => parts.push(Buffer.from(b)));
    return Buffer.concat(parts);
  }

  /** Reads (and discards) whatever input follows the trailer, so digests see every byte. */
  async drain(): Promise<void> {
    while ((await this.src.span(1 << 30)).length > 0);
  }

  async close(): Promise<void> {
    await this.src.return();
  }
}

/** Encodes a newc archive (tests and fixtures: rpm's own writer is the reference). */
export function writeCpio(entries: Array<Partial<CpioEntry> & { name: string; data?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    off += b.length;
  };
  const pad = (): void => {
    const p = (4 - (off % 4)) % 4;
    if (p) push(Buffer.alloc(p));
  };
  const h = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  for (const e of [...entries, { name: TRAILER, nlink: 1 }] as Array<Partial<CpioEntry> & { name: string; data?: Buffer }>) {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const fields = [e.ino ?? 0, e.mode ?? 0, e.uid ?? 0, e.gid ?? 0, e.nlink ?? 1, e.mtime ?? 0, data.length, e.devMajor ?? 0, e.devMinor ?? 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, name.length, 0];
    push(Buffer.from(NEWC_MAGIC + fields.map(h).join(''), 'latin1'));
    push(name);
    pad();
    push(data);
    pad();
  }
  return Buffer.concat(parts);
}
