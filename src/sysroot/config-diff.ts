// `config-diff`: how a deployment's /etc differs from its defaults (usr/etc), as
// `ostree admin config-diff` prints it: M, then D, then A lines.
import { ArborError } from '../common/errors';
import { EtcDiff, diffEtc } from './etc-merge';
import { Sysroot } from './sysroot';

export function configDiff(s: Sysroot, osname?: string): EtcDiff {
  const os = osname ?? s.booted?.osname;
  if (!os) throw new ArborError('InvalidArgument', 'config-diff: no stateroot given (--os) and no booted deployment');
  const d = s.mergeDeployment(os);
  if (!d) throw new ArborError('NotFound', `config-diff: stateroot '${os}' has no deployment`);
  return diffEtc(s.deploymentDir(d));
}

export function renderConfigDiff(diff: EtcDiff): string {
  return [
    ...diff.modified.map((p) => `M    ${p}\n`),
    ...diff.removed.map((p) => `D    ${p}\n`),
    ...diff.added.map((p) => `A    ${p}\n`),
  ].join('');
}
