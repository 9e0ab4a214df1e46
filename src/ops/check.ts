// `check` (rpm-ostree upgrade --check/--preview): is there an update on the origin
// ref, and what would it change? Fetches only the new commit object (pull
// --commit-metadata-only), diffs its package list against the booted tree's, and
// tells how many bytes the upgrade would download. Nothing is deployed.
import { throwIfAborted } from '../common/errors';
import { fetchCommitMetadata } from '../ostree/pull';
import { Sysroot } from '../sysroot';
import { CommitInfo, OsOptions, commitInfo, originBase } from './base';
import { DownloadSize, downloadSize } from './download-size';
import { ObjectSource, localSource, remoteSource } from './object-source';
import { PackageDiff, diffPackages } from './package-diff';
import { PackageList, commitPackages } from './package-list';

export interface CheckResult {
  /** The origin ref points at another commit than the deployment an upgrade would start from. */
  available: boolean;
  refspec: string;
  /** The tree the diff starts from: the booted deployment's (else the default one's). */
  from: CommitInfo;
  /** What the ref points at now. */
  to: CommitInfo;
  /** The new commit is older than the one an upgrade starts from (it would refuse it). */
  downgrade: boolean;
  packageDiff: PackageDiff | null;
  /** Where each side's package list came from (null: the tree has none). */
  packageSource: { from: PackageList['source'] | null; to: PackageList['source'] | null };
  /** What the upgrade would download; null when no update is available. */
  download: DownloadSize | null;
  /** Bytes this check itself received. */
  bytesFetched: number;
}

export async function check(sysroot: Sysroot, opts: OsOptions = {}): Promise<CheckResult> {
  const base = originBase(sysroot, opts.osname);
  const repo = base.sysroot.repo();
  const current = base.sysroot.booted && base.sysroot.booted.osname === base.osname ? base.sysroot.booted : base.deployment;
  opts.progress?.({ phase: 'check', done: 0, message: `fetching the commit of ${base.refspec}` });
  let bytesFetched = 0;
  let csum;
  if (base.remote === null) csum = repo.resolveRev(base.ref);
  else {
    const m = await fetchCommitMetadata(repo, base.remote, base.ref, { signal: opts.signal });
    csum = m.checksum;
    bytesFetched += m.bytesFetched;
  }
  throwIfAborted(opts.signal);
  const from = commitInfo(repo, current.csum);
  const to = commitInfo(repo, csum);
  const available = csum !== base.deployment.csum;
  // As upgrade decides it: against the deployment the upgrade starts from.
  const downgrade = available && to.timestamp < repo.loadCommit(base.deployment.csum).timestamp;
  const result: CheckResult = {
    available, refspec: base.refspec, from, to, downgrade,
    packageDiff: null, packageSource: { from: null, to: null }, download: null, bytesFetched,
  };
  if (!available) return result;

  const src: ObjectSource = base.remote === null ? localSource(repo) : remoteSource(repo, base.remote, opts.signal);
  try {
    const newCommit = repo.loadCommit(csum);
    const [a, b] = await Promise.all([
      commitPackages(repo.loadCommit(from.checksum), localSource(repo), `commit ${from.checksum}`),
      commitPackages(newCommit, src, `commit ${csum}`),
    ]);
    result.packageSource = { from: a?.source ?? null, to: b?.source ?? null };
    if (a && b) result.packageDiff = diffPackages(a.packages, b.packages);
    throwIfAborted(opts.signal);
    opts.progress?.({ phase: 'check', done: 1, message: 'sizing the download' });
    result.download = await downloadSize({
      repo, remote: base.remote ?? '', ref: base.ref, checksum: csum, commit: newCommit, source: src, current: from.checksum, signal: opts.signal,
    });
    result.bytesFetched += src.bytesFetched;
  } finally {
    src.close();
  }
  return result;
}
