// `rebase REFSPEC`: switch the origin to another ref (`remote:ref`, a bare `ref` on
// the current remote, or `remote:` for the same ref on another remote), pull it and
// deploy it. Unlike upgrade, moving to an older commit is allowed: another branch
// has its own history. The old remote ref is deleted afterwards (skipPurge keeps it).
import { ArborError, throwIfAborted } from '../common/errors';
import { validateRef, validateRemoteName } from '../ostree/refs';
import { getRemote } from '../ostree/remotes';
import { Deployment, Sysroot, deploy, originRefspec } from '../sysroot';
import { EtcDiff } from '../sysroot/etc-merge';
import { CommitInfo, OsOptions, commitInfo, derivedOrigin, fetchRev, originBase } from './base';
import { findVersion, parseRevision } from './deploy';
import { localPackageDiff } from './local-diff';
import { PackageDiff } from './package-diff';

export interface RebaseOptions extends OsOptions {
  refspec: string;
  /** A version or commit on the new ref instead of its tip. */
  revision?: string;
  stage?: boolean;
  /** Keep the previous ref in the repo. */
  skipPurge?: boolean;
}

export interface RebaseResult {
  fromRefspec: string;
  toRefspec: string;
  from: CommitInfo;
  to: CommitInfo;
  packageDiff: PackageDiff | null;
  staged: boolean;
  deployment: Deployment;
  etcChanges: EtcDiff | null;
  bytesFetched: number;
  /** The old ref deleted from the repo, if any. */
  purgedRef: string | null;
  sysroot: Sysroot;
}

/** The new refspec, filled in from the current one (rpm-ostree's rules). */
export function resolveRebaseRefspec(current: { remote: string | null; ref: string }, spec: string): { remote: string | null; ref: string } {
  const i = spec.indexOf(':');
  if (i < 0) return { remote: current.remote, ref: validateRef(spec, 'rebase target') };
  const remote = validateRemoteName(spec.slice(0, i));
  const ref = spec.slice(i + 1);
  return { remote, ref: ref ? validateRef(ref, 'rebase target') : current.ref };
}

export async function rebase(sysroot: Sysroot, opts: RebaseOptions): Promise<RebaseResult> {
  const work = { progress: opts.progress, signal: opts.signal };
  if (!opts.refspec) throw new ArborError('InvalidArgument', 'rebase: no refspec given (REMOTE:REF, REF or REMOTE:)');
  const base = originBase(sysroot, opts.osname);
  const repo = base.sysroot.repo();
  const next = resolveRebaseRefspec(base, opts.refspec);
  const toRefspec = next.remote ? `${next.remote}:${next.ref}` : next.ref;
  if (toRefspec === base.refspec && !opts.revision) {
    throw new ArborError('InvalidArgument', `rebase: already on ${toRefspec}; use upgrade to follow it, or name another ref`);
  }
  if (next.remote !== null) getRemote(repo, next.remote); // a clear NotFound before any network
  let target: string = next.ref;
  if (opts.revision) {
    const rev = parseRevision(opts.revision);
    target = rev.kind === 'version' ? await findVersion(repo, next.remote, next.ref, rev.version, work) : rev.checksum.length < 64 ? repo.resolveRev(rev.checksum) : rev.checksum;
  }
  opts.progress?.({ phase: 'rebase', done: 0, total: 2, message: `pulling ${toRefspec}` });
  const fetched = await fetchRev(repo, next.remote, target, work);
  const from = commitInfo(repo, base.deployment.csum);
  const to = commitInfo(repo, fetched.checksum);
  const packageDiff = await localPackageDiff(repo, from.checksum, to.checksum);
  throwIfAborted(opts.signal);
  opts.progress?.({ phase: 'rebase', done: 1, total: 2, message: `deploying ${to.checksum}` });
  const r = await deploy(base.sysroot, {
    osname: base.osname,
    revision: to.checksum,
    origin: derivedOrigin(base.deployment, toRefspec, opts.revision ? to.checksum : null),
    stage: !!opts.stage,
  }, work);
  let purgedRef: string | null = null;
  if (!opts.skipPurge && base.remote !== null && toRefspec !== base.refspec) {
    // Only when no remaining deployment still follows it.
    const stillUsed = r.sysroot.deployments.some((d) => originRefspec(d) === base.refspec);
    if (!stillUsed && repo.readRef({ remote: base.remote, ref: base.ref })) {
      repo.setRef({ remote: base.remote, ref: base.ref }, null);
      purgedRef = base.refspec;
    }
  }
  return {
    fromRefspec: base.refspec, toRefspec, from, to, packageDiff, staged: !!opts.stage, deployment: r.deployment,
    etcChanges: r.etcChanges, bytesFetched: fetched.bytesFetched, purgedRef, sysroot: r.sysroot,
  };
}
