// Verifying one stored object: metadata re-hashed and re-parsed in normal form,
// content re-hashed from its decompressed bytes. Shared by fsck and its workers.
import { ArborError } from '../common/errors';
import { decode } from '../gvariant';
import { Checksum } from './checksum';
import {
  DirTreeObject, ObjectType, T_COMMIT, T_DIRMETA, T_DIRTREE, contentChecksum, decodeCommit, decodeCommitMeta,
  decodeDirMeta, decodeDirTree,
} from './objects';
import { Repo } from './repo';

const STRICT_TYPES: Partial<Record<ObjectType, string>> = { commit: T_COMMIT, dirtree: T_DIRTREE, dirmeta: T_DIRMETA };

/** Checks one object; returns a dirtree's decoded form for the reachability walk. */
export async function verifyObject(repo: Repo, type: ObjectType, csum: Checksum): Promise<DirTreeObject | undefined> {
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
