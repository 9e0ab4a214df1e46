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

function diffDirs(repo: Repo, a: Dir, b: Dir, out: TreeDiff): void {
  if (a.meta !== b.meta) out.modified.push(b.path);
  if (a.tree === b.tree) return;
  const left = new Map(listDir(repo, a).map((e) => [e.name, e]));
  const right = new Map(listDir(repo, b).map((e) => [e.name, e]));
  const all = (x: TreeEntry, into: string[]): void => walkTree(repo, x, (e) => into.push(e.path));
  for (const [name, ea] of left) {
    const eb = right.get(name);
    if (!eb) all(ea, out.removed);
    else if (ea.kind === 'dir' && eb.kind === 'dir') diffDirs(repo, ea, eb, out);
    else if (ea.kind === 'file' && eb.kind === 'file') {
      if (ea.checksum !== eb.checksum) out.modified.push(eb.path);
    } else {
      all(ea, out.removed);
      all(eb, out.added);
    }
  }
  for (const [name, eb] of right) if (!left.has(name)) all(eb, out.added);
}
