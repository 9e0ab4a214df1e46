// `finalize-staged`: at shutdown, turn the staged deployment into the default
// one — /etc merge from the merge deployment as it is now, kargs, seal, then the
// boot entries — unless `<run>/ostree/staged-deployment-locked` exists.
import fs from 'node:fs';
import { ArborError, toArborError } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Deployment } from './deployment';
import { finalizeDeployment } from './deploy';
import { simpleWriteList } from './policy';
import { STAGED_LOCK_FILE, Sysroot, decodeStagedState } from './sysroot';
import { writeDeployments } from './write-deployments';

export type FinalizeOutcome = 'finalized' | 'nothing-staged' | 'locked';

export async function finalizeStaged(sysroot: Sysroot, work: WorkOptions = {}): Promise<{ sysroot: Sysroot; outcome: FinalizeOutcome }> {
  const unlock = sysroot.lock();
  try {
    const s = sysroot.reload();
    if (!s.staged) return { sysroot: s, outcome: 'nothing-staged' };
    if (fs.existsSync(`${s.runDir}/${STAGED_LOCK_FILE}`)) return { sysroot: s, outcome: 'locked' };
    const state = decodeStagedState(fs.readFileSync(s.stagedFile), s.stagedFile);
    const staged = s.staged;
    let merge: Deployment | null = null;
    if (state.merge) {
      const m = state.merge;
      merge = s.bootDeployments.find((d) => d.osname === m.osname && d.csum === m.csum && d.deployserial === m.deployserial) ?? null;
      if (!merge) throw new ArborError('NotFound', `merge deployment ${m.csum}.${m.deployserial} of the staged deployment is gone`);
    }
    const dep: Deployment = { ...staged, staged: false, options: state.kargs ? state.kargs.join(' ') : merge?.options ?? '' };
    finalizeDeployment(s, dep, merge);
    const list = simpleWriteList(s, dep.osname, dep, merge);
    // The staged entry is not in the list (it became a real one): writeDeployments removes the staged file.
    const { sysroot: after } = await writeDeployments(s, list, work);
    return { sysroot: after, outcome: 'finalized' };
  } catch (e) {
    throw toArborError(e, 'finalize-staged');
  } finally {
    unlock();
  }
}
