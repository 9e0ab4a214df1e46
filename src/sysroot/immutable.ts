// Sealing deployment roots with the immutable inode flag (chattr +i), as libostree
// does, so nothing renames or deletes the top of a deployed tree by accident.
// OSTREE_SYSROOT_DEBUG=mutable-deployments turns sealing off.
import fs from 'node:fs';
import { FS_IMMUTABLE_FL, native } from '../common/native';

export function sealingDisabled(): boolean {
  return (process.env.OSTREE_SYSROOT_DEBUG ?? '').split(',').includes('mutable-deployments');
}

/** Sets or clears +i on a directory; filesystems without inode flags are left alone. */
export function setImmutable(dir: string, immutable: boolean): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if (!immutable && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    const flags = native.getInodeFlags(fd);
    const next = immutable ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
    if (next !== flags) native.setInodeFlags(fd, next);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTTY' && code !== 'EOPNOTSUPP' && code !== 'ENOTSUP' && code !== 'EINVAL') throw e;
  } finally {
    fs.closeSync(fd);
  }
}

export function isImmutable(dir: string): boolean {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    return (native.getInodeFlags(fd) & FS_IMMUTABLE_FL) !== 0;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes a tree that may contain a sealed deployment root. */
export function removeTree(p: string): void {
  try {
    if (fs.lstatSync(p).isDirectory()) setImmutable(p, false);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  fs.rmSync(p, { recursive: true, force: true });
}
