// What every client use case starts from: the deployment whose origin it follows
// (the pending one when there is one, so origin changes stack, as rpm-ostree's
// origin merge deployment; else the booted one; else the stateroot's first), its
// refspec split into remote and ref, and a pull of that ref (or a local ref).
import { ArborError, throwIfAborted } from '../common/errors';
import { KeyFile } from '../common/keyfile';
import { WorkOptions } from '../common/progress';
import { Checksum, isChecksum } from '../ostree/checksum';
import { PullResult, pullRefs } from '../ostree/pull';
import { metadataGet } from '../ostree/objects';
import { Repo } from '../ostree/repo';
import { Deployment, Sysroot, deploymentId, originRefspec } from '../sysroot';
import { cloneKeyFile, originForRefspec } from '../sysroot/origin';

export interface OsOptions extends WorkOptions {
  /** Stateroot; default that of the booted deployment, else of the default one. */
  osname?: string;
}

export interface CommitInfo {
  checksum: Checksum;
  version: string | null;
  /** Commit time, Unix seconds. */
  timestamp: number;
}

export interface OriginBase {
  sysroot: Sysroot;
  osname: string;
  /** The deployment whose origin is followed (pending ?? booted ?? default). */
  deployment: Deployment;
  refspec: string;
  /** null: a local ref of the sysroot repo (nothing to pull). */
  remote: string | null;
  ref: string;
}

export function parseOriginRefspec(refspec: string, where: string): { remote: string | null; ref: string } {
  const i = refspec.indexOf(':');
  const remote = i < 0 ? null : refspec.slice(0, i);
  const ref = i < 0 ? refspec : refspec.slice(i + 1);
  if (isChecksum(ref)) {
    throw new ArborError('InvalidArgument', `${where}: the origin names commit ${ref}, not a ref, so there is nothing to follow; rebase onto a REMOTE:REF first`);
  }
  if (!ref || remote === '') throw new ArborError('InvalidArgument', `${where}: origin refspec '${refspec}' is not REMOTE:REF or REF`);
  return { remote, ref };
}

/** The deployment an operation on `osname` follows (see the module comment). */
export function baseDeployment(s: Sysroot, osname?: string): { osname: string; deployment: Deployment } {
  const os = osname ?? s.booted?.osname ?? s.deployments[0]?.osname;
  if (!os) throw new ArborError('NotFound', `${s.path} has no deployments; deploy one first (arbor admin deploy)`);
  let d: Deployment | null | undefined = null;
  if (s.booted && s.booted.osname === os) d = s.pendingAndRollback(os).pending ?? s.booted;
  else d = s.deployments.find((x) => x.osname === os);
  if (!d) throw new ArborError('NotFound', `stateroot '${os}' has no deployment in ${s.path}; deploy one first`);
  return { osname: os, deployment: d };
}

export function originBase(sysroot: Sysroot, osname?: string): OriginBase {
  const s = sysroot.reload();
  const { osname: os, deployment } = baseDeployment(s, osname);
  const refspec = originRefspec(deployment);
  const where = `deployment ${deploymentId(deployment)}`;
  if (!refspec) throw new ArborError('NotFound', `${where} has no origin refspec (${deployment.origin ? 'no [origin] refspec=' : 'no .origin file'}); rebase onto a REMOTE:REF`);
  return { sysroot: s, osname: os, deployment, refspec, ...parseOriginRefspec(refspec, where) };
}

export function commitInfo(repo: Repo, csum: Checksum): CommitInfo {
  const c = repo.loadCommit(csum);
  const v = metadataGet(c.metadata, 'version');
  return { checksum: csum, version: typeof v === 'string' ? v : null, timestamp: c.timestamp };
}

export interface Fetched {
  checksum: Checksum;
  /** Bytes received (0 for a local ref). */
  bytesFetched: number;
  pull: PullResult | null;
}

/** Pulls `ref` (or a commit checksum) of `remote` completely; a null remote means a local ref. */
export async function fetchRev(repo: Repo, remote: string | null, rev: string, work: WorkOptions): Promise<Fetched> {
  throwIfAborted(work.signal);
  if (remote === null) {
    const checksum = repo.resolveRev(rev);
    if (repo.isCommitPartial(checksum)) throw new ArborError('Corrupted', `commit ${checksum} of local ref '${rev}' is only partially present`);
    return { checksum, bytesFetched: 0, pull: null };
  }
  const pull = await pullRefs(repo, remote, [rev], { progress: work.progress, signal: work.signal });
  throwIfAborted(work.signal);
  return { checksum: pull.refs[0].checksum, bytesFetched: pull.bytesFetched, pull };
}

/**
 * The origin of a new deployment made from `from`'s: same keys, another refspec
 * (and optionally a pinned commit), without transient state such as a pin.
 */
export function derivedOrigin(from: Deployment, refspec: string, overrideCommit: Checksum | null = null): KeyFile {
  const kf = from.origin ? cloneKeyFile(from.origin) : originForRefspec(refspec);
  kf.set('origin', 'refspec', refspec);
  if (overrideCommit) kf.set('origin', 'override-commit', overrideCommit);
  else kf.remove('origin', 'override-commit');
  kf.remove('libostree-transient');
  return kf;
}

/** Locale-free short form used in messages. */
export function describeCommit(c: CommitInfo): string {
  return `${c.checksum}${c.version ? ` (version ${c.version})` : ''}, ${new Date(c.timestamp * 1000).toISOString()}`;
}
