// `fsck`: every object is re-hashed and, for metadata, re-parsed in normal form;
// then every ref and commit is walked to prove its tree is complete. The walk uses
// what the first pass read, so each object is read from disk once.
import { ArborError, throwIfAborted } from '../common/errors';
import { WorkOptions, limiter } from '../common/progress';
import { decode } from '../gvariant';
import { Checksum } from './checksum';
import {
  DirTreeObject, ObjectType, T_COMMIT, T_DIRMETA, T_DIRTREE, contentChecksum, decodeCommit, decodeCommitMeta,
  decodeDirMeta, decodeDirTree,
} from './objects';
import { objectKey } from './reachable';
import { Repo } from './repo';

export interface FsckResult {
  objects: number;
  commits: number;
  /** Commits whose trees are knowingly incomplete (.commitpartial). */
  partial: Checksum[];
  errors: string[];
}

const STRICT_TYPES: Partial<Record<ObjectType, string>> = { commit: T_COMMIT, dirtree: T_DIRTREE, dirmeta: T_DIRMETA };

export async function fsck(repo: Repo, opts: WorkOptions = {}): Promise<FsckResult> {
  const objects = repo.listObjects();
  const present = new Set(objects.map((o) => objectKey(o.type, o.csum)));
  const trees = new Map<Checksum, DirTreeObject>();
  const errors: string[] = [];
  const limit = limiter(4);
  let done = 0;
  await Promise.all(
    objects.map(({ type, csum }) =>
      limit(async () => {
        throwIfAborted(opts.signal);
        try {
          const tree = await verifyObject(repo, type, csum);
          if (tree) trees.set(csum, tree);
        } catch (e) {
          if (e instanceof ArborError && e.code === 'Cancelled') throw e;
          errors.push(e instanceof ArborError ? e.message : `${type} object ${csum}: ${(e as Error).message}`);
        }
        if (++done % 1024 === 0) opts.progress?.({ phase: 'fsck', done, total: objects.length });
      }),
    ),
  );
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

/** Checks one object; returns a dirtree's decoded form for the reachability walk. */
async function verifyObject(repo: Repo, type: ObjectType, csum: Checksum): Promise<DirTreeObject | undefined> {
  const where = `${type} object ${csum}`;
  if (type === 'file') {
    const { header, content } = await repo.loadFile(csum);
    const actual = contentChecksum(header, content);
    if (actual !== csum) throw new ArborError('Corrupted', `${where}: checksum mismatch (content hashes to ${actual})`);
    return undefined;
  }
  if (type === 'commitmeta') {
    decodeCommitMeta(repo.readMetadata(type, csum), where);
    return undefined;
  }
  if (type === 'tombstone-commit') return undefined;
  const bytes = repo.readMetadata(type, csum, true);
  try {
    decode(STRICT_TYPES[type]!, bytes, { strict: true });
  } catch (e) {
    throw new ArborError('Corrupted', `${where}: ${(e as Error).message}`);
  }
  if (type === 'commit') decodeCommit(bytes, where);
  else if (type === 'dirmeta') decodeDirMeta(bytes, where);
  else return decodeDirTree(bytes, where);
  return undefined;
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
