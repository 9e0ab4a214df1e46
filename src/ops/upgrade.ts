// `upgrade`: follow the origin refspec of the booted (or pending, or default)
// deployment — pull the ref, and when it moved, deploy the new commit (or stage
// it for finalization at shutdown) with the previous one kept as rollback. An
// unchanged ref is a result ("no upgrade available"), not an error; a ref that
// moved back in time is refused unless downgrades are allowed.
import { ArborError, throwIfAborted } from '../common/errors';
import { Deployment, Sysroot, deploy } from '../sysroot';
import { EtcDiff } from '../sysroot/etc-merge';
import { CommitInfo, OsOptions, commitInfo, derivedOrigin, describeCommit, fetchRev, originBase } from './base';
import { PackageDiff } from './package-diff';
import { localPackageDiff } from './local-diff';

export interface UpgradeOptions extends OsOptions {
  /** Write the deployment but change the boot entries only at finalize-staged. */
  stage?: boolean;
  /** Accept a commit older than the current one. */
  allowDowngrade?: boolean;
  /** Pull, but do not deploy (rpm-ostree's --download-only). */
  downloadOnly?: boolean;
}

export interface UpgradeResult {
  /** false: the ref still points at the current commit ("no upgrade available"). */
  changed: boolean;
  refspec: string;
  from: CommitInfo;
  to: CommitInfo;
  /** null when either tree carries no package list. */
  packageDiff: PackageDiff | null;
  staged: boolean;
  /** The new deployment; null when unchanged or downloadOnly. */
  deployment: Deployment | null;
  etcChanges: EtcDiff | null;
  /** Bytes the pull received (summary and config included), and objects fetched. */
  bytesFetched: number;
  objectsFetched: number;
  sysroot: Sysroot;
}

export async function upgrade(sysroot: Sysroot, opts: UpgradeOptions = {}): Promise<UpgradeResult> {
  const work = { progress: opts.progress, signal: opts.signal };
  const base = originBase(sysroot, opts.osname);
  const repo = base.sysroot.repo();
  opts.progress?.({ phase: 'upgrade', done: 0, total: 2, message: `pulling ${base.refspec}` });
  const fetched = await fetchRev(repo, base.remote, base.ref, work);
  const from = commitInfo(repo, base.deployment.csum);
  const to = commitInfo(repo, fetched.checksum);
  const result: UpgradeResult = {
    changed: to.checksum !== from.checksum, refspec: base.refspec, from, to, packageDiff: null, staged: false,
    deployment: null, etcChanges: null, bytesFetched: fetched.bytesFetched, objectsFetched: fetched.pull?.objectsFetched ?? 0, sysroot: base.sysroot,
  };
  if (!result.changed) return result;
  if (to.timestamp < from.timestamp && !opts.allowDowngrade) {
    throw new ArborError('InvalidArgument', `upgrade of ${base.refspec}: the new commit ${describeCommit(to)} is older than the current ${describeCommit(from)}; refusing to downgrade (allow it with --allow-downgrade)`);
  }
  result.packageDiff = await localPackageDiff(repo, from.checksum, to.checksum);
  if (opts.downloadOnly) return result;
  throwIfAborted(opts.signal);
  opts.progress?.({ phase: 'upgrade', done: 1, total: 2, message: `deploying ${to.checksum}` });
  const r = await deploy(base.sysroot, {
    osname: base.osname,
    revision: to.checksum,
    origin: derivedOrigin(base.deployment, base.refspec),
    stage: !!opts.stage,
  }, work);
  opts.progress?.({ phase: 'upgrade', done: 2, total: 2 });
  return { ...result, staged: !!opts.stage, deployment: r.deployment, etcChanges: r.etcChanges, sysroot: r.sysroot };
}
