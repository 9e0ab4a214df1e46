// Writing objects. Everything goes to a private staging directory under tmp/; on
// commit() the staged data is flushed with one syncfs (as libostree does), renamed
// into objects/, and flushed again, so a crash at any moment leaves only whole
// objects in the store and never a ref to a missing one.
import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { native } from '../common/native';
import { deflateRaw } from '../common/compression';
import { Checksum } from './checksum';
import {
  FileHeader, ObjectType, contentChecksum, encodeArchiveHeader, encodeBareUserMeta, isSymlinkMode, sha256,
} from './objects';
import { Repo, RepoMode, safeReaddir } from './repo';

export interface TransactionStats {
  metadataWritten: number;
  contentWritten: number;
  contentBytesWritten: number;
}

export class Transaction {
  readonly stageDir: string;
  private staged = new Map<string, string>(); // final object path -> staged path
  private pending = new Map<Checksum, Promise<Checksum>>();
  private createdDirs = new Set<string>();
  private stagingDirs = new Set<string>();
  private done = false;
  readonly stats: TransactionStats = { metadataWritten: 0, contentWritten: 0, contentBytesWritten: 0 };
  private readonly unlock: () => void;

  constructor(readonly repo: Repo) {
    this.unlock = repo.lock(false);
    removeStaleStagingDirs(repo);
    this.stageDir = `${repo.path}/tmp/staging-${bootId()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    fs.mkdirSync(this.stageDir, { recursive: true, mode: 0o700 });
  }

  has(type: ObjectType, csum: Checksum): boolean {
    return this.staged.has(this.repo.objectPath(type, csum)) || this.repo.hasObject(type, csum);
  }

  /** Stores a metadata object (commit, dirtree, dirmeta); returns its checksum. */
  writeMetadata(type: ObjectType, bytes: Uint8Array, knownChecksum?: Checksum): Checksum {
    const csum = knownChecksum ?? sha256(bytes);
    if (this.has(type, csum)) return csum;
    const tmp = this.stagingPath(csum, type);
    fs.writeFileSync(tmp, bytes, { mode: 0o644 });
    this.staged.set(this.repo.objectPath(type, csum), tmp);
    this.stats.metadataWritten++;
    return csum;
  }

  /** Stores detached metadata for a commit (not content-addressed; replaces any). */
  writeCommitMeta(commit: Checksum, bytes: Uint8Array): void {
    const tmp = this.stagingPath(commit, 'commitmeta');
    fs.writeFileSync(tmp, bytes, { mode: 0o644 });
    this.staged.set(this.repo.objectPath('commitmeta', commit), tmp);
  }

  /** Stores a content object; content is null for symlinks. Returns its checksum. */
  writeContent(header: FileHeader, content: Buffer | null, knownChecksum?: Checksum): Promise<Checksum> {
    const csum = knownChecksum ?? contentChecksum(header, content);
    if (this.has('file', csum)) return Promise.resolve(csum);
    let p = this.pending.get(csum);
    if (!p) {
      p = this.stageContent(csum, header, content).then(() => csum);
      this.pending.set(csum, p);
    }
    return p;
  }

  /**
   * Where an object is staged: under a subdirectory per checksum prefix, as libostree
   * does, because creating files takes the directory's lock and threads staging at once
   * would queue on a single directory.
   */
  private stagingPath(csum: Checksum, ext: string): string {
    const dir = `${this.stageDir}/${csum.slice(0, 2)}`;
    if (!this.stagingDirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.stagingDirs.add(dir);
    }
    return `${dir}/${csum.slice(2)}.${ext}`;
  }

  /** Where a content object is staged (its directory exists): pull's workers write there, then hand it over with adoptStagedContent(). */
  contentStagingPath(csum: Checksum): string {
    return this.stagingPath(csum, 'file');
  }

  /**
   * Registers a content object another thread wrote (verified) at contentStagingPath(csum).
   * It becomes visible like any other: at commit(), after syncfs, by rename.
   */
  adoptStagedContent(csum: Checksum, bytesWritten: number): void {
    if (this.done) throw new Error('transaction already finished');
    const final = this.repo.objectPath('file', csum);
    if (this.staged.has(final)) return;
    this.staged.set(final, this.contentStagingPath(csum));
    this.stats.contentWritten++;
    this.stats.contentBytesWritten += bytesWritten;
  }

  private async stageContent(csum: Checksum, h: FileHeader, content: Buffer | null): Promise<void> {
    const tmp = this.contentStagingPath(csum);
    this.stats.contentBytesWritten += await writeContentFile(this.repo.mode, tmp, h, content);
    this.staged.set(this.repo.objectPath('file', csum), tmp);
    this.stats.contentWritten++;
  }

  /** Makes every staged object durable and visible. */
  async commit(): Promise<void> {
    if (this.done) throw new Error('transaction already finished');
    await Promise.all(this.pending.values());
    const durable = this.repo.durable;
    // On the thread pool: a pull's checkpoint must not stop its fetching.
    if (durable) await native.syncfsPath(this.stageDir);
    for (const [final, tmp] of this.staged) {
      const dir = final.slice(0, final.lastIndexOf('/'));
      if (!this.createdDirs.has(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        this.createdDirs.add(dir);
      }
      fs.renameSync(tmp, final);
    }
    if (durable && this.staged.size) await native.syncfsPath(this.repo.objectsDir);
    this.finish();
  }

  abort(): void {
    if (!this.done) this.finish();
  }

  private finish(): void {
    this.done = true;
    fs.rmSync(this.stageDir, { recursive: true, force: true });
    this.unlock();
  }
}

/**
 * Writes a content object in the repo mode's on-disk form to `tmp` (which must not
 * exist); returns the bytes written. Exported for pull's worker threads.
 *
 * Synchronous syscalls: on a warm page cache each takes microseconds, and the promise
 * API's per-file handles cost more than the I/O. Only compression, which is CPU work,
 * goes to the thread pool.
 */
export async function writeContentFile(mode: RepoMode, tmp: string, h: FileHeader, content: Buffer | null): Promise<number> {
  const symlink = isSymlinkMode(h.mode);
  switch (mode) {
    case 'archive': {
      const hdr = encodeArchiveHeader(h, symlink ? 0 : content!.length);
      const body = symlink ? null : await deflateRaw(content!, 6);
      writeNew(tmp, 0o644, (fd) => {
        fs.writeSync(fd, hdr);
        if (body) fs.writeSync(fd, body);
      });
      return hdr.length + (body?.length ?? 0);
    }
    case 'bare-user': {
      const data = symlink ? Buffer.from(h.symlinkTarget + '\0', 'utf8') : content!;
      writeNew(tmp, symlink ? 0o644 : (h.mode & 0o775) | 0o400, (fd) => {
        writeAll(fd, data);
        native.setxattr(fd, 'user.ostreemeta', encodeBareUserMeta(h));
      });
      return data.length;
    }
    default: {
      // bare: the object is the file itself, with real ownership and xattrs.
      if (symlink) {
        fs.symlinkSync(h.symlinkTarget, tmp);
        fs.lchownSync(tmp, h.uid, h.gid);
        for (const [n, v] of h.xattrs) native.setxattr(tmp, n, v);
        fs.lutimesSync(tmp, 0, 0);
      } else {
        writeNew(tmp, h.mode & 0o7777, (fd) => {
          writeAll(fd, content!);
          fs.fchownSync(fd, h.uid, h.gid);
          for (const [n, v] of h.xattrs) native.setxattr(fd, n, v);
        });
      }
      return content?.length ?? 0;
    }
  }
}

/** Creates `p` exclusively, lets `fill` write it, then sets its mode and a zero mtime. */
function writeNew(p: string, mode: number, fill: (fd: number) => void): void {
  const fd = fs.openSync(p, 'wx', 0o600);
  try {
    fill(fd);
    fs.fchmodSync(fd, mode);
    // OSTree objects carry mtime 0, so checkouts are reproducible.
    fs.futimesSync(fd, 0, 0);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}

let cachedBootId: string | null = null;
function bootId(): string {
  if (cachedBootId === null) {
    try {
      cachedBootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');
    } catch {
      cachedBootId = os.hostname();
    }
  }
  return cachedBootId;
}

/** Staging directories of dead writers (killed, or from an earlier boot) are garbage. */
function removeStaleStagingDirs(repo: Repo): void {
  const tmp = `${repo.path}/tmp`;
  for (const n of safeReaddir(tmp)) {
    const m = /^staging-([0-9a-zA-Z.-]+?)-(\d+)-[0-9a-f]+$/.exec(n);
    if (!m) continue;
    const alive = m[1] === bootId() && processAlive(Number(m[2]));
    if (!alive) fs.rmSync(`${tmp}/${n}`, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
