// `fsck`: every object is re-hashed and, for metadata, re-parsed in normal form;
// then every ref and commit is walked to prove its tree is complete. The walk uses
// what the first pass read, so each object is read from disk once.
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ArborError, throwIfAborted } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { Checksum } from './checksum';
import type { FsckShare, FsckShareResult } from './fsck-worker';
import { verifyObject } from './fsck-verify';
import { DirTreeObject, ObjectType } from './objects';
import { objectKey } from './reachable';
import { Repo } from './repo';

export interface FsckResult {
  objects: number;
  commits: number;
  /** Commits whose trees are knowingly incomplete (.commitpartial). */
  partial: Checksum[];
  errors: string[];
}

export async function fsck(repo: Repo, opts: WorkOptions = {}): Promise<FsckResult> {
  const objects = repo.listObjects();
  const present = new Set(objects.map((o) => objectKey(o.type, o.csum)));
  const trees = new Map<Checksum, DirTreeObject>();
  const errors: string[] = [];
  await verifyAll(repo, objects, trees, errors, opts);
  const commits = objects.filter((o) => o.type === 'commit').map((o) => o.csum);
  const partial = commits.filter((c) => repo.isCommitPartial(c));
  for (const [ref, c] of repo.listRefs()) {
    if (!present.has(objectKey('commit', c))) errors.push(`ref ${ref} points at commit ${c}, which is missing`);
  }
  const walk = new TreeWalk(present, trees, errors);
  for (const c of commits) {
    if (partial.includes(c)) continue;
    try {
      const commit = repo.loadCommit(c);
      walk.check(commit.rootTree, commit.rootMeta, `commit ${c}`);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { objects: objects.length, commits: commits.length, partial, errors: [...new Set(errors)] };
}

// Below this many objects, starting worker threads costs more than it saves.
const WORKER_THRESHOLD = 2000;
const SLICE = 512;

/**
 * The object pass. Large stores are verified by one worker thread per core, each
 * taking slices of the object list until none are left; small ones in this thread.
 */
async function verifyAll(
  repo: Repo, objects: Array<{ type: ObjectType; csum: Checksum }>, trees: Map<Checksum, DirTreeObject>, errors: string[], opts: WorkOptions,
): Promise<void> {
  const nworkers = Math.min(os.availableParallelism(), Math.ceil(objects.length / SLICE));
  if (objects.length < WORKER_THRESHOLD || nworkers < 2) {
    let done = 0;
    for (const { type, csum } of objects) {
      if (done % 256 === 0) throwIfAborted(opts.signal);
      try {
        const tree = await verifyObject(repo, type, csum);
        if (tree) trees.set(csum, tree);
      } catch (e) {
        errors.push(e instanceof ArborError ? e.message : `${type} object ${csum}: ${(e as Error).message}`);
      }
      if (++done % 1024 === 0) opts.progress?.({ phase: 'fsck', done, total: objects.length });
    }
    return;
  }
  let next = 0;
  let done = 0;
  const runWorker = async (): Promise<void> => {
    const w = new Worker(path.join(__dirname, 'fsck-worker.js'), { workerData: repo.path });
    try {
      while (next < objects.length) {
        throwIfAborted(opts.signal);
        const slice = objects.slice(next, (next += SLICE));
        const r = await ask(w, { objects: slice.map((o) => [o.type, o.csum]) });
        errors.push(...r.errors);
        for (const [csum, files, dirs] of r.trees) trees.set(csum, { files, dirs });
        done += slice.length;
        opts.progress?.({ phase: 'fsck', done, total: objects.length });
      }
    } finally {
      const exited = new Promise((resolve) => w.once('exit', resolve));
      w.postMessage(null);
      await exited;
    }
  };
  await Promise.all(Array.from({ length: nworkers }, runWorker));
}

function ask(w: Worker, share: FsckShare): Promise<FsckShareResult> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    w.once('error', onError);
    w.once('message', (m: FsckShareResult) => {
      w.off('error', onError);
      resolve(m);
    });
    w.postMessage(share);
  });
}

/** Walks trees from the first pass, reporting what is referenced but missing. */
class TreeWalk {
  private seen = new Set<string>();
  constructor(private present: Set<string>, private trees: Map<Checksum, DirTreeObject>, private errors: string[]) {}

  check(tree: Checksum, meta: Checksum, where: string): void {
    if (!this.present.has(objectKey('dirmeta', meta))) this.errors.push(`${where}: dirmeta ${meta} is missing`);
    if (this.seen.has(tree)) return;
    this.seen.add(tree);
    if (!this.present.has(objectKey('dirtree', tree))) {
      this.errors.push(`${where}: dirtree ${tree} is missing`);
      return;
    }
    const t = this.trees.get(tree);
    if (!t) return; // unreadable: already reported by the first pass
    for (const [name, c] of t.files) {
      if (this.seen.has(c)) continue;
      this.seen.add(c);
      if (!this.present.has(objectKey('file', c))) this.errors.push(`${where}: file object ${c} ('${name}') is missing`);
    }
    for (const [, dt, dm] of t.dirs) this.check(dt, dm, where);
  }
}
