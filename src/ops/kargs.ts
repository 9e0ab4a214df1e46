// `kargs` (rpm-ostree kargs): kernel arguments are part of a deployment, so an
// edit makes a new deployment of the same commit with the edited arguments (the
// booted one stays as it is, and becomes the rollback); with no edit, the
// current arguments are returned. Edits stack on a pending deployment.
import { throwIfAborted } from '../common/errors';
import { isChecksum } from '../ostree/checksum';
import { Deployment, KargsEdit, Sysroot, deploy, originRefspec } from '../sysroot';
import { applyKargsEdit } from '../sysroot/change-list';
import { userKargs } from '../sysroot/kargs';
import { OsOptions, baseDeployment, derivedOrigin } from './base';

export interface KargsOptions extends OsOptions, KargsEdit {
  stage?: boolean;
}

export interface KargsResult {
  /** Arguments before and after, without the ostree= one Arbor manages. */
  before: string[];
  after: string[];
  /** false when the edit changed nothing (no deployment was made). */
  changed: boolean;
  deployment: Deployment;
  sysroot: Sysroot;
}

export async function kargs(sysroot: Sysroot, opts: KargsOptions = {}): Promise<KargsResult> {
  const s = sysroot.reload();
  const { osname, deployment } = baseDeployment(s, opts.osname);
  const before = userKargs(deployment.options);
  const edited = userKargs(applyKargsEdit(deployment.options, opts).toString());
  const result: KargsResult = { before: before.toArray(), after: edited.toArray(), changed: false, deployment, sysroot: s };
  if (edited.toString() === before.toString()) return result;
  throwIfAborted(opts.signal);
  const refspec = originRefspec(deployment) ?? deployment.csum;
  const override = deployment.origin?.get('origin', 'override-commit');
  const r = await deploy(s, {
    osname,
    revision: deployment.csum,
    origin: derivedOrigin(deployment, refspec, override && isChecksum(override) ? override : null),
    kargs: { none: true, append: edited.toArray() },
    stage: !!opts.stage,
  }, { progress: opts.progress, signal: opts.signal });
  return { ...result, changed: true, deployment: r.deployment, sysroot: r.sysroot };
}
