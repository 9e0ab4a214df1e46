// `fsck`: every object is re-hashed and, for metadata, re-parsed in normal form;
// then every ref and commit is walked to prove its tree is complete.
import { ArborError, throwIfAborted } from '../common/errors';
import { WorkOptions, limiter } from '../common/progress';
import { decode } from '../gvariant';
import { Checksum } from './checksum';
import { ObjectType, T_COMMIT, T_DIRMETA, T_DIRTREE, contentChecksum, decodeCommit, decodeCommitMeta, decodeDirMeta, decodeDirTree } from './objects';
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
  const errors: string[] = [];
  const limit = limiter(8);
  let done = 0;
  await Promise.all(
    objects.map(({ type, csum }) =>
      limit(async () => {
        throwIfAborted(opts.signal);
        try {
          await verifyObject(repo, type, csum);
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
    if (!repo.hasObject('commit', c)) errors.push(`ref ${ref} points at commit ${c}, which is missing`);
  }
  const seen = new Set<string>();
  for (const c of commits) {
    if (partial.includes(c)) continue;
    try {
      const commit = repo.loadCommit(c);
      checkTree(repo, commit.rootTree, commit.rootMeta, `commit ${c}`, seen, errors);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { objects: objects.length, commits: commits.length, partial, errors: [...new Set(errors)] };
}

async function verifyObject(repo: Repo, type: ObjectType, csum: Checksum): Promise<void> {
  const where = `${type} object ${csum}`;
  if (type === 'file') {
    const { header, content } = await repo.loadFile(csum);
    const actual = contentChecksum(header, content);
    if (actual !== csum) throw new ArborError('Corrupted', `${where}: checksum mismatch (content hashes to ${actual})`);
    return;
  }
  if (type === 'commitmeta') {
    decodeCommitMeta(repo.readMetadata(type, csum), where);
    return;
  }
  if (type === 'tombstone-commit') return;
  const bytes = repo.readMetadata(type, csum, true);
  try {
    decode(STRICT_TYPES[type]!, bytes, { strict: true });
  } catch (e) {
    throw new ArborError('Corrupted', `${where}: ${(e as Error).message}`);
  }
  if (type === 'commit') decodeCommit(bytes, where);
  else if (type === 'dirtree') decodeDirTree(bytes, where);
  else decodeDirMeta(bytes, where);
}

function checkTree(repo: Repo, tree: Checksum, meta: Checksum, where: string, seen: Set<string>, errors: string[]): void {
  if (!repo.hasObject('dirmeta', meta)) errors.push(`${where}: dirmeta ${meta} is missing`);
  if (seen.has(tree)) return;
  seen.add(tree);
  if (!repo.hasObject('dirtree', tree)) {
    errors.push(`${where}: dirtree ${tree} is missing`);
    return;
  }
  let t;
  try {
    t = repo.loadDirTree(tree);
  } catch (e) {
    errors.push((e as Error).message);
    return;
  }
  for (const [name, c] of t.files) {
    if (!seen.has(c)) {
      seen.add(c);
      if (!repo.hasObject('file', c)) errors.push(`${where}: file object ${c} ('${name}') is missing`);
    }
  }
  for (const [, dt, dm] of t.dirs) checkTree(repo, dt, dm, where, seen, errors);
}
