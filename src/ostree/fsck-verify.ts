// Verifying one stored object: metadata re-hashed and re-parsed in normal form,
// content re-hashed from its decompressed bytes. Shared by fsck and its workers.
import { ArborError } from '../common/errors';
import { Checksum } from './checksum';
import {
  DirTreeObject, ObjectType, contentChecksum, decodeCommit, decodeCommitMeta, decodeDirMeta, decodeDirTree,
} from './objects';
import { Repo } from './repo';

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
  // Parsed once, insisting on normal form.
  const bytes = repo.readMetadata(type, csum, true);
  if (type === 'commit') decodeCommit(bytes, where, true);
  else if (type === 'dirmeta') decodeDirMeta(bytes, where, true);
  else return decodeDirTree(bytes, where, true);
  return undefined;
}
