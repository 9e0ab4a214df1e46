// Durable file replacement: write a temporary file beside the target, fsync it,
// rename it over the target, fsync the directory. Readers see the old or the new
// contents, never a mix, even across a power cut.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AtomicWriteOptions {
  mode?: number;
  /** false skips fsync for data that is cheap to regenerate. */
  durable?: boolean;
}

export function tmpNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeFileAtomic(target: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const tmp = tmpNameFor(target);
  const durable = opts.durable ?? true;
  const fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o644);
  try {
    fs.writeFileSync(fd, data);
    if (opts.mode !== undefined) fs.fchmodSync(fd, opts.mode);
    if (durable) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, target);
  } catch (err) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (durable) fsyncDir(path.dirname(target));
}
