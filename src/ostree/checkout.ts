// `checkout`: materialise a commit's tree in a directory. From bare repos (and
// bare-user in user mode) files are hardlinks to the objects, zero-size files are
// copied (as ostree does, to avoid piling links on one inode); otherwise content
// is copied out. Dirtree names are validated when parsed and every directory is
// created or verified here, so nothing is ever written outside the target.
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { ArborError, throwIfAborted, toArborError } from '../common/errors';
import { WorkOptions, limiter } from '../common/progress';
import { native } from '../common/native';
import { Checksum } from './checksum';
import { DirTreeObject, bareUserMetaMode, isSymlinkMode } from './objects';
import { Repo } from './repo';
import { TreeEntry, joinTreePath, lookupPath } from './tree';

export interface CheckoutOptions extends WorkOptions {
  /** 'user' (ostree -U): no ownership or xattrs, setuid/setgid bits dropped. */
  mode?: 'none' | 'user';
  /** Write into an existing directory, replacing files that are in the way. */
  union?: boolean;
  /** Only this path of the commit. */
  subpath?: string;
  /** Fail instead of copying when hardlinks are impossible (ostree -H). */
  requireHardlinks?: boolean;
  /** Always copy (ostree -C). */
  forceCopy?: boolean;
}

export interface CheckoutStats { files: number; hardlinked: number; copied: number; dirs: number }

export async function checkout(repo: Repo, commit: Checksum, dest: string, opts: CheckoutOptions = {}): Promise<CheckoutStats> {
  const c = new Checkout(repo, opts);
  const start = lookupPath(repo, commit, opts.subpath ?? '/');
  const target = path.resolve(dest);
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (start.kind === 'file') await c.file(start.checksum, target);
    else await c.dir(start, target, true);
  } catch (e) {
    throw toArborError(e, `checkout of ${commit} to ${dest}`);
  }
  return c.stats;
}

class Checkout {
  readonly stats: CheckoutStats = { files: 0, hardlinked: 0, copied: 0, dirs: 0 };
  private readonly user: boolean;
  private hardlinks: boolean;
  private limit = limiter(16);

  constructor(private repo: Repo, private opts: CheckoutOptions) {
    this.user = opts.mode === 'user';
    const compatible = (repo.mode === 'bare' && !this.user) || ((repo.mode === 'bare-user' || repo.mode === 'bare-user-only') && this.user);
    this.hardlinks = compatible && !opts.forceCopy;
    if (opts.requireHardlinks && !this.hardlinks) {
      throw new ArborError('InvalidArgument', `hardlink checkout needs a bare repo, or a bare-user repo with user mode (this repo is ${repo.mode})`);
    }
  }

  async dir(entry: TreeEntry & { kind: 'dir' }, target: string, isRoot = false): Promise<void> {
    throwIfAborted(this.opts.signal);
    const meta = this.repo.loadDirMeta(entry.meta);
    this.makeDir(target, isRoot);
    this.stats.dirs++;
    // Hardlinks are made a directory per native call, on the thread pool: several
    // directories link at once while this thread walks on. Copies and subdirectories
    // proceed concurrently.
    const tree = this.repo.loadDirTree(entry.tree);
    const work: Array<Promise<unknown>> = [
      this.linkFiles(tree.files, target).then((copies) =>
        Promise.all(copies.map(([name, csum]) => this.limit(() => this.copyCounted(csum, `${target}/${name}`))))),
    ];
    for (const [name, t, m] of tree.dirs) {
      work.push(this.dir({ kind: 'dir', path: joinTreePath(entry.path, name), name, tree: t, meta: m }, `${target}/${name}`));
    }
    await Promise.all(work);
    if (!this.user) {
      fs.chownSync(target, meta.uid, meta.gid);
      for (const [n, v] of meta.xattrs) native.setxattr(target, n, v);
    }
    fs.chmodSync(target, meta.mode & (this.user ? 0o1777 : 0o7777));
  }

  /** Creates a directory, or in union mode accepts a real directory that is there. */
  private makeDir(target: string, isRoot: boolean): void {
    try {
      fs.mkdirSync(target, { mode: 0o700 });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = fs.lstatSync(target);
    if (!this.opts.union) throw new ArborError('Exists', `${target} already exists (use union mode to write into it)`);
    if (st.isDirectory()) return;
    if (isRoot) throw new ArborError('Exists', `${target} exists and is not a directory`);
    // A file or symlink where the tree has a directory: replace it, never follow it.
    fs.unlinkSync(target);
    fs.mkdirSync(target, { mode: 0o700 });
  }

  /** Hardlinks what it can of one directory's files; returns those to copy instead. */
  private async linkFiles(files: DirTreeObject['files'], target: string): Promise<DirTreeObject['files']> {
    if (!this.hardlinks || files.length === 0) return files;
    throwIfAborted(this.opts.signal);
    let names = '';
    let objects = '';
    for (const [n, c] of files) {
      names += `${n}\0`;
      objects += `${this.repo.objectRelPath('file', c)}\0`;
    }
    // Small directories inline: the thread-pool round trip costs more than their links.
    const status = await native.linkObjects(this.repo.objectsDir, target, names, objects, files.length, this.repo.mode === 'bare-user', files.length < 16);
    const copies: DirTreeObject['files'] = [];
    files.forEach(([name, csum], i) => {
      const r = status[i];
      if (r === 0 || r === 3) {
        this.stats.files++;
        if (r === 0) this.stats.hardlinked++;
        else this.stats.copied++;
        return;
      }
      if (r === 1 || r === 2) return void copies.push([name, csum]);
      const code = util.getSystemErrorName(r);
      // Anything unusual goes through the one-file path, which handles union mode,
      // filesystem boundaries and link limits, and reports errors with their paths.
      if (code === 'EEXIST' || code === 'EXDEV' || code === 'EMLINK') {
        if (!this.tryLink(csum, `${target}/${name}`)) copies.push([name, csum]);
        return;
      }
      if (code === 'ENOENT') throw new ArborError('NotFound', `file object ${csum} ('${name}') is not in ${this.repo.path}`);
      throw new ArborError('Io', `hardlinking file object ${csum} to ${target}/${name}: ${code}`);
    });
    return copies;
  }

  async file(csum: Checksum, target: string): Promise<void> {
    if (!this.tryLink(csum, target)) await this.copyCounted(csum, target);
  }

  /** Hardlinks the object when the repo mode allows it; false means copy instead. */
  private tryLink(csum: Checksum, target: string): boolean {
    throwIfAborted(this.opts.signal);
    if (!this.hardlinks) return false;
    const obj = this.repo.objectPath('file', csum);
    // Zero-size files are copied; bare-user keeps symlinks as regular files, which must
    // be recreated. (A bare repo's symlink objects are real symlinks: size > 0.)
    const size = native.lsize(obj);
    if (size < 0) throw new ArborError('NotFound', `file object ${csum} is not in ${this.repo.path}`);
    if (size === 0 || (this.repo.mode === 'bare-user' && this.storedAsSymlink(obj, csum))) return false;
    try {
      this.linkInto(obj, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'EXDEV' && code !== 'EMLINK') || this.opts.requireHardlinks) throw e;
      if (code === 'EXDEV') this.hardlinks = false;
      return false;
    }
    this.stats.files++;
    this.stats.hardlinked++;
    return true;
  }

  private async copyCounted(csum: Checksum, target: string): Promise<void> {
    throwIfAborted(this.opts.signal);
    await this.copy(csum, target);
    this.stats.files++;
    this.stats.copied++;
  }

  private storedAsSymlink(obj: string, csum: Checksum): boolean {
    const meta = native.getxattr(obj, 'user.ostreemeta');
    if (!meta) throw new ArborError('Corrupted', `file object ${csum}: missing user.ostreemeta xattr`);
    return isSymlinkMode(bareUserMetaMode(meta, `file object ${csum}`));
  }

  private linkInto(obj: string, target: string): void {
    try {
      fs.linkSync(obj, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !this.opts.union) throw e;
      this.removeForUnion(target);
      fs.linkSync(obj, target);
    }
  }

  private removeForUnion(target: string): void {
    if (fs.lstatSync(target).isDirectory()) throw new ArborError('Exists', `${target} is a directory where the tree has a file`);
    fs.unlinkSync(target);
  }

  private async copy(csum: Checksum, target: string): Promise<void> {
    const { header, content } = await this.repo.loadFile(csum);
    if (isSymlinkMode(header.mode)) {
      try {
        fs.symlinkSync(header.symlinkTarget, target);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !this.opts.union) throw e;
        this.removeForUnion(target);
        fs.symlinkSync(header.symlinkTarget, target);
      }
      if (!this.user) {
        fs.lchownSync(target, header.uid, header.gid);
        for (const [n, v] of header.xattrs) native.setxattr(target, n, v);
      }
      return;
    }
    // Synchronous syscalls: a FileHandle per file costs more than the I/O (see transaction.ts).
    let fd: number;
    try {
      fd = fs.openSync(target, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !this.opts.union) throw e;
      this.removeForUnion(target);
      fd = fs.openSync(target, 'wx', 0o600);
    }
    try {
      fs.writeFileSync(fd, content!);
      if (!this.user) {
        fs.fchownSync(fd, header.uid, header.gid);
        for (const [n, v] of header.xattrs) native.setxattr(fd, n, v);
      }
      fs.fchmodSync(fd, header.mode & (this.user ? 0o1777 : 0o7777));
    } finally {
      fs.closeSync(fd);
    }
  }
}
