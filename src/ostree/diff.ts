// `diff`: which paths two commits add, change or remove. Subtrees with equal
// checksums are skipped without being read, so diffing related commits is cheap.
import { Checksum } from './checksum';
import { Repo } from './repo';
import { TreeEntry, listDir, rootEntry, walkTree } from './tree';

export interface TreeDiff {
  added: string[];
  modified: string[];
  removed: string[];
}

export function diffCommits(repo: Repo, from: Checksum, to: Checksum): TreeDiff {
  const out: TreeDiff = { added: [], modified: [], removed: [] };
  diffDirs(repo, rootEntry(repo, from), rootEntry(repo, to), out);
  return out;
}

type Dir = TreeEntry & { kind: 'dir' };

// Reported as `ostree diff` does: a removed directory is one path, an added one
// brings all its contents, and an entry that changes type counts as modified.
function diffDirs(repo: Repo, a: Dir, b: Dir, out: TreeDiff): void {
  if (a.meta !== b.meta) out.modified.push(b.path);
  if (a.tree === b.tree) return;
  const left = new Map(listDir(repo, a).map((e) => [e.name, e]));
  const right = new Map(listDir(repo, b).map((e) => [e.name, e]));
  for (const [name, ea] of left) {
    const eb = right.get(name);
    if (!eb) out.removed.push(ea.path);
    else if (ea.kind === 'dir' && eb.kind === 'dir') diffDirs(repo, ea, eb, out);
    else if (ea.kind !== eb.kind || (ea.kind === 'file' && eb.kind === 'file' && ea.checksum !== eb.checksum)) out.modified.push(eb.path);
  }
  for (const [name, eb] of right) if (!left.has(name)) walkTree(repo, eb, (e) => out.added.push(e.path));
}
