// Checks on every object a pull receives, before it may be stored: metadata must
// hash to its name and be a normal-form GVariant with valid names; a .filez must
// inflate to exactly its declared size and hash (header + content) to its name.
import { ArborError } from '../common/errors';
import { inflateRaw } from '../common/compression';
import { Checksum } from './checksum';
import {
  CommitObject, DirMetaObject, DirTreeObject, FileHeader, contentChecksum, decodeArchiveHeader, decodeCommit,
  decodeDirMeta, decodeDirTree, encodeArchiveHeader, isSymlinkMode, sha256,
} from './objects';

type MetaType = 'commit' | 'dirtree' | 'dirmeta';
type Decoded<T extends MetaType> = T extends 'commit' ? CommitObject : T extends 'dirtree' ? DirTreeObject : DirMetaObject;

export function verifyMetadata<T extends MetaType>(type: T, csum: Checksum, bytes: Buffer, source: string): Decoded<T> {
  const where = `${type} ${csum} from ${source}`;
  const actual = sha256(bytes);
  if (actual !== csum) {
    throw new ArborError('Corrupted', `${where}: checksum mismatch (the received ${bytes.length} bytes hash to ${actual}); the server sent a damaged or wrong object`);
  }
  switch (type) {
    case 'commit': return decodeCommit(bytes, where, true) as Decoded<T>;
    case 'dirtree': return decodeDirTree(bytes, where, true) as Decoded<T>;
    default: return decodeDirMeta(bytes, where, true) as Decoded<T>;
  }
}

export interface VerifiedContent {
  header: FileHeader;
  /** null for a symlink. */
  content: Buffer | null;
  /** Length of the .filez header (the compressed data follows). */
  dataOffset: number;
}

/** The .filez is byte-for-byte what ostree writes for this object, so an archive repo may keep it as-is. */
export function isCanonicalFilez(v: VerifiedContent, filez: Buffer): boolean {
  return encodeArchiveHeader(v.header, v.content?.length ?? 0).equals(filez.subarray(0, v.dataOffset)) && (v.content !== null || filez.length === v.dataOffset);
}

export async function verifyContent(csum: Checksum, filez: Buffer, source: string): Promise<VerifiedContent> {
  const where = `file ${csum} from ${source}`;
  const { header, size, dataOffset } = decodeArchiveHeader(filez, where);
  const data = filez.subarray(dataOffset);
  let content: Buffer | null = null;
  if (isSymlinkMode(header.mode)) {
    if (size !== 0) throw new ArborError('Corrupted', `${where}: a symlink with a declared size of ${size}`);
  } else {
    try {
      content = await inflateRaw(data, Math.max(size, 1));
    } catch (e) {
      const m = (e as Error).message;
      throw new ArborError('Corrupted', `${where}: compressed data is damaged or larger than the declared ${size} bytes (${m})`);
    }
    if (content.length !== size) throw new ArborError('Corrupted', `${where}: inflates to ${content.length} bytes where the header says ${size}`);
  }
  const actual = contentChecksum(header, content);
  if (actual !== csum) {
    throw new ArborError('Corrupted', `${where}: checksum mismatch (the content hashes to ${actual}); the server sent a damaged or wrong object`);
  }
  return { header, content, dataOffset };
}
