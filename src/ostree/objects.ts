// The OSTree object formats, in one place: commit, dirtree, dirmeta, the content
// header that content checksums cover, and the archive (.filez) framing. Nothing
// else in Arbor parses these bytes. Integers OSTree owns are big-endian inside the
// little-endian GVariant; this module swaps them so callers see plain numbers.
import { createHash } from 'node:crypto';
import { decode, encode, GVariantError, GVariantTypeError, Variant, bswap32, bswap64 } from '../gvariant';
import { ArborError } from '../common/errors';
import { Checksum, checksumFromBytes, checksumToBytes } from './checksum';

export type ObjectType = 'file' | 'dirtree' | 'dirmeta' | 'commit' | 'commitmeta' | 'tombstone-commit';

export const T_COMMIT = '(a{sv}aya(say)sstayay)';
export const T_DIRTREE = '(a(say)a(sayay))';
export const T_DIRMETA = '(uuua(ayay))';
export const T_COMMITMETA = 'a{sv}';
export const T_FILE_HEADER = '(uuuusa(ayay))';
export const T_ARCHIVE_HEADER = '(tuuuusa(ayay))';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** Extended attributes as OSTree keeps them: sorted by name, names without the NUL. */
export type Xattrs = Array<[name: string, value: Buffer]>;
export type Metadata = Array<[key: string, value: Variant]>;

export interface CommitObject {
  metadata: Metadata;
  parent: Checksum | null;
  subject: string;
  body: string;
  /** Unix seconds. */
  timestamp: number;
  rootTree: Checksum;
  rootMeta: Checksum;
}

export interface DirTreeObject {
  files: Array<[name: string, checksum: Checksum]>;
  dirs: Array<[name: string, tree: Checksum, meta: Checksum]>;
}

export interface DirMetaObject { uid: number; gid: number; mode: number; xattrs: Xattrs }

export interface FileHeader {
  uid: number;
  gid: number;
  /** Including S_IFREG or S_IFLNK. */
  mode: number;
  /** Symlink target, '' for regular files. */
  symlinkTarget: string;
  xattrs: Xattrs;
}

export function sha256(...parts: Uint8Array[]): Checksum {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex') as Checksum;
}

export function objectExtension(type: ObjectType, archive: boolean): string {
  if (type === 'file') return archive ? 'filez' : 'file';
  return type === 'tombstone-commit' ? 'commit-tombstone' : type;
}

// --- names ------------------------------------------------------------------

/** Names inside dirtrees are untrusted: they become path components on checkout. */
export function validateName(name: string, where: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new ArborError('Corrupted', `${where}: invalid file name '${name}' (empty, '.', '..' or containing '/')`);
  }
}

// --- xattrs -----------------------------------------------------------------

function cmpBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Sorted by strcmp, zero-length values dropped (as libglnx does). */
export function canonicalXattrs(x: Xattrs): Xattrs {
  return x.filter(([, v]) => v.length > 0).sort((a, b) => cmpBytes(a[0], b[0]));
}

function xattrsToWire(x: Xattrs): Array<[Buffer, Buffer]> {
  return x.map(([n, v]) => [Buffer.from(n + '\0', 'utf8'), v]);
}

function xattrsFromWire(x: Array<[Buffer, Buffer]>, where: string): Xattrs {
  return x.map(([n, v]) => {
    if (n.length < 2 || n[n.length - 1] !== 0 || n.indexOf(0) !== n.length - 1) {
      throw new ArborError('Corrupted', `${where}: malformed xattr name`);
    }
    return [n.toString('utf8', 0, n.length - 1), Buffer.from(v)];
  });
}

// --- decoding with errors that name the object ---------------------------------

function parseObject<T>(type: string, bytes: Uint8Array, where: string, strict: boolean): T {
  try {
    return decode<T>(type, bytes, { strict });
  } catch (e) {
    if (e instanceof GVariantError || e instanceof GVariantTypeError) throw new ArborError('Corrupted', `${where}: ${e.message}`);
    throw e;
  }
}

// --- commit -----------------------------------------------------------------

export function encodeCommit(c: CommitObject): Buffer {
  return encode(T_COMMIT, [
    c.metadata,
    c.parent ? checksumToBytes(c.parent) : Buffer.alloc(0),
    [],
    c.subject,
    c.body,
    bswap64(BigInt(c.timestamp)),
    checksumToBytes(c.rootTree),
    checksumToBytes(c.rootMeta),
  ]);
}

export function decodeCommit(bytes: Uint8Array, where = 'commit', strict = false): CommitObject {
  const [metadata, parent, , subject, body, ts, tree, meta] = parseObject<
    [Metadata, Buffer, unknown, string, string, bigint, Buffer, Buffer]
  >(T_COMMIT, bytes, where, strict);
  return {
    metadata,
    parent: parent.length ? checksumFromBytes(parent, `${where}: parent`) : null,
    subject,
    body,
    timestamp: Number(bswap64(ts)),
    rootTree: checksumFromBytes(tree, `${where}: root dirtree`),
    rootMeta: checksumFromBytes(meta, `${where}: root dirmeta`),
  };
}

export function metadataGet<T = unknown>(m: Metadata, key: string): T | undefined {
  const e = m.find(([k]) => k === key);
  return e ? (e[1].value as T) : undefined;
}

// --- dirtree / dirmeta ----------------------------------------------------------

export function encodeDirTree(t: DirTreeObject): Buffer {
  const byName = (a: [string, ...unknown[]], b: [string, ...unknown[]]): number => cmpBytes(a[0], b[0]);
  return encode(T_DIRTREE, [
    [...t.files].sort(byName).map(([n, c]) => [n, checksumToBytes(c)]),
    [...t.dirs].sort(byName).map(([n, tr, m]) => [n, checksumToBytes(tr), checksumToBytes(m)]),
  ]);
}

/** Little-endian framing offset of `w` bytes at `pos`. */
function frameOffset(b: Uint8Array, pos: number, w: number): number {
  let v = 0;
  for (let i = w - 1; i >= 0; i--) v = v * 256 + b[pos + i];
  return v;
}

function offsetSize(n: number): number {
  return n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffff ? 4 : 8;
}

/** [start, end) of each element of an array of variable-size elements (alignment 1), or null if the framing is off. */
function arrayElements(b: Uint8Array, start: number, end: number): Array<[number, number]> | null {
  const n = end - start;
  if (n === 0) return [];
  const w = offsetSize(n);
  if (n < w) return null;
  const table = frameOffset(b, end - w, w);
  if (table > n - w || (n - table) % w !== 0) return null;
  const out: Array<[number, number]> = [];
  let prev = 0;
  for (let p = start + table; p < end; p += w) {
    const off = frameOffset(b, p, w);
    if (off < prev || off > table) return null;
    out.push([start + prev, start + off]);
    prev = off;
  }
  return out;
}

/**
 * The dirtree's entries read straight from the framing offsets: checkout, pull and
 * diff read thousands of dirtrees, and the general decoder cost ~50 µs each. Only for
 * well-framed objects; anything unusual (returns null) goes through the general one.
 */
function fastDirTree(b: Buffer): [Array<[string, Buffer]>, Array<[string, Buffer, Buffer]>] | null {
  const L = b.length;
  const w = offsetSize(L);
  if (L < w) return null;
  const endFiles = frameOffset(b, L - w, w);
  if (endFiles > L - w) return null;
  const fileEls = arrayElements(b, 0, endFiles);
  const dirEls = fileEls && arrayElements(b, endFiles, L - w);
  if (!fileEls || !dirEls) return null;
  // A string member: [s, e) ending in its NUL, valid UTF-8, no NUL inside.
  const str = (s: number, e: number): string | null => {
    if (e <= s || b[e - 1] !== 0) return null;
    const v = b.toString('utf8', s, e - 1);
    return v.includes('\uFFFD') || v.includes('\0') ? null : v;
  };
  const files: Array<[string, Buffer]> = [];
  for (const [s, e] of fileEls) {
    const ws = offsetSize(e - s);
    if (e - s < ws) return null;
    const endName = s + frameOffset(b, e - ws, ws);
    const name = endName <= e - ws ? str(s, endName) : null;
    if (name === null || e - ws - endName !== 32) return null;
    files.push([name, b.subarray(endName, endName + 32)]);
  }
  const dirs: Array<[string, Buffer, Buffer]> = [];
  for (const [s, e] of dirEls) {
    const ws = offsetSize(e - s);
    if (e - s < 2 * ws) return null;
    const endName = s + frameOffset(b, e - ws, ws);
    const endTree = s + frameOffset(b, e - 2 * ws, ws);
    const name = endName <= endTree && endTree <= e - 2 * ws ? str(s, endName) : null;
    if (name === null || endTree - endName !== 32 || e - 2 * ws - endTree !== 32) return null;
    dirs.push([name, b.subarray(endName, endTree), b.subarray(endTree, endTree + 32)]);
  }
  return [files, dirs];
}

/** `fast` (the default unless strict) tries fastDirTree() first; the tests compare both ways. */
export function decodeDirTree(bytes: Uint8Array, where = 'dirtree', strict = false, fast = !strict): DirTreeObject {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [files, dirs] = (fast && !strict && fastDirTree(buf))
    || parseObject<[Array<[string, Buffer]>, Array<[string, Buffer, Buffer]>]>(T_DIRTREE, bytes, where, strict);
  const seen = new Set<string>();
  const check = (name: string): void => {
    validateName(name, where);
    if (seen.has(name)) throw new ArborError('Corrupted', `${where}: duplicate entry '${name}'`);
    seen.add(name);
  };
  return {
    files: files.map(([n, c]) => { check(n); return [n, checksumFromBytes(c, `${where}: ${n}`)]; }),
    dirs: dirs.map(([n, t, m]) => { check(n); return [n, checksumFromBytes(t, `${where}: ${n}`), checksumFromBytes(m, `${where}: ${n}`)]; }),
  };
}

export function encodeDirMeta(m: DirMetaObject): Buffer {
  return encode(T_DIRMETA, [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode), xattrsToWire(canonicalXattrs(m.xattrs))]);
}

export function decodeDirMeta(bytes: Uint8Array, where = 'dirmeta', strict = false): DirMetaObject {
  const [uid, gid, mode, x] = parseObject<[number, number, number, Array<[Buffer, Buffer]>]>(T_DIRMETA, bytes, where, strict);
  const m = { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), xattrs: xattrsFromWire(x, where) };
  if ((m.mode & S_IFMT) !== S_IFDIR || (m.mode & ~(S_IFMT | 0o7777)) !== 0) {
    throw new ArborError('Corrupted', `${where}: mode 0${m.mode.toString(8)} is not a directory mode`);
  }
  return m;
}

export function decodeCommitMeta(bytes: Uint8Array, where = 'commitmeta'): Metadata {
  return parseObject<Metadata>(T_COMMITMETA, bytes, where, false);
}

// --- content ------------------------------------------------------------------

export function encodeFileHeader(h: FileHeader): Buffer {
  return encode(T_FILE_HEADER, [bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), 0, h.symlinkTarget, xattrsToWire(h.xattrs)]);
}

function checkFileMode(h: FileHeader, where: string): FileHeader {
  const fmt = h.mode & S_IFMT;
  if ((fmt !== S_IFREG && fmt !== S_IFLNK) || (h.mode & ~(S_IFMT | 0o7777)) !== 0) {
    throw new ArborError('Corrupted', `${where}: mode 0${h.mode.toString(8)} is neither a regular file nor a symlink`);
  }
  if ((fmt === S_IFLNK) !== (h.symlinkTarget !== '')) {
    throw new ArborError('Corrupted', `${where}: symlink target does not match the file type`);
  }
  return h;
}

export function decodeFileHeader(bytes: Uint8Array, where = 'file header', strict = false): FileHeader {
  const [uid, gid, mode, , target, x] = parseObject<[number, number, number, number, string, Array<[Buffer, Buffer]>]>(
    T_FILE_HEADER, bytes, where, strict,
  );
  return checkFileMode({ uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), symlinkTarget: target, xattrs: xattrsFromWire(x, where) }, where);
}

/** The framed header whose bytes, followed by the content, give the content checksum. */
export function contentStreamHeader(h: FileHeader): Buffer {
  const hdr = encodeFileHeader(h);
  const out = Buffer.alloc(8 + hdr.length);
  out.writeUInt32BE(hdr.length, 0);
  hdr.copy(out, 8);
  return out;
}

export function contentChecksum(h: FileHeader, content: Uint8Array | null): Checksum {
  return content ? sha256(contentStreamHeader(h), content) : sha256(contentStreamHeader(h));
}

/** `.filez` prefix: BE32 length, 4 zero bytes, (tuuuusa(ayay)); raw DEFLATE follows. */
export function encodeArchiveHeader(h: FileHeader, size: number): Buffer {
  const hdr = encode(T_ARCHIVE_HEADER, [
    bswap64(BigInt(size)), bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), 0, h.symlinkTarget, xattrsToWire(h.xattrs),
  ]);
  const out = Buffer.alloc(8 + hdr.length);
  out.writeUInt32BE(hdr.length, 0);
  hdr.copy(out, 8);
  return out;
}

/** Splits a `.filez` into header, declared size and the offset of the DEFLATE stream. */
export function decodeArchiveHeader(bytes: Uint8Array, where = 'filez'): { header: FileHeader; size: number; dataOffset: number } {
  if (bytes.length < 8) throw new ArborError('Corrupted', `${where}: truncated (${bytes.length} bytes)`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = b.readUInt32BE(0);
  if (8 + len > b.length) throw new ArborError('Corrupted', `${where}: header length ${len} exceeds the object (${b.length} bytes)`);
  const [size, uid, gid, mode, , target, x] = parseObject<[bigint, number, number, number, number, string, Array<[Buffer, Buffer]>]>(
    T_ARCHIVE_HEADER, b.subarray(8, 8 + len), where, false,
  );
  const header = checkFileMode({ uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), symlinkTarget: target, xattrs: xattrsFromWire(x, where) }, where);
  const n = bswap64(size);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ArborError('Corrupted', `${where}: declared size ${n} is impossible`);
  return { header, size: Number(n), dataOffset: 8 + len };
}

/** bare-user keeps (uid, gid, mode, xattrs) in the user.ostreemeta xattr. */
export function encodeBareUserMeta(h: FileHeader): Buffer {
  return encode(T_DIRMETA, [bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), xattrsToWire(h.xattrs)]);
}

/** The mode inside user.ostreemeta, read without decoding the rest (checkout's hot path). */
export function bareUserMetaMode(bytes: Uint8Array, where: string): number {
  if (bytes.length < 12) throw new ArborError('Corrupted', `${where}: user.ostreemeta of ${bytes.length} bytes is truncated`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(8);
}

export function decodeBareUserMeta(bytes: Uint8Array, where: string): { uid: number; gid: number; mode: number; xattrs: Xattrs } {
  const [uid, gid, mode, x] = parseObject<[number, number, number, Array<[Buffer, Buffer]>]>(T_DIRMETA, bytes, where, false);
  return { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), xattrs: xattrsFromWire(x, where) };
}

export function isSymlinkMode(mode: number): boolean { return (mode & S_IFMT) === S_IFLNK; }
export function isDirMode(mode: number): boolean { return (mode & S_IFMT) === S_IFDIR; }
