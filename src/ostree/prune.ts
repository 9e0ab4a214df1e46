// `prune`: delete objects no ref (or, without refsOnly, no commit) reaches, as
// `ostree prune` does. Holds the exclusive repo lock so no writer races it.
import fs from 'node:fs';
import { Repo } from './repo';
import { addReachable, objectKey } from './reachable';

export interface PruneOptions {
  /** Only refs are roots: commits no ref reaches are deleted too. */
  refsOnly?: boolean;
  /** History kept behind each root (-1: all). */
  depth?: number;
  dryRun?: boolean;
}

export interface PruneResult { total: number; pruned: number; bytesFreed: number }

export function prune(repo: Repo, opts: PruneOptions = {}): PruneResult {
  const unlock = repo.lock(true);
  try {
    const depth = opts.depth ?? -1;
    const objects = repo.listObjects();
    const keep = new Set<string>();
    // Refs first, with their history; then, unless refsOnly, every commit on its own.
    for (const c of repo.listRefs().values()) addReachable(repo, c, depth, keep);
    if (!opts.refsOnly) for (const o of objects) if (o.type === 'commit') addReachable(repo, o.csum, 0, keep);
    let pruned = 0;
    let bytesFreed = 0;
    for (const { type, csum } of objects) {
      if (keep.has(objectKey(type, csum))) continue;
      const p = repo.objectPath(type, csum);
      bytesFreed += fs.lstatSync(p).size;
      pruned++;
      if (!opts.dryRun) {
        fs.rmSync(p, { force: true });
        if (type === 'commit') fs.rmSync(repo.commitPartialPath(csum), { force: true });
      }
    }
    return { total: objects.length, pruned, bytesFreed };
  } finally {
    unlock();
  }
}
