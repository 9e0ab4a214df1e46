// `deploy`: check a commit out of the sysroot's repo as a new deployment
// (hardlinks, fresh etc from usr/etc, the merge deployment's /etc changes, origin,
// sealed root), then either write the new boot list (default policy of
// simple_write_deployment) or, with stage, leave the boot entries for
// finalize-staged at shutdown.
import fs from 'node:fs';
import { ArborError, throwIfAborted, toArborError } from '../common/errors';
import { writeFileAtomic } from '../common/atomic-write';
import { KeyFile } from '../common/keyfile';
import { WorkOptions } from '../common/progress';
import { checkout } from '../ostree/checkout';
import { Checksum } from '../ostree/checksum';
import { Deployment, deploymentId } from './deployment';
import { EtcDiff, mergeEtc, prepareEtc } from './etc-merge';
import { removeTree, sealingDisabled, setImmutable } from './immutable';
import { KernelArgs } from './kargs';
import { earlyBootChecksum, findKernel } from './kernel';
import { originForRefspec, writeOrigin } from './origin';
import { RetainPolicy, simpleWriteList } from './policy';
import { writeStagedState } from './staged-state';
import { Sysroot } from './sysroot';
import { writeDeployments } from './write-deployments';

export interface KargsOptions {
  /** --karg: replace (or add) these, starting from the merge deployment's arguments. */
  replace?: string[];
  /** --karg-append */
  append?: string[];
  /** --karg-none: start from nothing instead of the merge deployment's arguments. */
  none?: boolean;
}

export interface DeployOptions extends RetainPolicy {
  /** Stateroot; default that of the booted deployment. */
  osname?: string;
  /** A ref, remote:ref or commit checksum in the sysroot's repo. */
  revision: string;
  /** Default: `[origin] refspec=<revision>`. */
  origin?: KeyFile;
  kargs?: KargsOptions;
  /** Write the deployment but leave /boot alone until finalizeStaged. */
  stage?: boolean;
  /** Skip cleanup and pruning after the write (--no-prune). */
  noCleanup?: boolean;
}

export interface DeployResult {
  sysroot: Sysroot;
  deployment: Deployment;
  etcChanges: EtcDiff | null;
}

export async function deploy(sysroot: Sysroot, opts: DeployOptions, work: WorkOptions = {}): Promise<DeployResult> {
  const unlock = sysroot.lock();
  let partial: string | null = null;
  try {
    const s = sysroot.reload();
    const osname = opts.osname ?? s.booted?.osname;
    if (!osname) throw new ArborError('InvalidArgument', 'no stateroot given (--os) and no booted deployment to take it from');
    if (!fs.existsSync(`${s.path}/ostree/deploy/${osname}/var`)) {
      throw new ArborError('NotFound', `stateroot '${osname}' does not exist in ${s.path}; create it with 'arbor admin os-init ${osname}'`);
    }
    if (opts.stage && !s.booted) throw new ArborError('InvalidArgument', 'cannot stage a deployment: not booted into a deployment of this sysroot (name one with --booted)');
    if (opts.stage && (opts.retainPending || opts.retainRollback || opts.notAsDefault)) {
      throw new ArborError('InvalidArgument', '--stage cannot be combined with --retain-pending, --retain-rollback or --not-as-default');
    }
    const repo = s.repo();
    const csum = repo.resolveRev(opts.revision);
    repo.loadCommit(csum);
    if (repo.isCommitPartial(csum)) throw new ArborError('Corrupted', `commit ${csum} is only partially pulled; pull it completely before deploying`);
    const merge = s.mergeDeployment(osname);
    const kargs = computeKargs(merge, opts.kargs);
    const origin = opts.origin ?? originForRefspec(opts.revision);

    const serial = allocateDeployserial(s, osname, csum);
    const dep: Deployment = { index: -1, osname, csum, deployserial: serial, bootcsum: '', bootserial: -1, options: kargs?.toString() ?? merge?.options ?? '', origin, staged: false };
    const dir = s.deploymentDir(dep);
    removeTree(dir);
    partial = dir;
    work.progress?.({ phase: 'checkout', done: 0, message: `checking out ${csum} as ${deploymentId(dep)}` });
    // The kernel is hashed from the repo while the checkout is written.
    const early = earlyBootChecksum(repo, csum).catch(() => null);
    await checkout(repo, csum, dir, { signal: work.signal });
    throwIfAborted(work.signal);
    const pre = await early;
    const kernel = findKernel(dir, { checksum: false });
    dep.bootcsum = pre && pre.kernel === kernel.kernel && pre.initramfs === kernel.initramfs ? pre.bootcsum : findKernel(dir).bootcsum;
    prepareEtc(dir);

    if (opts.stage) {
      writeOrigin(s.originPath(dep), origin);
      fs.mkdirSync(`${s.runDir}/ostree`, { recursive: true, mode: 0o755 });
      writeStagedState(s.stagedFile, { target: dep, merge, kargs: kargs ? kargs.toArray() : null, overlayInitrds: null });
      // A previously staged deployment is replaced: its directory and origin are removed now.
      if (s.staged && deploymentId(s.staged) !== deploymentId(dep)) {
        removeTree(s.deploymentDir(s.staged));
        fs.rmSync(s.originPath(s.staged), { force: true });
      }
      partial = null;
      const after = s.reload();
      return { sysroot: after, deployment: after.staged!, etcChanges: null };
    }

    const etcChanges = finalizeDeployment(s, dep, merge);
    partial = null; // from here on cleanup owns it: the swap may already have happened
    const list = simpleWriteList(s, osname, dep, merge, opts);
    const { sysroot: after } = await writeDeployments(s, list, { ...work, cleanup: !opts.noCleanup });
    const written = after.deployments.find((d) => d.csum === csum && d.deployserial === serial && d.osname === osname)!;
    return { sysroot: after, deployment: written, etcChanges };
  } catch (e) {
    // Never leave a half-written deployment behind (a disk-full checkout, a cancel).
    if (partial) {
      try {
        removeTree(partial);
        fs.rmSync(`${partial}.origin`, { force: true });
      } catch { /* cleanup will get it */ }
    }
    throw toArborError(e, `deploy ${opts.revision}`);
  } finally {
    unlock();
  }
}

/** Kernel arguments of a new deployment: the merge deployment's, edited; null when nothing says otherwise. */
export function computeKargs(merge: Deployment | null, k: KargsOptions = {}): KernelArgs | null {
  let kargs: KernelArgs | null = null;
  if (k.none) kargs = new KernelArgs();
  else if (merge && (k.replace?.length || k.append?.length)) kargs = KernelArgs.parse(merge.options);
  for (const a of k.replace ?? []) (kargs ??= new KernelArgs()).replace(a);
  for (const a of k.append ?? []) (kargs ??= new KernelArgs()).append(a);
  return kargs;
}

/** The serial after the highest one on disk for this commit (leftovers of crashed runs count too). */
function allocateDeployserial(s: Sysroot, osname: string, csum: Checksum): number {
  let next = 0;
  const dir = `${s.path}/ostree/deploy/${osname}/deploy`;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const name of fs.readdirSync(dir)) {
    const m = /^([0-9a-f]{64})\.(\d+)(\.origin)?$/.exec(name);
    if (m && m[1] === csum) next = Math.max(next, Number(m[2]) + 1);
  }
  return next;
}

/** /etc merge, /var stamp, origin, seal: everything inside the deployment before it goes live. */
export function finalizeDeployment(s: Sysroot, dep: Deployment, merge: Deployment | null): EtcDiff | null {
  const dir = s.deploymentDir(dep);
  const etcChanges = merge ? mergeEtc(s.deploymentDir(merge), dir) : null;
  // libostree stamps the stateroot's /var once it has been (SELinux-)labelled.
  const stamp = `${s.path}/ostree/deploy/${dep.osname}/var/.ostree-selabeled`;
  if (!fs.existsSync(stamp)) writeFileAtomic(stamp, '');
  fs.rmSync(`${dir}/etc/.updated`, { force: true });
  fs.rmSync(`${dir}/var/.updated`, { force: true });
  if (dep.origin) writeOrigin(s.originPath(dep), dep.origin);
  if (!sealingDisabled()) setImmutable(dir, true);
  return etcChanges;
}
