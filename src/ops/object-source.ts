// Reading a commit's tree object by object, from the local repo or straight from a
// remote (verified like pull verifies), without checking anything out. Update
// checks use it to read one file (the rpmdb) or walk the directory objects of a
// commit they have only the metadata of.
import { ArborError } from '../common/errors';
import { Checksum } from '../ostree/checksum';
import { Fetcher, createFetcher } from '../ostree/fetcher';
import { DirTreeObject } from '../ostree/objects';
import { MAX_CONTENT_SIZE, MAX_METADATA_SIZE } from '../ostree/pull-session';
import { verifyContent, verifyMetadata } from '../ostree/pull-verify';
import { getRemote, remoteTlsSettings } from '../ostree/remotes';
import { Repo } from '../ostree/repo';

export interface ObjectSource {
  dirtree(csum: Checksum): Promise<DirTreeObject>;
  /** A regular file's content (null for a symlink). */
  file(csum: Checksum): Promise<Buffer | null>;
  /** Bytes received from the network so far. */
  readonly bytesFetched: number;
  /** Size of each object fetched from the network, by checksum. */
  readonly fetched: Map<Checksum, number>;
  close(): void;
}

/** Objects of the local repo. */
export function localSource(repo: Repo): ObjectSource {
  return {
    dirtree: async (c) => repo.loadDirTree(c),
    file: async (c) => (await repo.loadFile(c)).content,
    bytesFetched: 0,
    fetched: new Map(),
    close: () => undefined,
  };
}

/**
 * Objects of the local repo when it has them, else of the remote: each fetched
 * object is verified against its checksum before it is used. Nothing is stored
 * (the pull that follows stores what it fetches, under its own transaction).
 */
export function remoteSource(repo: Repo, remoteName: string, signal?: AbortSignal, fetcher?: Fetcher): ObjectSource {
  const remote = getRemote(repo, remoteName);
  const f = fetcher ?? createFetcher(remote.contentUrl ?? remote.url, { tls: remoteTlsSettings(remote) });
  const source = `remote '${remote.name}'`;
  const trees = new Map<Checksum, DirTreeObject>();
  const self = {
    bytesFetched: 0,
    fetched: new Map<Checksum, number>(),
    async get(csum: Checksum, ext: 'dirtree' | 'filez', maxBytes: number): Promise<Buffer> {
      const res = await f.fetch({ path: `objects/${csum.slice(0, 2)}/${csum.slice(2)}.${ext}`, maxBytes, signal });
      if (!res) throw new ArborError('NotFound', `${ext} ${csum} is not on ${source}`);
      self.bytesFetched += res.body.length;
      self.fetched.set(csum, res.body.length);
      return res.body;
    },
    async dirtree(csum: Checksum): Promise<DirTreeObject> {
      const cached = trees.get(csum);
      if (cached) return cached;
      const t = repo.hasObject('dirtree', csum) ? repo.loadDirTree(csum) : verifyMetadata('dirtree', csum, await self.get(csum, 'dirtree', MAX_METADATA_SIZE), source);
      trees.set(csum, t);
      return t;
    },
    async file(csum: Checksum): Promise<Buffer | null> {
      if (repo.hasObject('file', csum)) return (await repo.loadFile(csum)).content;
      return (await verifyContent(csum, await self.get(csum, 'filez', MAX_CONTENT_SIZE), source)).content;
    },
    close: () => {
      if (!fetcher) f.close();
    },
  };
  return self;
}

/** The content checksum of a regular file at `path` ('usr/share/rpm/rpmdb.sqlite'), or null when absent. */
export async function findFile(src: ObjectSource, rootTree: Checksum, path: string): Promise<Checksum | null> {
  const parts = path.split('/').filter(Boolean);
  let tree = rootTree;
  for (let i = 0; i < parts.length; i++) {
    const t = await src.dirtree(tree);
    if (i === parts.length - 1) return t.files.find(([n]) => n === parts[i])?.[1] ?? null;
    const d = t.dirs.find(([n]) => n === parts[i]);
    if (!d) return null;
    tree = d[1];
  }
  return null;
}
