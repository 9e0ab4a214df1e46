// Reading a commit's tree: look up a path, list a directory. Used by checkout, ls,
// diff and the deployment's kernel lookup.
import { ArborError } from '../common/errors';
import { Checksum } from './checksum';
import { DirTreeObject } from './objects';
import { Repo } from './repo';

export type TreeEntry =
  | { kind: 'dir'; path: string; name: string; tree: Checksum; meta: Checksum }
  | { kind: 'file'; path: string; name: string; checksum: Checksum };

export function rootEntry(repo: Repo, commit: Checksum): TreeEntry & { kind: 'dir' } {
  const c = repo.loadCommit(commit);
  return { kind: 'dir', path: '/', name: '', tree: c.rootTree, meta: c.rootMeta };
}

export function joinTreePath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The entries of one directory, files and directories, sorted by name. */
export function listDir(repo: Repo, dir: TreeEntry & { kind: 'dir' }, tree?: DirTreeObject): TreeEntry[] {
  const t = tree ?? repo.loadDirTree(dir.tree);
  const out: TreeEntry[] = [
    ...t.files.map(([name, checksum]): TreeEntry => ({ kind: 'file', path: joinTreePath(dir.path, name), name, checksum })),
    ...t.dirs.map(([name, tr, meta]): TreeEntry => ({ kind: 'dir', path: joinTreePath(dir.path, name), name, tree: tr, meta })),
  ];
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

/** Finds `path` ('/usr/bin/sh') in a commit; symlinks are not followed. */
export function lookupPath(repo: Repo, commit: Checksum, path: string): TreeEntry {
  let cur: TreeEntry = rootEntry(repo, commit);
  for (const part of path.split('/').filter((p) => p !== '' && p !== '.')) {
    if (cur.kind !== 'dir') throw new ArborError('NotFound', `${path}: ${cur.path} is not a directory in commit ${commit}`);
    const next: TreeEntry | undefined = listDir(repo, cur).find((e) => e.name === part);
    if (!next) throw new ArborError('NotFound', `${path}: no such file or directory in commit ${commit}`);
    cur = next;
  }
  return cur;
}

/** Depth-first walk in name order; the visitor sees each directory before its entries. */
export function walkTree(repo: Repo, start: TreeEntry, visit: (e: TreeEntry) => void): void {
  visit(start);
  if (start.kind !== 'dir') return;
  for (const e of listDir(repo, start)) walkTree(repo, e, visit);
}
