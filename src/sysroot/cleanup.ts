// `cleanup`: delete what no boot entry (nor the staged deployment) uses: the
// other boot version's loader and bootlinks, deployment directories and origins,
// kernels under boot/ostree; then point the refs ostree/<bv>/<sub>/<i> at the
// deployments' commits and prune the repo from refs only (libostree's
// ostree_sysroot_cleanup). New refs are written before stale ones go, so a power
// cut never leaves a deployment's commit unprotected.
import fs from 'node:fs';
import { toArborError } from '../common/errors';
import { prune } from '../ostree/prune';
import { safeReaddir } from '../ostree/repo';
import { deploymentId } from './deployment';
import { removeTree } from './immutable';
import { Sysroot } from './sysroot';

export interface CleanupResult {
  sysroot: Sysroot;
  deletedDeployments: string[];
  deletedBootDirs: string[];
  prunedObjects: number;
  bytesFreed: number;
}

export interface CleanupOptions {
  /**
   * true (default): always prune; 'if-needed': only when a commit lost its last
   * ref, which is what deploys use — walking every tree to find nothing is slow.
   */
  prune?: boolean | 'if-needed';
}

export function cleanup(sysroot: Sysroot, opts: CleanupOptions = {}): CleanupResult {
  try {
    cleanupBootversions(sysroot);
    const deletedDeployments = cleanupDeployments(sysroot);
    const deletedBootDirs = cleanupBootDirs(sysroot);
    const before = new Set(sysroot.repo().listRefs().values());
    generateRefs(sysroot);
    const after = new Set(sysroot.repo().listRefs().values());
    const mode = opts.prune ?? true;
    let prunedObjects = 0;
    let bytesFreed = 0;
    if (mode === true || (mode === 'if-needed' && [...before].some((c) => !after.has(c)))) {
      const r = prune(sysroot.repo(), { refsOnly: true, depth: 0 });
      prunedObjects = r.pruned;
      bytesFreed = r.bytesFreed;
    }
    return { sysroot: sysroot.reload(), deletedDeployments, deletedBootDirs, prunedObjects, bytesFreed };
  } catch (e) {
    throw toArborError(e, 'cleanup');
  }
}

function cleanupBootversions(s: Sysroot): void {
  const other = 1 - s.bootversion;
  const otherSub = 1 - s.subbootversion;
  fs.rmSync(`${s.path}/boot/loader.${other}`, { recursive: true, force: true });
  fs.rmSync(`${s.path}/boot/loader.tmp`, { force: true });
  for (const p of [`boot.${other}`, `boot.${other}.0`, `boot.${other}.1`, `boot.${s.bootversion}.${otherSub}`, `boot.${other}.tmp`, `boot.${s.bootversion}.tmp`]) {
    fs.rmSync(`${s.path}/ostree/${p}`, { recursive: true, force: true });
  }
}

function cleanupDeployments(s: Sysroot): string[] {
  const active = new Set(s.deployments.map((d) => `${d.osname}/${deploymentId(d)}`));
  const deleted: string[] = [];
  for (const os of s.osnames()) {
    const dir = `${s.path}/ostree/deploy/${os}/deploy`;
    const names = safeReaddir(dir);
    for (const name of names) {
      const id = name.endsWith('.origin') ? name.slice(0, -'.origin'.length) : name;
      if (active.has(`${os}/${id}`)) continue;
      // Directory first, origin last: an origin without a directory is harmless litter.
      if (!name.endsWith('.origin')) {
        removeTree(`${dir}/${name}`);
        deleted.push(`${os}/${name}`);
      }
    }
    for (const name of names) {
      if (name.endsWith('.origin') && !active.has(`${os}/${name.slice(0, -'.origin'.length)}`)) fs.rmSync(`${dir}/${name}`, { force: true });
    }
  }
  return deleted;
}

function cleanupBootDirs(s: Sysroot): string[] {
  const active = new Set(s.deployments.map((d) => `${d.osname}-${d.bootcsum}`));
  const dir = `${s.path}/boot/ostree`;
  const deleted: string[] = [];
  for (const name of safeReaddir(dir)) {
    if (active.has(name)) continue;
    fs.rmSync(`${dir}/${name}`, { recursive: true, force: true });
    deleted.push(name);
  }
  return deleted;
}

function generateRefs(s: Sysroot): void {
  const repo = s.repo();
  const wanted = new Map<string, string>();
  s.deployments.forEach((d, i) => wanted.set(`ostree/${s.bootversion}/${s.subbootversion}/${i}`, d.csum));
  for (const [ref, csum] of wanted) if (repo.readRef(ref) !== csum) repo.setRef(ref, csum as never);
  for (const ref of repo.listRefs({ remote: null }).keys()) {
    if (ref.startsWith('ostree/') && !wanted.has(ref)) repo.setRef(ref, null);
  }
  // Like ostree, empty ref directories of old boot versions stay.
}
