// `<run>/ostree/staged-deployment`: the GVariant a{sv} that records a staged
// deployment until finalize-staged writes it to /boot — target and merge
// deployment as {name, osname, bootcsum}, optional kargs and overlay-initrds.
import { writeFileAtomic } from '../common/atomic-write';
import { Variant, encode } from '../gvariant';
import { Deployment, deploymentId } from './deployment';

export interface StagedStateInput {
  target: Deployment;
  merge: Deployment | null;
  kargs: string[] | null;
  overlayInitrds: string[] | null;
}

function deploymentVariant(d: Deployment): Variant {
  return new Variant('a{sv}', [
    ['name', new Variant('s', deploymentId(d))],
    ['osname', new Variant('s', d.osname)],
    ['bootcsum', new Variant('s', d.bootcsum)],
  ]);
}

export function encodeStagedState(st: StagedStateInput): Buffer {
  const dict: Array<[string, Variant]> = [['target', deploymentVariant(st.target)]];
  if (st.merge) dict.push(['merge-deployment', deploymentVariant(st.merge)]);
  if (st.kargs) dict.push(['kargs', new Variant('as', st.kargs)]);
  if (st.overlayInitrds) dict.push(['overlay-initrds', new Variant('as', st.overlayInitrds)]);
  return encode('a{sv}', dict);
}

export function writeStagedState(file: string, st: StagedStateInput): void {
  writeFileAtomic(file, encodeStagedState(st), { mode: 0o644 });
}
