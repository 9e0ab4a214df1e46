// `cleanup` (rpm-ostree cleanup): drop the pending deployment(s) (-p: those
// before the booted one, and a staged one), the rollback deployment(s) (-r: those
// after it), and with base (-b) prune the repo of everything no deployment and no
// ref needs. Pinned deployments are never dropped; the booted one never is.
import { ArborError, toArborError } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Deployment, Sysroot, cleanup as sysrootCleanup, deploymentId, isPinned, writeDeployments } from '../sysroot';
import { sameDeployment } from '../sysroot/deployment';

export interface CleanupOptions extends WorkOptions {
  /** Stateroot whose pending/rollback deployments go; default the booted one's. */
  osname?: string;
  pending?: boolean;
  rollback?: boolean;
  base?: boolean;
}

export interface CleanupResult {
  /** `<osname>:<checksum>.<serial>` of each dropped deployment. */
  removed: string[];
  /** Pinned deployments that would have gone. */
  keptPinned: string[];
  prunedObjects: number;
  bytesFreed: number;
  sysroot: Sysroot;
}

const name = (d: Deployment): string => `${d.osname}:${deploymentId(d)}`;

export async function cleanup(sysroot: Sysroot, opts: CleanupOptions = {}): Promise<CleanupResult> {
  if (!opts.pending && !opts.rollback && !opts.base) {
    throw new ArborError('InvalidArgument', 'cleanup: say what to clean up: pending (-p), rollback (-r) and/or base (-b)');
  }
  const unlock = sysroot.lock();
  try {
    let s = sysroot.reload();
    const os = opts.osname ?? s.booted?.osname ?? s.deployments[0]?.osname;
    // Without a booted deployment, the default one plays its part.
    const anchor = s.booted ?? s.deployments.find((d) => !d.staged && d.osname === os) ?? null;
    const drop: Deployment[] = [];
    const keptPinned: string[] = [];
    if (anchor && (opts.pending || opts.rollback)) {
      let before = true;
      for (const d of s.deployments) {
        if (sameDeployment(d, anchor)) { before = false; continue; }
        if (d.osname !== os) continue;
        if (!((before && opts.pending) || (!before && opts.rollback))) continue;
        if (isPinned(d) && !d.staged) keptPinned.push(name(d));
        else drop.push(d);
      }
    }
    const result: CleanupResult = { removed: drop.map(name), keptPinned, prunedObjects: 0, bytesFreed: 0, sysroot: s };
    if (drop.length) {
      opts.progress?.({ phase: 'cleanup', done: 0, message: `removing ${drop.length} deployment(s)` });
      const next = s.deployments.filter((d) => !drop.some((x) => sameDeployment(x, d)));
      s = (await writeDeployments(s, next, { progress: opts.progress, signal: opts.signal, cleanup: !opts.base })).sysroot;
    }
    if (opts.base) {
      const r = sysrootCleanup(s, { prune: true });
      s = r.sysroot;
      result.prunedObjects = r.prunedObjects;
      result.bytesFreed = r.bytesFreed;
    }
    result.sysroot = s;
    return result;
  } catch (e) {
    throw toArborError(e, 'cleanup');
  } finally {
    unlock();
  }
}
