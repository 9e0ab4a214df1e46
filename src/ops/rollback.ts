// `rollback` (rpm-ostree rollback): make the previous deployment the default
// again, and tell what that changes in packages.
import { ArborError } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Deployment, Sysroot, rollback as sysrootRollback } from '../sysroot';
import { CommitInfo, commitInfo } from './base';
import { localPackageDiff } from './local-diff';
import { PackageDiff } from './package-diff';

export interface RollbackResult {
  /** The default deployment before, and the one now first. */
  from: CommitInfo;
  to: CommitInfo;
  deployment: Deployment;
  packageDiff: PackageDiff | null;
  sysroot: Sysroot;
}

export async function rollback(sysroot: Sysroot, opts: WorkOptions = {}): Promise<RollbackResult> {
  const s = sysroot.reload();
  const before = s.bootDeployments[0];
  if (!before) throw new ArborError('NotFound', `${s.path} has no deployments to roll back`);
  if (s.staged) throw new ArborError('InvalidArgument', `a deployment is staged (${s.staged.csum}); drop it first (cleanup --pending), then roll back`);
  const r = await sysrootRollback(s, opts);
  const repo = r.sysroot.repo();
  const to = r.sysroot.bootDeployments[0];
  return {
    from: commitInfo(repo, before.csum), to: commitInfo(repo, to.csum), deployment: to,
    packageDiff: await localPackageDiff(repo, before.csum, to.csum), sysroot: r.sysroot,
  };
}
