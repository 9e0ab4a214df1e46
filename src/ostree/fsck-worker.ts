// fsck's object pass for one share of the store, run in a worker thread: verifying is
// CPU work (inflate, sha256, strict GVariant parsing), and ostree's fsck uses one core.
import { parentPort, workerData } from 'node:worker_threads';
import { ArborError } from '../common/errors';
import { Checksum } from './checksum';
import { ObjectType } from './objects';
import { Repo } from './repo';
import { verifyObject } from './fsck-verify';

export interface FsckShare { objects: Array<[ObjectType, Checksum]> }
export interface FsckShareResult {
  errors: string[];
  trees: Array<[Checksum, Array<[string, Checksum]>, Array<[string, Checksum, Checksum]>]>;
}

/** Verifies one slice of the store's objects. */
async function verifyShare(repo: Repo, share: FsckShare): Promise<FsckShareResult> {
  const out: FsckShareResult = { errors: [], trees: [] };
  for (const [type, csum] of share.objects) {
    try {
      const tree = await verifyObject(repo, type, csum);
      if (tree) out.trees.push([csum, tree.files, tree.dirs]);
    } catch (e) {
      out.errors.push(e instanceof ArborError ? e.message : `${type} object ${csum}: ${(e as Error).message}`);
    }
  }
  return out;
}

// One worker serves many slices: the parent sends one, gets the result, sends the next.
if (parentPort) {
  const repo = Repo.open(workerData as string);
  parentPort.on('message', (share: FsckShare | null) => {
    // null: no more work. Closing the port lets the thread end by itself; terminating it
    // from outside can abort node while V8 still compiles for it in the background.
    if (share === null) return parentPort!.close();
    verifyShare(repo, share).then(
      (r) => parentPort!.postMessage(r),
      (e) => parentPort!.postMessage({ errors: [`fsck worker: ${(e as Error).message}`], trees: [] }),
    );
  });
}
