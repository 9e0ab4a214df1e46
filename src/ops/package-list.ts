// The packages of a commit: from its `rpmostree.rpmdb.pkglist` metadata (a(sssss):
// name, epoch, version, release, arch) when the compose wrote it, else from the
// rpmdb in its tree (usr/share/rpm/rpmdb.sqlite), read out of the content object
// alone — no checkout. null when the tree has neither (not an RPM-based tree).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArborError } from '../common/errors';
import { CommitObject, metadataGet } from '../ostree/objects';
import { RPMDB_FILE, TREE_RPMDB_DIR, headerNevra, readRpmdb } from '../rpm/rpmdb';
import { Nevra } from '../rpm/types';
import { ObjectSource, findFile } from './object-source';

export const PKGLIST_KEY = 'rpmostree.rpmdb.pkglist';

export interface PackageList {
  packages: Nevra[];
  /** Where the list came from. */
  source: 'pkglist' | 'rpmdb';
}

/** The pkglist metadata as Nevras, or null when the commit has none. */
export function pkglistFromMetadata(commit: CommitObject, where: string): Nevra[] | null {
  const v = metadataGet<unknown>(commit.metadata, PKGLIST_KEY);
  if (v === undefined) return null;
  if (!Array.isArray(v)) throw new ArborError('Corrupted', `${where}: ${PKGLIST_KEY} is not an a(sssss)`);
  return v.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 5 || e.some((x) => typeof x !== 'string')) {
      throw new ArborError('Corrupted', `${where}: ${PKGLIST_KEY}[${i}] is not a (name, epoch, version, release, arch) tuple`);
    }
    const [name, epoch, version, release, arch] = e as string[];
    return { name, epoch: /^\d+$/.test(epoch) ? Number(epoch) : 0, version, release, arch };
  });
}

export async function commitPackages(commit: CommitObject, src: ObjectSource, where: string): Promise<PackageList | null> {
  const fromMeta = pkglistFromMetadata(commit, where);
  if (fromMeta) return { packages: fromMeta, source: 'pkglist' };
  const csum = await findFile(src, commit.rootTree, `${TREE_RPMDB_DIR}/${RPMDB_FILE}`);
  if (!csum) return null;
  const bytes = await src.file(csum);
  if (!bytes) throw new ArborError('Corrupted', `${where}: ${TREE_RPMDB_DIR}/${RPMDB_FILE} is a symlink, not an rpm database`);
  // sqlite reads files, not buffers: a private temp dir holds the copy while it is read.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arbor-rpmdb-'));
  try {
    fs.writeFileSync(path.join(dir, RPMDB_FILE), bytes);
    return { packages: readRpmdb(dir).map((r) => headerNevra(r.header)), source: 'rpmdb' };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
