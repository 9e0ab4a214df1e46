// `commit`: store a directory tree as dirtree/dirmeta/content objects and a commit
// object pointing at its root, then move the branch. Objects already in the repo
// are reused, so re-committing an unchanged tree writes only the commit.
import fs from 'node:fs';
import { ArborError, throwIfAborted, toArborError } from '../common/errors';
import { WorkOptions, limiter } from '../common/progress';
import { Variant } from '../gvariant';
import { Checksum } from './checksum';
import {
  DirTreeObject, FileHeader, Metadata, S_IFLNK, encodeCommit, encodeDirMeta, encodeDirTree,
} from './objects';
import { Repo, readXattrs } from './repo';
import { validateRef } from './refs';
import { Transaction } from './transaction';

export interface CommitOptions extends WorkOptions {
  branch?: string;
  subject?: string;
  body?: string;
  /** Metadata in the order it is written (the commit checksum depends on it). */
  metadata?: Metadata;
  /** Unix seconds; default SOURCE_DATE_EPOCH, else now. */
  timestamp?: number;
  /** Default: the branch's current commit; null for no parent. */
  parent?: Checksum | null;
  ownerUid?: number;
  ownerGid?: number;
  /** Extra refs for ostree.ref-binding (the branch is always bound unless noBindings). */
  bindRefs?: string[];
  noBindings?: boolean;
  /** Paths inside the tree ('/dev', '/proc') left out of the commit. */
  skip?: Set<string>;
  /** Return the branch's commit instead of making a new one when the tree is unchanged. */
  skipIfUnchanged?: boolean;
}

export interface CommitResult {
  checksum: Checksum;
  /** false when skipIfUnchanged found nothing to do. */
  created: boolean;
  stats: Transaction['stats'];
}

export async function commitTree(repo: Repo, srcDir: string, opts: CommitOptions = {}): Promise<CommitResult> {
  if (opts.branch) validateRef(opts.branch, 'branch');
  let rootStat: fs.Stats;
  try {
    rootStat = fs.statSync(srcDir);
  } catch (e) {
    throw toArborError(e, 'commit');
  }
  if (!rootStat.isDirectory()) throw new ArborError('InvalidArgument', `commit: ${srcDir} is not a directory`);
  const tx = new Transaction(repo);
  try {
    const writer = new TreeWriter(tx, opts);
    const [tree, meta] = await writer.writeDir(srcDir, '/');
    const parent = opts.parent !== undefined ? opts.parent : opts.branch ? repo.readRef(opts.branch) : null;
    if (opts.skipIfUnchanged && parent) {
      const p = repo.loadCommit(parent);
      if (p.rootTree === tree && p.rootMeta === meta) {
        tx.abort();
        return { checksum: parent, created: false, stats: tx.stats };
      }
    }
    const bytes = encodeCommit({
      metadata: commitMetadata(repo, opts),
      parent,
      subject: opts.subject ?? '',
      body: opts.body ?? '',
      timestamp: opts.timestamp ?? defaultTimestamp(),
      rootTree: tree,
      rootMeta: meta,
    });
    const csum = tx.writeMetadata('commit', bytes);
    await tx.commit();
    if (opts.branch) repo.setRef(opts.branch, csum);
    return { checksum: csum, created: true, stats: tx.stats };
  } catch (e) {
    tx.abort();
    throw toArborError(e, 'commit');
  }
}

/** The metadata order `ostree commit` writes: user keys, then bindings. */
function commitMetadata(repo: Repo, opts: CommitOptions): Metadata {
  const md: Metadata = [...(opts.metadata ?? [])];
  if (!opts.noBindings) {
    const refs = [...new Set([...(opts.branch ? [opts.branch] : []), ...(opts.bindRefs ?? [])])].sort();
    if (refs.length) md.push(['ostree.ref-binding', new Variant('as', refs)]);
    const cid = repo.config.get('core', 'collection-id');
    if (cid) md.push(['ostree.collection-binding', new Variant('s', cid)]);
  }
  return md;
}

export function defaultTimestamp(): number {
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && /^\d+$/.test(sde)) return Number(sde);
  return Math.floor(Date.now() / 1000);
}

class TreeWriter {
  private limit = limiter(32);
  private files = 0;
  private bytes = 0;

  constructor(private tx: Transaction, private opts: CommitOptions) {}

  private owner(st: fs.Stats): { uid: number; gid: number } {
    return { uid: this.opts.ownerUid ?? st.uid, gid: this.opts.ownerGid ?? st.gid };
  }

  async writeDir(abs: string, rel: string): Promise<[Checksum, Checksum]> {
    throwIfAborted(this.opts.signal);
    const st = fs.lstatSync(abs);
    const dirmeta = this.tx.writeMetadata('dirmeta', encodeDirMeta({ ...this.owner(st), mode: st.mode, xattrs: readXattrs(abs) }));
    const tree: DirTreeObject = { files: [], dirs: [] };
    const entries = fs.readdirSync(abs, { withFileTypes: true });
    await Promise.all(
      entries.map(async (e) => {
        const childAbs = `${abs}/${e.name}`;
        const childRel = rel === '/' ? `/${e.name}` : `${rel}/${e.name}`;
        if (this.opts.skip?.has(childRel)) return;
        if (e.isDirectory()) {
          const [t, m] = await this.writeDir(childAbs, childRel);
          tree.dirs.push([e.name, t, m]);
        } else if (e.isFile() || e.isSymbolicLink()) {
          tree.files.push([e.name, await this.limit(() => this.writeFile(childAbs, e.isSymbolicLink()))]);
        } else {
          throw new ArborError('Unsupported', `${childAbs}: cannot commit a device node, socket or FIFO (skip it)`);
        }
      }),
    );
    return [this.tx.writeMetadata('dirtree', encodeDirTree(tree)), dirmeta];
  }

  private async writeFile(abs: string, symlink: boolean): Promise<Checksum> {
    throwIfAborted(this.opts.signal);
    const st = fs.lstatSync(abs);
    const xattrs = readXattrs(abs);
    let header: FileHeader;
    let content: Buffer | null = null;
    if (symlink) {
      header = { ...this.owner(st), mode: S_IFLNK | 0o777, symlinkTarget: fs.readlinkSync(abs, 'utf8'), xattrs };
    } else {
      content = fs.readFileSync(abs);
      header = { ...this.owner(st), mode: st.mode, symlinkTarget: '', xattrs };
    }
    const csum = await this.tx.writeContent(header, content);
    this.files++;
    this.bytes += content?.length ?? 0;
    if (this.opts.progress && this.files % 256 === 0) this.opts.progress({ phase: 'commit', done: this.files, bytes: this.bytes });
    return csum;
  }
}
