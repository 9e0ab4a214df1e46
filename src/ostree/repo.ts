// An OSTree repository on disk: config, object store, refs and locking. The
// object formats live in objects.ts; writing goes through a Transaction
// (transaction.ts) so that objects become visible only once durable.
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../common/errors';
import { KeyFile } from '../common/keyfile';
import { native } from '../common/native';
import { writeFileAtomic } from '../common/atomic-write';
import { inflateRaw } from '../common/compression';
import { Checksum, isChecksum } from './checksum';
import {
  CommitObject, DirMetaObject, DirTreeObject, FileHeader, Metadata, ObjectType, S_IFLNK, Xattrs,
  canonicalXattrs, decodeArchiveHeader, decodeBareUserMeta, decodeCommit, decodeCommitMeta, decodeDirMeta,
  decodeDirTree, isSymlinkMode, objectExtension, sha256,
} from './objects';
import { Refspec, formatRefspec, parseRefspec } from './refs';

export type RepoMode = 'bare' | 'bare-user' | 'bare-user-only' | 'archive';
const MODES: RepoMode[] = ['bare', 'bare-user', 'bare-user-only', 'archive'];

export interface StoredFile {
  header: FileHeader;
  /** File contents; null for a symlink (its target is in the header). */
  content: Buffer | null;
}

export class Repo {
  readonly objectsDir: string;

  private constructor(readonly path: string, readonly mode: RepoMode, public config: KeyFile) {
    this.objectsDir = `${path}/objects`;
  }

  get isArchive(): boolean { return this.mode === 'archive'; }

  /** Creates a repository the way `ostree init` does; refuses to overwrite one. */
  static init(repoPath: string, mode: RepoMode, opts: { collectionId?: string } = {}): Repo {
    if (!MODES.includes(mode)) throw new ArborError('InvalidArgument', `unknown repo mode '${mode}' (one of ${MODES.join(', ')})`);
    if (mode === 'bare-user-only') throw new ArborError('Unsupported', 'bare-user-only repositories are not supported yet');
    if (fs.existsSync(path.join(repoPath, 'config'))) {
      throw new ArborError('Exists', `${repoPath}: a repository already exists here`);
    }
    for (const d of ['objects', 'tmp/cache', 'extensions', 'state', 'refs/heads', 'refs/mirrors', 'refs/remotes']) {
      fs.mkdirSync(path.join(repoPath, d), { recursive: true });
    }
    const kf = new KeyFile();
    kf.set('core', 'repo_version', '1');
    kf.set('core', 'mode', mode === 'archive' ? 'archive-z2' : mode);
    if (opts.collectionId) kf.set('core', 'collection-id', opts.collectionId);
    writeFileAtomic(path.join(repoPath, 'config'), kf.toString());
    return new Repo(path.resolve(repoPath), mode, kf);
  }

  static open(repoPath: string): Repo {
    const cfgPath = path.join(repoPath, 'config');
    let text: string;
    try {
      text = fs.readFileSync(cfgPath, 'utf8');
    } catch {
      throw new ArborError('NotFound', `${repoPath}: not an OSTree repository (no config file)`);
    }
    let kf: KeyFile;
    try {
      kf = KeyFile.parse(text, cfgPath);
    } catch (e) {
      throw new ArborError('Corrupted', (e as Error).message);
    }
    const version = kf.get('core', 'repo_version');
    if (version !== '1') throw new ArborError('Unsupported', `${cfgPath}: repo_version '${version}' is not supported (only 1)`);
    let mode = kf.get('core', 'mode') ?? 'bare';
    if (mode === 'archive-z2') mode = 'archive';
    if (!MODES.includes(mode as RepoMode)) throw new ArborError('Unsupported', `${cfgPath}: unknown mode '${mode}'`);
    return new Repo(path.resolve(repoPath), mode as RepoMode, kf);
  }

  saveConfig(): void {
    writeFileAtomic(path.join(this.path, 'config'), this.config.toString());
  }

  /** Whether writes are flushed to disk (core.fsync, default true). */
  get durable(): boolean {
    return this.config.getBoolean('core', 'fsync', true);
  }

  // --- objects ----------------------------------------------------------------

  objectPath(type: ObjectType, csum: Checksum): string {
    return `${this.objectsDir}/${this.objectRelPath(type, csum)}`;
  }

  /** The object's path below objects/: `ab/cdef….ext`. */
  objectRelPath(type: ObjectType, csum: Checksum): string {
    return `${csum.slice(0, 2)}/${csum.slice(2)}.${objectExtension(type, this.isArchive)}`;
  }

  hasObject(type: ObjectType, csum: Checksum): boolean {
    // lstat, not access(): a bare repo's symlink objects may dangle. No exception for a
    // miss: building one costs more than the syscall, and a commit asks 50,000 times.
    return fs.lstatSync(this.objectPath(type, csum), { throwIfNoEntry: false }) !== undefined;
  }

  /** Raw bytes of a metadata object; with verify, its name is checked against its sha256. */
  readMetadata(type: ObjectType, csum: Checksum, verify = false): Buffer {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.objectPath(type, csum));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ArborError('NotFound', `${type} object ${csum} is not in ${this.path}`);
      throw e;
    }
    if (verify && sha256(bytes) !== csum) {
      throw new ArborError('Corrupted', `${type} object ${csum}: checksum mismatch (content hashes to ${sha256(bytes)})`);
    }
    return bytes;
  }

  loadCommit(csum: Checksum): CommitObject {
    return decodeCommit(this.readMetadata('commit', csum), `commit ${csum}`);
  }

  loadDirTree(csum: Checksum): DirTreeObject {
    return decodeDirTree(this.readMetadata('dirtree', csum), `dirtree ${csum}`);
  }

  loadDirMeta(csum: Checksum): DirMetaObject {
    return decodeDirMeta(this.readMetadata('dirmeta', csum), `dirmeta ${csum}`);
  }

  /** Detached metadata (signatures), or null when the commit has none. */
  loadCommitMeta(csum: Checksum): Metadata | null {
    const p = this.objectPath('commitmeta', csum);
    if (!fs.existsSync(p)) return null;
    return decodeCommitMeta(fs.readFileSync(p), `commitmeta ${csum}`);
  }

  isCommitPartial(csum: Checksum): boolean {
    return fs.existsSync(this.commitPartialPath(csum));
  }

  /** The marker of a commit whose tree is not all here yet (an interrupted pull). */
  commitPartialPath(csum: Checksum): string {
    return `${this.path}/state/${csum}.commitpartial`;
  }

  /** A content object with its metadata, whatever the repo mode. */
  async loadFile(csum: Checksum): Promise<StoredFile> {
    const p = this.objectPath('file', csum);
    const where = `file object ${csum}`;
    try {
      switch (this.mode) {
        case 'archive': {
          const raw = fs.readFileSync(p);
          const { header, size, dataOffset } = decodeArchiveHeader(raw, where);
          if (isSymlinkMode(header.mode)) return { header, content: null };
          let content: Buffer;
          try {
            content = await inflateRaw(raw.subarray(dataOffset), Math.max(size, 1));
          } catch (e) {
            throw new ArborError('Corrupted', `${where}: compressed data is damaged (${(e as Error).message})`);
          }
          if (content.length !== size) throw new ArborError('Corrupted', `${where}: ${content.length} bytes where the header says ${size}`);
          return { header, content };
        }
        case 'bare-user': {
          const meta = native.getxattr(p, 'user.ostreemeta');
          if (!meta) throw new ArborError('Corrupted', `${where}: missing user.ostreemeta xattr`);
          const m = decodeBareUserMeta(meta, where);
          const data = fs.readFileSync(p);
          if (isSymlinkMode(m.mode)) {
            if (data.length < 2 || data[data.length - 1] !== 0) throw new ArborError('Corrupted', `${where}: symlink target is not NUL-terminated`);
            return { header: { ...m, symlinkTarget: data.toString('utf8', 0, data.length - 1) }, content: null };
          }
          return { header: { ...m, symlinkTarget: '' }, content: data };
        }
        default: {
          const st = fs.lstatSync(p);
          const xattrs = readXattrs(p);
          if (st.isSymbolicLink()) {
            return { header: { uid: st.uid, gid: st.gid, mode: S_IFLNK | 0o777, symlinkTarget: fs.readlinkSync(p, 'utf8'), xattrs }, content: null };
          }
          return { header: { uid: st.uid, gid: st.gid, mode: st.mode, symlinkTarget: '', xattrs }, content: fs.readFileSync(p) };
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ArborError('NotFound', `${where} is not in ${this.path}`);
      throw e;
    }
  }

  /** Every object in the store, by walking objects/. */
  listObjects(): Array<{ type: ObjectType; csum: Checksum }> {
    const out: Array<{ type: ObjectType; csum: Checksum }> = [];
    let dirs: string[];
    try {
      dirs = fs.readdirSync(this.objectsDir);
    } catch {
      return out;
    }
    for (const d of dirs) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const f of fs.readdirSync(`${this.objectsDir}/${d}`)) {
        const dot = f.indexOf('.');
        const csum = d + f.slice(0, dot);
        const ext = f.slice(dot + 1);
        if (!isChecksum(csum)) continue;
        const type = EXT_TO_TYPE[ext];
        if (type) out.push({ type, csum });
      }
    }
    return out;
  }

  // --- refs -------------------------------------------------------------------

  private refPath(r: Refspec): string {
    return r.remote ? `${this.path}/refs/remotes/${r.remote}/${r.ref}` : `${this.path}/refs/heads/${r.ref}`;
  }

  /** The commit a ref points at, or null. */
  readRef(spec: string | Refspec): Checksum | null {
    const r = typeof spec === 'string' ? parseRefspec(spec) : spec;
    let text: string;
    try {
      text = fs.readFileSync(this.refPath(r), 'utf8').trim();
    } catch {
      return null;
    }
    if (!isChecksum(text)) throw new ArborError('Corrupted', `ref ${formatRefspec(r)}: file does not hold a checksum`);
    return text;
  }

  /** Points a ref at a commit (write-temp, fsync, rename), or deletes it with null. */
  setRef(spec: string | Refspec, csum: Checksum | null): void {
    const r = typeof spec === 'string' ? parseRefspec(spec) : spec;
    const p = this.refPath(r);
    if (csum === null) {
      fs.rmSync(p, { force: true });
      return;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) {
      throw new ArborError('Exists', `ref ${formatRefspec(r)}: a ref directory of that name exists`);
    }
    writeFileAtomic(p, csum + '\n', { durable: this.durable });
  }

  /** Refs as refspec → checksum: local ones by name, remote ones as remote:ref. */
  listRefs(opts: { remote?: string | null } = {}): Map<string, Checksum> {
    const out = new Map<string, Checksum>();
    const walk = (dir: string, prefix: string, remote: string | null): void => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const name = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.isDirectory()) walk(`${dir}/${e.name}`, name, remote);
        else {
          const c = fs.readFileSync(`${dir}/${e.name}`, 'utf8').trim();
          if (isChecksum(c)) out.set(remote ? `${remote}:${name}` : name, c);
        }
      }
    };
    if (opts.remote === undefined || opts.remote === null) walk(`${this.path}/refs/heads`, '', null);
    if (opts.remote !== null) {
      const remotesDir = `${this.path}/refs/remotes`;
      const remotes = opts.remote ? [opts.remote] : safeReaddir(remotesDir);
      for (const r of remotes) walk(`${remotesDir}/${r}`, '', r);
    }
    return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }

  /**
   * Resolves what a user typed: a full checksum, a ref or remote:ref, a unique
   * checksum prefix, each optionally followed by ^ (parent) any number of times.
   */
  resolveRev(rev: string): Checksum {
    const m = /^(.*?)(\^*)$/.exec(rev)!;
    let csum = this.resolveBase(m[1], rev);
    for (let i = 0; i < m[2].length; i++) {
      const parent = this.loadCommit(csum).parent;
      if (!parent) throw new ArborError('NotFound', `'${rev}': commit ${csum} has no parent`);
      csum = parent;
    }
    return csum;
  }

  private resolveBase(base: string, rev: string): Checksum {
    if (isChecksum(base)) return base;
    let spec: Refspec | null = null;
    try {
      spec = parseRefspec(base);
    } catch { /* not a ref name; maybe a checksum prefix */ }
    if (spec) {
      const c = this.readRef(spec);
      if (c) return c;
    }
    if (/^[0-9a-f]{4,63}$/.test(base)) {
      const d = `${this.objectsDir}/${base.slice(0, 2)}`;
      const hits = safeReaddir(d).filter((f) => f.endsWith('.commit') && (base.slice(0, 2) + f).startsWith(base));
      if (hits.length === 1) return (base.slice(0, 2) + hits[0].slice(0, -'.commit'.length)) as Checksum;
      if (hits.length > 1) throw new ArborError('InvalidArgument', `'${rev}': ambiguous checksum prefix (${hits.length} commits match)`);
    }
    const known = [...this.listRefs().keys()].slice(0, 10);
    throw new ArborError('NotFound', `'${rev}' is neither a ref nor a commit in ${this.path}; known refs: ${known.join(', ') || '(none)'}`);
  }

  // --- locking ------------------------------------------------------------------

  /** Takes the repo lock (shared for writers of new objects, exclusive for prune). */
  lock(exclusive: boolean): () => void {
    const fd = fs.openSync(`${this.path}/.lock`, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    // Blocks while another process holds a conflicting lock (prune against writers).
    native.flock(fd, exclusive, true);
    return () => {
      native.funlock(fd);
      fs.closeSync(fd);
    };
  }
}

const EXT_TO_TYPE: Record<string, ObjectType> = {
  file: 'file', filez: 'file', dirtree: 'dirtree', dirmeta: 'dirmeta', commit: 'commit', commitmeta: 'commitmeta', 'commit-tombstone': 'tombstone-commit',
};

/** The names in a directory; none when it is missing or unreadable. */
export function safeReaddir(d: string): string[] {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
}

/** All xattrs of a path (not following symlinks), in OSTree's canonical order. */
export function readXattrs(p: string | number): Xattrs {
  return canonicalXattrs(native.listxattrs(p));
}
