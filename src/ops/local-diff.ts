// The package diff between two commits of the local repo (both fully present).
import { Checksum } from '../ostree/checksum';
import { Repo } from '../ostree/repo';
import { localSource } from './object-source';
import { PackageDiff, diffPackages } from './package-diff';
import { commitPackages } from './package-list';

export async function localPackageDiff(repo: Repo, from: Checksum, to: Checksum): Promise<PackageDiff | null> {
  const src = localSource(repo);
  const a = await commitPackages(repo.loadCommit(from), src, `commit ${from}`);
  const b = await commitPackages(repo.loadCommit(to), src, `commit ${to}`);
  return a && b ? diffPackages(a.packages, b.packages) : null;
}
