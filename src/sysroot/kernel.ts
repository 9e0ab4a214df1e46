// Finding a deployment's kernel (usr/lib/modules/<kver>/vmlinuz and its
// initramfs) and the boot checksum that names its copy under /boot:
// sha256(vmlinuz ‖ initramfs), as libostree computes it.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { ArborError } from '../common/errors';
import { native } from '../common/native';
import { Checksum } from '../ostree/checksum';
import { bareUserMetaMode, isSymlinkMode } from '../ostree/objects';
import { Repo } from '../ostree/repo';
import { TreeEntry, listDir, lookupPath } from '../ostree/tree';

export interface KernelLayout {
  kver: string;
  /** Paths relative to the deployment root. */
  kernel: string;
  initramfs: string | null;
  /** usr/lib/modules/<kver>/.vmlinuz.hmac (FIPS), copied beside the kernel. */
  hmac: string | null;
  /** '' when not asked for. */
  bootcsum: string;
}

export function findKernel(deployDir: string, opts: { checksum?: boolean } = {}): KernelLayout {
  const modules = `${deployDir}/usr/lib/modules`;
  let kvers: string[] = [];
  try {
    kvers = fs.readdirSync(modules).sort();
  } catch { /* no modules directory */ }
  for (const kver of kvers) {
    const base = `usr/lib/modules/${kver}`;
    if (!isFile(`${deployDir}/${base}/vmlinuz`)) continue;
    const initramfs = isFile(`${deployDir}/${base}/initramfs.img`) ? `${base}/initramfs.img` : null;
    const hmac = isFile(`${deployDir}/${base}/.vmlinuz.hmac`) ? `${base}/.vmlinuz.hmac` : null;
    let bootcsum = '';
    if (opts.checksum ?? true) {
      const h = createHash('sha256');
      h.update(fs.readFileSync(`${deployDir}/${base}/vmlinuz`));
      if (initramfs) h.update(fs.readFileSync(`${deployDir}/${initramfs}`));
      bootcsum = h.digest('hex');
    }
    return { kver, kernel: `${base}/vmlinuz`, initramfs, hmac, bootcsum };
  }
  throw new ArborError('NotFound', `${deployDir}: no kernel found (expected usr/lib/modules/KVER/vmlinuz)`);
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export interface EarlyBootChecksum { kernel: string; initramfs: string | null; bootcsum: string }

/**
 * The boot checksum of a commit computed from its objects in the repo, read on the
 * thread pool while the deployment is checked out. The
 * caller compares the kernel it names with findKernel()'s on the checkout. null when
 * the objects are not the plain files (archive repos), the kernel is a symlink, or
 * the commit has none: findKernel() then does the work after the checkout.
 */
export async function earlyBootChecksum(repo: Repo, commit: Checksum): Promise<EarlyBootChecksum | null> {
  if (repo.mode === 'archive') return null;
  let modules: TreeEntry;
  try {
    modules = lookupPath(repo, commit, 'usr/lib/modules');
  } catch {
    return null;
  }
  if (modules.kind !== 'dir') return null;
  const kvers = listDir(repo, modules).filter((e): e is TreeEntry & { kind: 'dir' } => e.kind === 'dir').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const kver of kvers) {
    const entries = listDir(repo, kver);
    const file = (name: string): string | null | undefined => {
      const e = entries.find((x) => x.name === name);
      if (!e) return undefined;
      if (e.kind !== 'file') return null;
      const p = repo.objectPath('file', e.checksum);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st?.isFile()) return null; // a bare repo's symlink object
      if (repo.mode !== 'bare') {
        const meta = native.getxattr(p, 'user.ostreemeta');
        if (!meta || isSymlinkMode(bareUserMetaMode(meta, `file object ${e.checksum}`))) return null;
      }
      return p;
    };
    const kernel = file('vmlinuz');
    if (kernel === undefined) continue;
    const initramfs = file('initramfs.img');
    if (kernel === null || initramfs === null) return null;
    const parts = await Promise.all([fs.promises.readFile(kernel), ...(initramfs ? [fs.promises.readFile(initramfs)] : [])]);
    const h = createHash('sha256');
    for (const part of parts) h.update(part);
    const base = `usr/lib/modules/${kver.name}`;
    return { kernel: `${base}/vmlinuz`, initramfs: initramfs ? `${base}/initramfs.img` : null, bootcsum: h.digest('hex') };
  }
  return null;
}
