// Loads Arbor's small native addon (native/arbor_native.c): xattrs, syncfs, flock
// and inode flags, which Node's fs module does not offer.
import path from 'node:path';

export interface Native {
  /** The attribute's value, or null when it is absent. Paths never follow symlinks. */
  getxattr(target: string | number, name: string): Buffer | null;
  listxattrs(target: string | number): Array<[string, Buffer]>;
  setxattr(target: string | number, name: string, value: Uint8Array): void;
  removexattr(target: string | number, name: string): void;
  /** syncfs() of the filesystem holding the directory, on the thread pool. */
  syncfsPath(dir: string): Promise<void>;
  /** false when wait is false and another process holds a conflicting lock. */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  funlock(fd: number): void;
  /**
   * Hardlinks objects (paths relative to objectsDir) into destDir under the given names,
   * one directory per call, on the thread pool unless `inline`. names0 and objects0 are `count` parts,
   * each ended by a NUL. Per entry: 0 linked, 1 empty object (copy it), 2 bare-user
   * symlink object (recreate it), 3 bare-user symlink or empty file made in user mode
   * (copied), or -errno.
   */
  linkObjects(objectsDir: string, destDir: string, names0: string, objects0: string, count: number, bareUser: boolean, inline: boolean): Promise<Int32Array>;
  /** st_size of the path itself (symlinks not followed), -1 when it does not exist. */
  lsize(path: string): number;
  getInodeFlags(fd: number): number;
  setInodeFlags(fd: number, flags: number): void;
}

// dist/src/common/native.js and src/common/native.ts both sit three levels below the root.
const root = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const native: Native = require(path.join(root, 'build/Release/arbor_native.node'));

export const FS_IMMUTABLE_FL = 0x10;
