// `deploy REV` (rpm-ostree deploy): move to a given version or commit of the origin
// ref — forward or back. A version is looked up in the ref's history, pulling
// commit objects only, deeper and deeper as needed; the found commit is pulled and
// deployed with `[origin] override-commit=` recording the choice, which the next
// upgrade clears.
import { ArborError, throwIfAborted } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Checksum, isChecksum } from '../ostree/checksum';
import { pullRefs } from '../ostree/pull';
import { metadataGet } from '../ostree/objects';
import { Repo } from '../ostree/repo';
import { Sysroot, deploy } from '../sysroot';
import { OsOptions, commitInfo, derivedOrigin, fetchRev, originBase } from './base';
import { localPackageDiff } from './local-diff';
import type { UpgradeResult } from './upgrade';

export interface DeployRevOptions extends OsOptions {
  /** A version ('38.20240101.0', or 'version=…'), or a commit ('revision=…' or 64 hex digits). */
  revision: string;
  stage?: boolean;
}

/** As an upgrade's result; `changed` is false when the default deployment already is that commit. */
export type DeployRevResult = Omit<UpgradeResult, 'objectsFetched'>;

export type Revision = { kind: 'version'; version: string } | { kind: 'checksum'; checksum: string };

export function parseRevision(rev: string): Revision {
  if (rev.startsWith('revision=')) {
    const c = rev.slice('revision='.length);
    if (!/^[0-9a-f]{4,64}$/.test(c)) throw new ArborError('InvalidArgument', `deploy: '${c}' is not a commit checksum`);
    return { kind: 'checksum', checksum: c };
  }
  if (rev.startsWith('version=')) return { kind: 'version', version: rev.slice('version='.length) };
  if (isChecksum(rev)) return { kind: 'checksum', checksum: rev };
  if (!rev) throw new ArborError('InvalidArgument', 'deploy: no revision given (a version or a commit checksum)');
  return { kind: 'version', version: rev };
}

/**
 * The newest commit in `ref`'s history whose `version` is `version`. History is
 * fetched as commit objects only, 10, then 100, then every ancestor deep.
 */
export async function findVersion(repo: Repo, remote: string | null, ref: string, version: string, work: WorkOptions = {}): Promise<Checksum> {
  const seen: string[] = [];
  let tip: Checksum | null = remote === null ? repo.resolveRev(ref) : null;
  for (const depth of remote === null ? [-1] : [0, 10, 100, -1]) {
    throwIfAborted(work.signal);
    if (remote !== null) {
      const r = await pullRefs(repo, remote, [ref], { commitMetadataOnly: true, depth, signal: work.signal });
      tip = r.refs[0].checksum;
    }
    seen.length = 0;
    let c: Checksum | null = tip;
    let complete = false;
    while (c) {
      if (!repo.hasObject('commit', c)) break;
      const commit = repo.loadCommit(c);
      const v = metadataGet(commit.metadata, 'version');
      if (v === version) return c;
      seen.push(typeof v === 'string' ? v : c.slice(0, 12));
      c = commit.parent;
      if (!c) complete = true;
    }
    if (complete) break;
  }
  const where = remote === null ? `local ref '${ref}'` : `'${remote}:${ref}'`;
  throw new ArborError('NotFound', `version '${version}' is not in the history of ${where}; versions found, newest first: ${seen.slice(0, 20).join(', ') || '(none)'}`);
}

export async function deployRevision(sysroot: Sysroot, opts: DeployRevOptions): Promise<DeployRevResult> {
  const work = { progress: opts.progress, signal: opts.signal };
  const base = originBase(sysroot, opts.osname);
  const repo = base.sysroot.repo();
  const rev = parseRevision(opts.revision);
  let target: string;
  if (rev.kind === 'version') {
    opts.progress?.({ phase: 'deploy', done: 0, message: `looking up version ${rev.version} in ${base.refspec}` });
    target = await findVersion(repo, base.remote, base.ref, rev.version, work);
  } else if (rev.checksum.length < 64) {
    // A prefix can only mean a commit this repo already knows.
    target = repo.resolveRev(rev.checksum);
  } else target = rev.checksum;
  const fetched = await fetchRev(repo, base.remote, target, work);
  const from = commitInfo(repo, base.deployment.csum);
  const to = commitInfo(repo, fetched.checksum);
  const result: DeployRevResult = {
    changed: to.checksum !== from.checksum, refspec: base.refspec, from, to, packageDiff: null, staged: false,
    deployment: null, etcChanges: null, bytesFetched: fetched.bytesFetched, sysroot: base.sysroot,
  };
  if (!result.changed) return result;
  result.packageDiff = await localPackageDiff(repo, from.checksum, to.checksum);
  throwIfAborted(opts.signal);
  const r = await deploy(base.sysroot, {
    osname: base.osname,
    revision: to.checksum,
    origin: derivedOrigin(base.deployment, base.refspec, to.checksum),
    stage: !!opts.stage,
  }, work);
  return { ...result, staged: !!opts.stage, deployment: r.deployment, etcChanges: r.etcChanges, sysroot: r.sysroot };
}
