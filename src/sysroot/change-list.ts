// Operations that only reorder, drop or re-flag existing deployments: rollback,
// undeploy, pin and kernel-argument edits. Each takes the sysroot lock, computes
// the new list and hands it to writeDeployments.
import { ArborError, toArborError } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Deployment, deploymentId, sameDeployment } from './deployment';
import { KernelArgs } from './kargs';
import { cloneKeyFile, writeOrigin } from './origin';
import { originForRefspec } from './origin';
import { Sysroot, decodeStagedState } from './sysroot';
import { writeStagedState } from './staged-state';
import { WriteResult, writeDeployments } from './write-deployments';
import fs from 'node:fs';

async function locked<T>(sysroot: Sysroot, what: string, fn: (s: Sysroot) => Promise<T>): Promise<T> {
  const unlock = sysroot.lock();
  try {
    return await fn(sysroot.reload());
  } catch (e) {
    throw toArborError(e, what);
  } finally {
    unlock();
  }
}

function byIndex(s: Sysroot, index: number): Deployment {
  const d = s.deployments[index];
  if (!Number.isInteger(index) || !d) throw new ArborError('NotFound', `no deployment with index ${index} (there are ${s.deployments.length}; see status)`);
  return d;
}

/**
 * Makes the previous deployment the default, as rpm-ostree rollback does: when the
 * booted one is first, the rollback (next of its stateroot) moves to the front;
 * otherwise the booted one does. Unbooted, the first two of index 0's stateroot swap.
 */
export async function rollback(sysroot: Sysroot, work: WorkOptions = {}): Promise<WriteResult & { target: Deployment }> {
  return locked(sysroot, 'rollback', async (s) => {
    const list = s.bootDeployments;
    if (!list.length) throw new ArborError('NotFound', 'no deployments to roll back');
    const ref = s.booted ?? list[0];
    const refIndex = list.findIndex((d) => sameDeployment(d, ref));
    const target = refIndex === 0 ? list.slice(1).find((d) => d.osname === ref.osname) : ref;
    if (!target) throw new ArborError('NotFound', `no rollback deployment for stateroot '${ref.osname}'`);
    const next = [target, ...list.filter((d) => !sameDeployment(d, target))];
    return { ...(await writeDeployments(s, next, work)), target };
  });
}

/** Removes deployment N (pinned or not); the booted one is refused. */
export async function undeploy(sysroot: Sysroot, index: number, work: WorkOptions = {}): Promise<WriteResult & { removed: Deployment }> {
  return locked(sysroot, `undeploy ${index}`, async (s) => {
    const d = byIndex(s, index);
    if (sameDeployment(d, s.booted)) throw new ArborError('InvalidArgument', `cannot undeploy the booted deployment ${deploymentId(d)}`);
    const next = s.deployments.filter((x) => !sameDeployment(x, d));
    return { ...(await writeDeployments(s, next, work)), removed: d };
  });
}

/** Pins (or unpins) deployment N: `[libostree-transient] pinned=true` in its origin. */
export async function pin(sysroot: Sysroot, index: number, pinned: boolean): Promise<Sysroot> {
  return locked(sysroot, `pin ${index}`, async (s) => {
    const d = byIndex(s, index);
    if (d.staged) throw new ArborError('InvalidArgument', `cannot pin the staged deployment ${deploymentId(d)}; pin it once it is finalized`);
    const kf = d.origin ? cloneKeyFile(d.origin) : originForRefspec(d.csum);
    if (pinned) kf.set('libostree-transient', 'pinned', 'true');
    else kf.remove('libostree-transient', 'pinned');
    writeOrigin(s.originPath(d), kf);
    return s.reload();
  });
}

export interface KargsEdit {
  append?: string[];
  replace?: string[];
  delete?: string[];
  appendIfMissing?: string[];
  deleteIfPresent?: string[];
  /** Replace all arguments with these (ostree=… is kept). */
  set?: string[];
}

export function applyKargsEdit(options: string, e: KargsEdit): KernelArgs {
  let k = KernelArgs.parse(options);
  if (e.set) {
    const ostree = k.values('ostree')[0];
    k = new KernelArgs(e.set);
    if (ostree !== undefined && ostree !== null && !k.has('ostree')) k.append(`ostree=${ostree}`);
  }
  for (const a of e.delete ?? []) k.delete(a);
  for (const a of e.deleteIfPresent ?? []) {
    const key = a.split('=')[0];
    if (k.has(key)) {
      try { k.delete(a); } catch { /* value absent */ }
    }
  }
  for (const a of e.replace ?? []) k.replace(a, true);
  for (const a of e.append ?? []) k.append(a);
  for (const a of e.appendIfMissing ?? []) k.appendIfMissing(a);
  return k;
}

/** Edits deployment N's kernel arguments (a staged one's are kept in the staged state). */
export async function setKargs(sysroot: Sysroot, index: number, edit: KargsEdit, work: WorkOptions = {}): Promise<{ sysroot: Sysroot; kargs: string }> {
  return locked(sysroot, 'kargs', async (s) => {
    const d = byIndex(s, index);
    const k = applyKargsEdit(d.options, edit);
    if (d.staged) {
      const st = decodeStagedState(fs.readFileSync(s.stagedFile), s.stagedFile);
      const merge = st.merge ? s.bootDeployments.find((x) => x.csum === st.merge!.csum && x.deployserial === st.merge!.deployserial && x.osname === st.merge!.osname) ?? null : null;
      writeStagedState(s.stagedFile, { target: d, merge, kargs: k.toArray(), overlayInitrds: st.overlayInitrds });
      return { sysroot: s.reload(), kargs: k.toString() };
    }
    const next = s.deployments.map((x) => (sameDeployment(x, d) ? { ...x, options: k.toString() } : x));
    const r = await writeDeployments(s, next, { ...work, cleanup: true });
    return { sysroot: r.sysroot, kargs: r.sysroot.deployments[index]?.options ?? k.toString() };
  });
}
