// Finding a deployment's kernel (usr/lib/modules/<kver>/vmlinuz and its
// initramfs) and the boot checksum that names its copy under /boot:
// sha256(vmlinuz ‖ initramfs), as libostree computes it.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { ArborError } from '../common/errors';

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
