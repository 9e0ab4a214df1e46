// `pin`: keep a deployment from being dropped by upgrades and cleanups
// (`[libostree-transient] pinned=true` in its origin), or let it go again.
import { ArborError, throwIfAborted } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Deployment, Sysroot, isPinned, pin as sysrootPin } from '../sysroot';

export interface PinOptions extends WorkOptions {
  /** Deployment index (see status); default the booted one, else 0. */
  index?: number;
  /** false unpins. Default true. */
  pinned?: boolean;
}

export interface PinResult {
  deployment: Deployment;
  pinned: boolean;
  /** false when it already was in that state. */
  changed: boolean;
  sysroot: Sysroot;
}

export async function pinDeployment(sysroot: Sysroot, opts: PinOptions = {}): Promise<PinResult> {
  throwIfAborted(opts.signal);
  const s = sysroot.reload();
  const index = opts.index ?? s.booted?.index ?? 0;
  const d = s.deployments[index];
  if (!d) throw new ArborError('NotFound', `no deployment with index ${index} (there are ${s.deployments.length}; see status)`);
  const want = opts.pinned ?? true;
  if (isPinned(d) === want) return { deployment: d, pinned: want, changed: false, sysroot: s };
  const after = await sysrootPin(s, index, want);
  return { deployment: after.deployments[index], pinned: want, changed: true, sysroot: after };
}
