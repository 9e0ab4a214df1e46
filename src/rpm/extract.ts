// Unpacks an RPM payload into a target root. Every path is untrusted: it is normalised,
// refused if it leaves the root, and written only through real directories (each parent
// component is lstat'ed once; a symlink on the way is refused, never followed).
import fs from 'node:fs';
import path from 'node:path';
import { ArborError, throwIfAborted, toArborError } from '../common/errors';
import type { WorkOptions } from '../common/progress';
import { CpioEntry, CpioReader } from './cpio';
import type { RpmFile, RpmPackage } from './package';

export interface ExtractOptions extends WorkOptions {
  /**
   * chown to the owners the package names, mapped through the root's etc/passwd and
   * etc/group (then usr/lib/passwd, usr/lib/group); unknown names become 0. Default: when
   * running as root.
   */
  chown?: boolean;
  /** Check the payload digest (default true). */
  verify?: boolean;
  /** Leave out files for which this returns false (e.g. documentation). */
  filter?: (f: RpmFile) => boolean;
}

export interface ExtractResult {
  /** Entries written: files, directories, symlinks, hardlinks. */
  entries: number;
  /** Bytes of file content written. */
  bytes: number;
  /** User and group names the root does not know (extracted as 0). */
  unknownOwners: string[];
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
// Read once: a new file gets exactly its mode from open() when the umask keeps every
// bit, and already belongs to us; that saves an fchmod and an fchown per file.
const UMASK = process.umask();
const EUID = typeof process.geteuid === 'function' ? process.geteuid() : -1;
const EGID = typeof process.getegid === 'function' ? process.getegid() : -1;

/** The owner names a root knows, read from its passwd/group files. */
export interface IdMaps {
  users: Map<string, number>;
  groups: Map<string, number>;
}

/**
 * Writes entries below one root. Knows which directories it has verified, so a deep tree
 * costs one lstat per new directory, not per file.
 */
export class SafeTree {
  readonly root: string;
  private readonly where: string;
  private readonly safeDirs = new Set<string>(['']);
  private readonly dirTimes: Array<[string, number]> = [];
  /** A setgid directory hands its group to new files: then owners cannot be assumed. */
  private sawSetgid = false;
  entries = 0;
  bytes = 0;

  constructor(root: string, where: string) {
    this.root = path.resolve(root);
    this.where = where;
    let st: fs.Stats;
    try {
      st = fs.statSync(this.root);
    } catch (e) {
      throw toArborError(e, `extracting ${where}`);
    }
    if (!st.isDirectory()) throw new ArborError('InvalidArgument', `extracting ${where}: target root ${this.root} is not a directory`);
    if (st.mode & 0o2000) this.sawSetgid = true;
  }

  private unsafe(name: string, why: string): ArborError {
    return new ArborError('Unsafe', `${this.where}: refusing entry ${JSON.stringify(name)}: ${why}`);
  }

  /** Normalises a package path to a root-relative one ('usr/bin/x'); '' is the root itself. */
  relative(name: string): string {
    if (name.includes('\0')) throw this.unsafe(name, 'the path contains a NUL byte');
    const out: string[] = [];
    for (const c of name.split('/')) {
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (out.length === 0) throw this.unsafe(name, 'the path leaves the target root');
        out.pop();
      } else out.push(c);
    }
    return out.join('/');
  }

  private abs(rel: string): string {
    return rel ? `${this.root}/${rel}` : this.root;
  }

  /** Makes sure every directory above `rel` is a real directory inside the root. */
  private parents(rel: string, name: string): void {
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    if (this.safeDirs.has(parent)) return;
    const comps = parent.split('/');
    let cur = '';
    for (const c of comps) {
      cur = cur ? `${cur}/${c}` : c;
      if (this.safeDirs.has(cur)) continue;
      const a = this.abs(cur);
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(a);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw toArborError(e, this.where);
      }
      if (!st) {
        // Directories the package does not list get 0755, as rpm gives them.
        try {
          fs.mkdirSync(a, 0o755);
        } catch (e) {
          throw toArborError(e, this.where);
        }
      } else if (st.isSymbolicLink()) {
        throw this.unsafe(name, `'/${cur}' is a symlink in the target; writing through it could leave the root`);
      } else if (!st.isDirectory()) {
        throw new ArborError('Exists', `${this.where}: cannot create ${JSON.stringify(name)}: '/${cur}' exists and is not a directory`);
      } else if (st.mode & 0o2000) this.sawSetgid = true;
      this.safeDirs.add(cur);
    }
  }

  private target(name: string): { rel: string; abs: string } {
    const rel = this.relative(name);
    if (rel === '') throw this.unsafe(name, 'the path is the target root itself');
    this.parents(rel, name);
    return { rel, abs: this.abs(rel) };
  }

  /** Removes a non-directory at `abs` so a new entry can take its place. */
  private clear(abs: string, name: string): void {
    const st = fs.lstatSync(abs);
    if (st.isDirectory()) throw new ArborError('Exists', `${this.where}: cannot replace directory ${JSON.stringify(name)} with a non-directory`);
    fs.unlinkSync(abs);
  }

  /** Writes a regular file whose content arrives through `fill(write)`. */
  async file(name: string, meta: { mode: number; uid: number; gid: number; mtime: number; chown: boolean }, fill: (write: (b: Buffer) => void) => Promise<void>): Promise<string> {
    const { abs } = this.target(name);
    const perm = meta.mode & 0o7777;
    const needChown = meta.chown && (meta.uid !== EUID || meta.gid !== EGID || this.sawSetgid);
    const direct = !needChown && (perm & UMASK) === 0;
    let fd: number;
    try {
      fd = fs.openSync(abs, CREATE_FLAGS, direct ? perm : 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw toArborError(e, this.where);
      this.clear(abs, name);
      fd = fs.openSync(abs, CREATE_FLAGS, direct ? perm : 0o600);
    }
    try {
      await fill((b) => {
        let off = 0;
        while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
        this.bytes += b.length;
      });
      // chown before chmod: chown clears setuid/setgid bits.
      if (needChown) fs.fchownSync(fd, meta.uid, meta.gid);
      if (!direct) fs.fchmodSync(fd, perm);
      fs.futimesSync(fd, meta.mtime, meta.mtime);
    } catch (e) {
      throw toArborError(e, this.where);
    } finally {
      fs.closeSync(fd);
    }
    this.entries++;
    return abs;
  }

  symlink(name: string, linkTo: string, meta: { uid: number; gid: number; mtime: number; chown: boolean }): void {
    if (linkTo === '' || linkTo.includes('\0')) throw new ArborError('Corrupted', `${this.where}: symlink ${JSON.stringify(name)} has an empty or invalid target`);
    const { abs } = this.target(name);
    try {
      try {
        fs.symlinkSync(linkTo, abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        this.clear(abs, name);
        fs.symlinkSync(linkTo, abs);
      }
      if (meta.chown) fs.lchownSync(abs, meta.uid, meta.gid);
      fs.lutimesSync(abs, meta.mtime, meta.mtime);
    } catch (e) {
      throw toArborError(e, this.where);
    }
    this.entries++;
  }

  /** Another name for a file this tree wrote (`existing` is its absolute path). */
  hardlink(name: string, existing: string): void {
    const { abs } = this.target(name);
    try {
      try {
        fs.linkSync(existing, abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        this.clear(abs, name);
        fs.linkSync(existing, abs);
      }
    } catch (e) {
      throw toArborError(e, this.where);
    }
    this.entries++;
  }

  dir(name: string, meta: { mode: number; uid: number; gid: number; mtime: number; chown: boolean }): void {
    const rel = this.relative(name);
    if (rel === '') return; // the root itself: not ours to change
    this.parents(rel, name);
    const abs = this.abs(rel);
    try {
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (!st) fs.mkdirSync(abs, 0o700);
      else if (st.isSymbolicLink()) throw this.unsafe(name, 'the directory exists as a symlink in the target; changing it would act on what it points to');
      else if (!st.isDirectory()) {
        this.clear(abs, name);
        fs.mkdirSync(abs, 0o700);
      }
      if (meta.chown) fs.chownSync(abs, meta.uid, meta.gid);
      fs.chmodSync(abs, meta.mode & 0o7777);
      if (meta.mode & 0o2000) this.sawSetgid = true;
    } catch (e) {
      throw toArborError(e, this.where);
    }
    this.safeDirs.add(rel);
    // Creating children changes a directory's mtime: set them all at the end.
    this.dirTimes.push([abs, meta.mtime]);
    this.entries++;
  }

  finish(): void {
    for (const [abs, t] of this.dirTimes) {
      try {
        fs.utimesSync(abs, t, t);
      } catch (e) {
        throw toArborError(e, this.where);
      }
    }
  }
}

/** Reads name→id maps from a passwd/group file in the root, ignoring anything odd about it. */
function readIds(root: string, rels: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const rel of rels) {
    let text: string;
    try {
      // Never follow a symlink out of the root just to learn ids.
      const fd = fs.openSync(path.join(root, rel), fs.constants.O_RDONLY | O_NOFOLLOW);
      try {
        text = fs.readFileSync(fd, 'utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && /^\d+$/.test(f[2]) && !out.has(f[0])) out.set(f[0], Number(f[2]));
    }
  }
  return out;
}

export function rootIds(root: string): IdMaps {
  return {
    users: readIds(root, ['etc/passwd', 'usr/lib/passwd']),
    groups: readIds(root, ['etc/group', 'usr/lib/group']),
  };
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** The payload's archive path as a header path: './usr/x' → '/usr/x'. */
function archivePath(name: string): string {
  if (name.startsWith('./')) return name.slice(1);
  if (name.startsWith('/')) return name;
  return `/${name}`;
}

/**
 * Extracts a package's payload into `root`. File metadata (type, mode, owner, mtime,
 * symlink target) comes from the header's file list, as rpm does; the archive supplies
 * content. Ghost files are not written. Hardlink sets get their content once.
 */
export async function extractRpm(pkg: RpmPackage, root: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const where = pkg.path;
  const tree = new SafeTree(root, where);
  const chown = opts.chown ?? isRoot();
  const ids = chown ? rootIds(tree.root) : { users: new Map(), groups: new Map() };
  const unknown = new Set<string>();
  const uidOf = (n: string): number => ids.users.get(n) ?? (n === 'root' ? 0 : (unknown.add(`user ${n}`), 0));
  const gidOf = (n: string): number => ids.groups.get(n) ?? (n === 'root' ? 0 : (unknown.add(`group ${n}`), 0));

  const files = pkg.files();
  const byPath = new Map<string, number>();
  for (const f of files) byPath.set(f.path, f.index);
  // Hardlink sets: members by index; the payload carries the content once (newc: with
  // the last member; stripped: with the last member too, by rpm's writer).
  const setOf = new Map<number, number[]>();
  for (const s of pkg.hardlinkSets()) for (const i of s) setOf.set(i, s);
  const strippedSize = (fx: number): number => {
    const f = files[fx];
    if (!f) throw new ArborError('Corrupted', `${where}: payload entry refers to file index ${fx}, the header lists ${files.length} files`);
    if (f.ghost || f.type === 'dir') return 0;
    const s = setOf.get(fx);
    if (f.type === 'file' && s && s[s.length - 1] !== fx) return 0;
    return f.type === 'file' || f.type === 'symlink' ? f.size : 0;
  };

  const done = new Uint8Array(files.length);
  const written = new Map<number[], string>();
  const reader = new CpioReader(pkg.payload({ signal: opts.signal, verify: opts.verify }), where, strippedSize);
  const wanted = (f: RpmFile): boolean => !f.ghost && (!opts.filter || opts.filter(f));
  let count = 0;
  try {
    for (let e = await reader.next(); e; e = await reader.next()) {
      throwIfAborted(opts.signal);
      const fx = e.format === 'stripped' ? e.fileIndex : byPath.get(archivePath(e.name)) ?? -1;
      const f = files[fx];
      if (!f) throw new ArborError('Corrupted', `${where}: payload entry ${JSON.stringify(e.name)} is not in the header's file list`);
      if (done[fx]) continue;
      const set = f.type === 'file' ? setOf.get(fx) : undefined;
      if (set) {
        // A hardlink set: its content arrives once, and lands on the first member wanted.
        if (e.size === 0 && f.size > 0) continue;
        if (e.size !== f.size) throw new ArborError('Corrupted', `${where}: payload has ${e.size} bytes for ${f.path}, the header says ${f.size}`);
        const members = set.filter((j) => wanted(files[j]));
        for (const j of set) done[j] = 1;
        if (!members.length) continue;
        const first = files[members[0]];
        const meta = { mode: first.mode, uid: chown ? uidOf(first.user) : 0, gid: chown ? gidOf(first.group) : 0, mtime: first.mtime, chown };
        const abs = await tree.file(first.path, meta, (write) => reader.readData(write));
        written.set(set, abs);
        for (const j of members.slice(1)) tree.hardlink(files[j].path, abs);
        count += members.length;
        continue;
      }
      if (!wanted(f)) continue;
      done[fx] = 1;
      const meta = { mode: f.mode, uid: chown ? uidOf(f.user) : 0, gid: chown ? gidOf(f.group) : 0, mtime: f.mtime, chown };
      switch (f.type) {
        case 'dir':
          tree.dir(f.path, meta);
          break;
        case 'symlink': {
          const target = f.linkTo || (await reader.readAll(4096)).toString('utf8');
          tree.symlink(f.path, target, meta);
          break;
        }
        case 'file': {
          if (e.size !== f.size) throw new ArborError('Corrupted', `${where}: payload has ${e.size} bytes for ${f.path}, the header says ${f.size}`);
          await tree.file(f.path, meta, (write) => reader.readData(write));
          break;
        }
        default:
          throw new ArborError('Unsupported', `${where}: ${f.path} is a ${f.type}; device nodes, fifos and sockets are not extracted`);
      }
      if (++count % 256 === 0) opts.progress?.({ phase: 'extract', done: count, total: files.length, bytes: tree.bytes });
    }
    // Reading past the trailer lets the payload digest see every byte.
    await reader.drain();
  } finally {
    await reader.close();
  }
  for (const s of new Set(setOf.values())) {
    if (!written.has(s) && s.some((i) => wanted(files[i]))) {
      // rpm's writer puts an empty set's "content" (zero bytes) on its last member; a
      // set whose members all came without data and have size 0 is complete.
      if (s.every((i) => files[i].size === 0)) continue;
      throw new ArborError('Corrupted', `${where}: the payload lacks the content of hardlink set ${s.map((i) => files[i].path).join(', ')}`);
    }
  }
  const missing = files.filter((f) => wanted(f) && !done[f.index]);
  if (missing.length) {
    throw new ArborError('Corrupted', `${where}: the payload lacks ${missing.length} file(s) the header lists: ${missing.slice(0, 5).map((f) => f.path).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  }
  tree.finish();
  opts.progress?.({ phase: 'extract', done: count, total: files.length, bytes: tree.bytes });
  return { entries: tree.entries, bytes: tree.bytes, unknownOwners: [...unknown].sort() };
}

/**
 * Extracts a bare newc archive using its own metadata (numeric owners, cpio modes).
 * The same safety rules apply; this is what the cpio fuzzer drives.
 */
export async function extractCpio(source: AsyncIterable<Buffer>, root: string, where: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const tree = new SafeTree(root, where);
  const chown = opts.chown ?? false;
  const reader = new CpioReader(source, where);
  const links = new Map<string, { paths: string[]; abs?: string }>();
  try {
    for (let e: CpioEntry | null = await reader.next(); e; e = await reader.next()) {
      throwIfAborted(opts.signal);
      const meta = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, chown };
      switch (e.mode & 0o170000) {
        case 0o040000:
          tree.dir(e.name, meta);
          break;
        case 0o120000:
          tree.symlink(e.name, (await reader.readAll(4096)).toString('utf8'), meta);
          break;
        case 0o100000: {
          if (e.nlink > 1) {
            const key = `${e.devMajor}:${e.devMinor}:${e.ino}`;
            const set = links.get(key) ?? { paths: [] };
            links.set(key, set);
            if (set.abs) {
              tree.hardlink(e.name, set.abs);
              break;
            }
            if (e.size === 0) {
              set.paths.push(e.name);
              break;
            }
            set.abs = await tree.file(e.name, meta, (w) => reader.readData(w));
            for (const p of set.paths) tree.hardlink(p, set.abs);
            set.paths = [];
            break;
          }
          await tree.file(e.name, meta, (w) => reader.readData(w));
          break;
        }
        default:
          throw new ArborError('Unsupported', `${where}: entry ${JSON.stringify(e.name)} has mode ${e.mode.toString(8)}; only files, directories and symlinks are extracted`);
      }
    }
  } finally {
    await reader.close();
  }
  // Hardlink sets whose members all had no data: empty files.
  for (const set of links.values()) {
    if (set.abs || set.paths.length === 0) continue;
    const first = set.paths[0];
    const abs = await tree.file(first, { mode: 0o644, uid: 0, gid: 0, mtime: 0, chown: false }, async () => undefined);
    for (const p of set.paths.slice(1)) tree.hardlink(p, abs);
  }
  tree.finish();
  return { entries: tree.entries, bytes: tree.bytes, unknownOwners: [] };
}
