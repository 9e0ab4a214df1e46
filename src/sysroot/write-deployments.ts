// Writing a new list of deployments to /boot: kernels into boot/ostree, BLS
// entries into the other loader.N, bootlinks ostree/boot.N.M, then the atomic
// `boot/loader` symlink swap after syncfs. When nothing boot-relevant changed,
// only the sub-bootversion link ostree/boot.N flips. A power cut at any point
// leaves either the old or the new list bootable (libostree's
// _ostree_sysroot_write_deployments_internal, without the fs freeze).
import fs from 'node:fs';
import { ArborError, throwIfAborted, toArborError } from '../common/errors';
import { fsyncDir } from '../common/atomic-write';
import { native } from '../common/native';
import { WorkOptions } from '../common/progress';
import { BootEntry } from './boot-entry';
import { cleanup } from './cleanup';
import { Deployment, deploymentId, sameDeployment } from './deployment';
import { KernelArgs, userKargs } from './kargs';
import { findKernel } from './kernel';
import { readOsRelease } from './os-release';
import { Sysroot } from './sysroot';

export interface WriteDeploymentsOptions extends WorkOptions {
  /** Run cleanup (and prune the repo) afterwards; default true. */
  cleanup?: boolean;
}

export interface WriteResult {
  sysroot: Sysroot;
  /** false when only the sub-bootversion flipped. */
  bootconfigSwapped: boolean;
  bootversion: number;
  subbootversion: number;
}

export async function writeDeployments(sysroot: Sysroot, list: Deployment[], opts: WriteDeploymentsOptions = {}): Promise<WriteResult> {
  throwIfAborted(opts.signal);
  const keepStaged = !!sysroot.staged && list.some((d) => d.staged && sameDeployment(d, sysroot.staged));
  const next = list.filter((d) => !d.staged).map((d, i) => ({ ...d, index: i }));
  if (sysroot.booted && !next.some((d) => sameDeployment(d, sysroot.booted))) {
    throw new ArborError('InvalidArgument', `the booted deployment ${deploymentId(sysroot.booted)} must stay in the list`);
  }
  assignBootserials(next);
  const old = sysroot.bootDeployments;
  const sameConfig = old.length === next.length && next.every((d, i) => bootconfigsEqual(sysroot, old[i], d));
  let bv = sysroot.bootversion;
  let sub: number;
  try {
    if (sameConfig) {
      sub = 1 - sysroot.subbootversion;
      createBootlinks(sysroot, bv, sub, next);
      await native.syncfsPath(sysroot.path);
      swapBootlinks(sysroot, bv, sub);
    } else {
      bv = 1 - sysroot.bootversion;
      sub = 1 - readSubbootversion(sysroot, bv);
      const entriesDir = `${sysroot.path}/boot/loader.${bv}/entries`;
      fs.rmSync(`${sysroot.path}/boot/loader.${bv}`, { recursive: true, force: true });
      fs.mkdirSync(entriesDir, { recursive: true, mode: 0o755 });
      const showOsname = new Set(next.map((d) => d.osname)).size > 1;
      for (const d of next) {
        throwIfAborted(opts.signal);
        installKernelAndEntry(sysroot, bv, d, next.length, showOsname, entriesDir);
      }
      createBootlinks(sysroot, bv, sub, next);
      swapBootlinks(sysroot, bv, sub);
      ensureBootBootLink(sysroot);
      await swapLoader(sysroot, bv);
    }
  } catch (e) {
    throw toArborError(e, 'writing boot entries');
  }
  if (sysroot.staged && !keepStaged) fs.rmSync(sysroot.stagedFile, { force: true });
  let after = sysroot.reload();
  if (opts.cleanup ?? true) after = cleanup(after, { prune: 'if-needed' }).sysroot;
  opts.progress?.({ phase: 'bootloader', done: 1, total: 1, message: `bootversion boot.${bv}.${sub}` });
  return { sysroot: after, bootconfigSwapped: !sameConfig, bootversion: bv, subbootversion: sub };
}

/** Deployments sharing a boot checksum are told apart by a serial counted in list order. */
function assignBootserials(list: Deployment[]): void {
  const seen = new Map<string, number>();
  for (const d of list) {
    const n = seen.get(d.bootcsum) ?? 0;
    seen.set(d.bootcsum, n + 1);
    d.bootserial = n;
  }
}

function bootconfigsEqual(sysroot: Sysroot, a: Deployment, b: Deployment): boolean {
  if (a.bootcsum !== b.bootcsum || a.osname !== b.osname) return false;
  if (userKargs(a.options).toString() !== userKargs(b.options).toString()) return false;
  return sysroot.commitVersion(a.csum) === sysroot.commitVersion(b.csum);
}

function readSubbootversion(sysroot: Sysroot, bv: number): number {
  try {
    const t = fs.readlinkSync(`${sysroot.path}/ostree/boot.${bv}`);
    return t === `boot.${bv}.1` ? 1 : 0;
  } catch {
    return 0;
  }
}

function installKernelAndEntry(sysroot: Sysroot, bv: number, d: Deployment, count: number, showOsname: boolean, entriesDir: string): void {
  const deployDir = sysroot.deploymentDir(d);
  const k = findKernel(deployDir, { checksum: false });
  const bootRel = `ostree/${d.osname}-${d.bootcsum}`;
  const bootDir = `${sysroot.path}/boot/${bootRel}`;
  fs.mkdirSync(bootDir, { recursive: true, mode: 0o755 });
  const kernelName = `vmlinuz-${k.kver}`;
  const initrdName = `initramfs-${k.kver}.img`;
  linkOrCopy(`${deployDir}/${k.kernel}`, `${bootDir}/${kernelName}`);
  if (k.initramfs) linkOrCopy(`${deployDir}/${k.initramfs}`, `${bootDir}/${initrdName}`);
  if (k.hmac) linkOrCopy(`${deployDir}/${k.hmac}`, `${bootDir}/.${kernelName}.hmac`);

  const osRelease = readOsRelease(deployDir);
  const pretty = osRelease.PRETTY_NAME ?? osRelease.ID ?? 'OSTree';
  const version = sysroot.commitVersion(d.csum);
  let title = pretty;
  if (version && !pretty.includes(version)) title += ` ${version}`;
  title += ` (ostree${showOsname ? `:${d.osname}` : ''}:${d.index})`;

  const ostreeArg = `/ostree/boot.${bv}/${d.osname}/${d.bootcsum}/${d.bootserial}`;
  const kargs = KernelArgs.parse(d.options);
  if (!k.initramfs) kargs.replace(`init=${ostreeArg}/usr/lib/ostree/ostree-prepare-root`);
  kargs.replace(`ostree=${ostreeArg}`);
  d.options = kargs.toString();

  const entry = new BootEntry();
  entry.set('title', title);
  entry.set('version', String(count - d.index));
  entry.set('options', d.options);
  entry.set('linux', `/${bootRel}/${kernelName}`);
  if (k.initramfs) entry.set('initrd', `/${bootRel}/${initrdName}`);
  fs.writeFileSync(`${entriesDir}/ostree-${count - d.index}-${d.osname}.conf`, entry.toString(), { mode: 0o644 });
}

/** Hardlinks a kernel file into /boot (a copy when /boot is another filesystem); never half-written. */
function linkOrCopy(src: string, dest: string): void {
  if (fs.existsSync(dest)) return;
  const tmp = `${dest}.tmp`;
  fs.rmSync(tmp, { force: true });
  try {
    fs.linkSync(src, tmp);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EMLINK' && code !== 'EPERM') throw e;
    fs.copyFileSync(src, tmp);
    const fd = fs.openSync(tmp, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  }
  fs.renameSync(tmp, dest);
}

/** ostree/boot.<bv>.<sub>/<os>/<bootcsum>/<bootserial> → ../../../deploy/<os>/deploy/<commit>.<serial> */
function createBootlinks(sysroot: Sysroot, bv: number, sub: number, list: Deployment[]): void {
  const dir = `${sysroot.path}/ostree/boot.${bv}.${sub}`;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { mode: 0o755 });
  for (const d of list) {
    const csumDir = `${dir}/${d.osname}/${d.bootcsum}`;
    fs.mkdirSync(csumDir, { recursive: true, mode: 0o755 });
    fs.symlinkSync(`../../../deploy/${d.osname}/deploy/${deploymentId(d)}`, `${csumDir}/${d.bootserial}`);
  }
}

function swapBootlinks(sysroot: Sysroot, bv: number, sub: number): void {
  const ostreeDir = `${sysroot.path}/ostree`;
  replaceSymlink(`boot.${bv}.${sub}`, `${ostreeDir}/boot.${bv}`);
  fsyncDir(ostreeDir);
}

function ensureBootBootLink(sysroot: Sysroot): void {
  const p = `${sysroot.path}/boot/boot`;
  try {
    fs.lstatSync(p);
  } catch {
    fs.symlinkSync('.', p);
  }
}

/** The commit point: loader.tmp → loader.<bv>, syncfs, rename over boot/loader, fsync /boot. */
async function swapLoader(sysroot: Sysroot, bv: number): Promise<void> {
  const boot = `${sysroot.path}/boot`;
  fs.rmSync(`${boot}/loader.tmp`, { force: true });
  fs.symlinkSync(`loader.${bv}`, `${boot}/loader.tmp`);
  await native.syncfsPath(boot);
  await native.syncfsPath(sysroot.path);
  fs.renameSync(`${boot}/loader.tmp`, `${boot}/loader`);
  fsyncDir(boot);
}

function replaceSymlink(target: string, link: string): void {
  const tmp = `${link}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}
