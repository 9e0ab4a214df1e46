// How many bytes an upgrade to a commit will download, known before pulling it.
// Exact when the commit (or the summary entry of its ref) carries `ostree.sizes`
// (`ostree commit --generate-sizes`: every object's archived size); otherwise a
// walk of the new tree's directory objects finds which objects are missing, and
// each missing file is sized by the file at the same path in the current tree —
// an estimate, and the result says so.
import fs from 'node:fs';
import { throwIfAborted } from '../common/errors';
import { limiter } from '../common/progress';
import { Checksum, checksumFromBytes } from '../ostree/checksum';
import { CommitObject, Metadata, ObjectType, metadataGet } from '../ostree/objects';
import { Repo } from '../ostree/repo';
import { decodeSummary } from '../ostree/summary';
import { ObjectSource } from './object-source';

export interface DownloadSize {
  /** Bytes to download (the estimate's sum when not exact). */
  bytes: number;
  exact: boolean;
  /** 'ostree.sizes': from the commit's (or summary's) size index; 'tree-walk': estimated. */
  method: 'ostree.sizes' | 'tree-walk';
  /** Objects the upgrade will fetch. */
  objects: number;
  /** tree-walk only: missing files sized by the file at the same path in the current tree. */
  estimatedObjects: number;
  /** tree-walk only: missing objects of unknown size (new paths, directory metadata), counted as 0 bytes. */
  unsizedObjects: number;
}

export interface SizeEntry { csum: Checksum; archived: number; unpacked: number; type: ObjectType }

const SIZE_TYPES: Record<number, ObjectType> = { 1: 'file', 2: 'dirtree', 3: 'dirmeta' };

function readVaruint(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (let i = at; i < b.length; i++) {
    v += (b[i] & 0x7f) * 2 ** shift;
    if (!(b[i] & 0x80)) return [v, i + 1];
    shift += 7;
  }
  throw new Error('truncated varuint');
}

/** `ostree.sizes` (aay: checksum, varuint archived size, varuint unpacked size, object type byte), or null. */
export function parseSizes(meta: Metadata): SizeEntry[] | null {
  const v = metadataGet<unknown>(meta, 'ostree.sizes');
  if (!Array.isArray(v)) return null;
  const out: SizeEntry[] = [];
  try {
    for (const e of v) {
      const b = e as Uint8Array;
      if (!(b instanceof Uint8Array) || b.length < 34) return null;
      const csum = checksumFromBytes(Buffer.from(b.subarray(0, 32)), 'ostree.sizes');
      const [archived, p1] = readVaruint(b, 32);
      const [unpacked, p2] = readVaruint(b, p1);
      // Entries before ostree 2020.1 have no type byte; they listed content objects only.
      const type = p2 < b.length ? SIZE_TYPES[b[p2]] : 'file';
      if (!type) return null;
      out.push({ csum, archived, unpacked, type });
    }
  } catch {
    return null;
  }
  return out;
}

/** The size index of `ref` in the cached summary of `remote`, if the summary carries one. */
function summarySizes(repo: Repo, remote: string, ref: string, csum: Checksum): SizeEntry[] | null {
  try {
    const p = `${repo.path}/tmp/cache/summaries/${remote}`;
    const s = decodeSummary(fs.readFileSync(p), p);
    const r = s.refs.get(ref);
    return r && r.checksum === csum ? parseSizes(r.metadata) : null;
  } catch {
    return null;
  }
}

export interface DownloadSizeOptions {
  repo: Repo;
  remote: string;
  ref: string;
  checksum: Checksum;
  commit: CommitObject;
  /** Reads the new tree's directory objects (local first, else the remote). */
  source: ObjectSource;
  /** The current tree, for sizing changed files by their previous version. */
  current: Checksum | null;
  signal?: AbortSignal;
}

export async function downloadSize(o: DownloadSizeOptions): Promise<DownloadSize> {
  const sizes = parseSizes(o.commit.metadata) ?? summarySizes(o.repo, o.remote, o.ref, o.checksum);
  if (sizes) {
    let bytes = 0;
    let objects = 0;
    for (const e of sizes) {
      if (o.repo.hasObject(e.type, e.csum)) continue;
      bytes += e.archived;
      objects++;
    }
    return { bytes, exact: true, method: 'ostree.sizes', objects, estimatedObjects: 0, unsizedObjects: 0 };
  }
  return walkEstimate(o);
}

async function walkEstimate(o: DownloadSizeOptions): Promise<DownloadSize> {
  const { repo } = o;
  // Path → size of the current tree's file object (as stored locally).
  const previous = new Map<string, number>();
  if (o.current && repo.hasObject('commit', o.current) && !repo.isCommitPartial(o.current)) {
    const walk = (tree: Checksum, dir: string): void => {
      const t = repo.loadDirTree(tree);
      for (const [name, c] of t.files) {
        try {
          previous.set(`${dir}/${name}`, fs.lstatSync(repo.objectPath('file', c)).size);
        } catch { /* missing object: no estimate from it */ }
      }
      for (const [name, dt] of t.dirs) walk(dt, `${dir}/${name}`);
    };
    walk(repo.loadCommit(o.current).rootTree, '');
  }
  const res: DownloadSize = { bytes: 0, exact: false, method: 'tree-walk', objects: 0, estimatedObjects: 0, unsizedObjects: 0 };
  const seenTrees = new Set<string>();
  const seenObjects = new Set<string>();
  const limit = limiter(8);
  const missing = (type: ObjectType, c: Checksum): boolean => {
    const key = `${c}.${type}`;
    if (seenObjects.has(key)) return false;
    seenObjects.add(key);
    return !repo.hasObject(type, c);
  };
  const visit = async (tree: Checksum, meta: Checksum, dir: string): Promise<void> => {
    throwIfAborted(o.signal);
    if (missing('dirmeta', meta)) {
      res.objects++;
      res.unsizedObjects++;
    }
    if (seenTrees.has(tree)) return;
    seenTrees.add(tree);
    const local = repo.hasObject('dirtree', tree);
    const t = await limit(() => o.source.dirtree(tree));
    if (!local) {
      res.objects++;
      res.bytes += o.source.fetched.get(tree) ?? 0;
    }
    for (const [name, c] of t.files) {
      if (!missing('file', c)) continue;
      res.objects++;
      const prev = previous.get(`${dir}/${name}`);
      if (prev === undefined) res.unsizedObjects++;
      else {
        res.estimatedObjects++;
        res.bytes += prev;
      }
    }
    await Promise.all(t.dirs.map(([name, dt, dm]) => visit(dt, dm, `${dir}/${name}`)));
  };
  await visit(o.commit.rootTree, o.commit.rootMeta, '');
  return res;
}
