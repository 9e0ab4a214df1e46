// Which deployments survive a new one: libostree's simple_write_deployment. The
// new deployment goes first (or right after the booted one with notAsDefault);
// the booted and merge deployments, pinned ones and other stateroots stay;
// retain flags keep pending (before the booted) and rollback (after) ones too.
import { Deployment, isPinned, sameDeployment } from './deployment';
import { Sysroot } from './sysroot';

export interface RetainPolicy {
  retain?: boolean;
  retainPending?: boolean;
  retainRollback?: boolean;
  notAsDefault?: boolean;
}

export function simpleWriteList(sysroot: Sysroot, osname: string | null, added: Deployment, merge: Deployment | null, p: RetainPolicy = {}): Deployment[] {
  const booted = sysroot.booted;
  const os = osname ?? booted?.osname ?? null;
  const out: Deployment[] = [];
  let addedNew = false;
  if (!p.notAsDefault) {
    out.push(added);
    addedNew = true;
  }
  // Without a booted or merge deployment, pending and rollback mean nothing: keep all.
  const retain = !!p.retain || (!booted && !merge && (!!p.retainPending || !!p.retainRollback));
  let beforeBooted = true;
  let beforeMerge = true;
  for (const d of sysroot.deployments) {
    if (d.staged) continue; // a new write replaces whatever was staged
    const osMatches = os === null || d.osname === os;
    const isBooted = sameDeployment(d, booted);
    const isMerge = sameDeployment(d, merge);
    if (isBooted) beforeBooted = false;
    if (isMerge) beforeMerge = false;
    const passedCrossover = booted ? !beforeBooted : !beforeMerge;
    if (retain || isPinned(d) || !osMatches || (p.retainPending && !passedCrossover) || isBooted || isMerge || (p.retainRollback && passedCrossover)) {
      out.push(d);
    }
    if (!addedNew && passedCrossover) {
      out.push(added);
      addedNew = true;
    }
  }
  if (!addedNew) out.push(added);
  return out;
}
