// The set of objects reachable from a set of commits: what prune keeps. Keys are
// `<checksum>.<type>`.
import { Checksum } from './checksum';
import { ObjectType } from './objects';
import { Repo } from './repo';

export function objectKey(type: ObjectType, csum: Checksum): string {
  return `${csum}.${type}`;
}

/** Adds each commit, its parents up to `depth` (-1: all), and their trees to `into`. */
export function addReachable(repo: Repo, commit: Checksum, depth: number, into: Set<string>): void {
  let c: Checksum | null = commit;
  for (let level = 0; c && (depth < 0 || level <= depth); level++) {
    const key = objectKey('commit', c);
    if (into.has(key) || !repo.hasObject('commit', c)) return;
    into.add(key);
    into.add(objectKey('commitmeta', c));
    const obj = repo.loadCommit(c);
    if (!repo.isCommitPartial(c)) addTree(repo, obj.rootTree, obj.rootMeta, into);
    c = obj.parent;
  }
}

function addTree(repo: Repo, tree: Checksum, meta: Checksum, into: Set<string>): void {
  into.add(objectKey('dirmeta', meta));
  const key = objectKey('dirtree', tree);
  if (into.has(key)) return;
  into.add(key);
  if (!repo.hasObject('dirtree', tree)) return;
  const t = repo.loadDirTree(tree);
  for (const [, c] of t.files) into.add(objectKey('file', c));
  for (const [, dt, dm] of t.dirs) addTree(repo, dt, dm, into);
}
