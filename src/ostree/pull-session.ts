// One pull's object walk: commits (with detached metadata and signatures checked
// before anything is stored), then dirtrees, dirmetas and content, fetched with
// bounded concurrency, each verified, then staged in one Transaction. Content is
// verified and staged on worker threads (pull-worker.ts); this thread fetches.
import fs from 'node:fs';
import { setMaxListeners } from 'node:events';
import { ArborError, throwIfAborted, toArborError } from '../common/errors';
import { ProgressEvent, WorkOptions, formatBytes, limiter } from '../common/progress';
import { writeFileAtomic } from '../common/atomic-write';
import { decode } from '../gvariant';
import { Checksum } from './checksum';
import { Fetcher } from './fetcher';
import { CommitObject, DirTreeObject, Metadata, T_COMMITMETA, decodeCommit, metadataGet } from './objects';
import { verifyMetadata } from './pull-verify';
import { ContentStager, createContentStager } from './pull-worker';
import { RemoteConfig } from './remotes';
import { Repo } from './repo';
import { Ed25519PublicKey, ed25519Signatures, verifyEd25519 } from './sign';
import { Transaction } from './transaction';

/** ostree's limit for a metadata object. */
export const MAX_METADATA_SIZE = 128 * 1024 * 1024;
/** No .filez may be larger (content is held in memory while it is verified). */
export const MAX_CONTENT_SIZE = 4 * 1024 * 1024 * 1024 - 1;
/** Fetched content waiting for its worker: no new content request starts while more than this is held. */
export const MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

export interface SessionOptions {
  commitMetadataOnly: boolean;
  /** Parents to fetch: 0 none, -1 all. */
  depth: number;
  verifyBindings: boolean;
  maxMetadataSize: number;
  maxContentSize: number;
  maxBufferedBytes: number;
  /** Tasks (fetch + verify + store) in flight; the fetcher bounds requests on its own. */
  tasks: number;
  /** Make stored objects durable after this many (and start a new transaction), so a killed pull resumes from them. */
  checkpointObjects: number;
  /** Threads verifying and staging content; 0 does it on the main thread. Default: see createContentStager(). */
  workers?: number;
}

/** What pull emits through WorkOptions.progress. */
export interface PullProgressEvent extends ProgressEvent {
  phase: 'pull';
  /** Objects fetched so far. */
  done: number;
  /** Fetched plus outstanding (known, not yet fetched): grows while the tree is discovered. */
  total: number;
  /** Bytes received so far. */
  bytes: number;
  outstanding: number;
  metadataFetched: number;
  contentFetched: number;
  bytesPerSecond: number;
}

export interface CommitRequest {
  checksum: Checksum;
  /** Refs that resolved to this commit (its ref binding must list each). */
  refs: string[];
  /** Most bytes accepted for the commit object (the summary's size for it). */
  commitSize?: number;
  /** Index of the result entry the fetched objects are counted against. */
  root: number;
}

export interface RootStats { bytesFetched: number; objectsFetched: number }

type FetchedType = 'commit' | 'commitmeta' | 'dirtree' | 'dirmeta' | 'filez';

function objectUrlPath(csum: Checksum, ext: FetchedType): string {
  return `objects/${csum.slice(0, 2)}/${csum.slice(2)}.${ext}`;
}

export class PullSession {
  /** Where objects are staged now; replaced at each checkpoint. */
  tx: Transaction;
  readonly roots: RootStats[] = [];
  readonly stats = { bytesFetched: 0, objectsFetched: 0, metadataFetched: 0, contentFetched: 0 };
  /** Commits whose whole tree this pull fetched: their .commitpartial goes at the end. */
  readonly walked = new Set<Checksum>();
  private readonly createdPartials = new Set<Checksum>();
  private readonly requested = new Set<string>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly limit: <T>(job: () => Promise<T>) => Promise<T>;
  private readonly ac = new AbortController();
  private error: unknown = null;
  private outstanding = 0;
  private readonly started = Date.now();
  private lastProgress = 0;
  private readonly source: string;
  /** Store operations running against each transaction: a checkpoint waits for its own to finish. */
  private readonly busy = new Map<Transaction, { n: number; idle?: () => void }>();
  private sinceCheckpoint = 0;
  private checkpointing = false;
  /** Started at the first content object: metadata-only pulls never need it. */
  private stager: ContentStager | null = null;
  /** Bytes of fetched content not yet stored, and the tasks waiting for that to shrink. */
  private buffered = 0;
  private readonly roomWaiters: Array<() => void> = [];

  constructor(
    readonly repo: Repo,
    private readonly remote: RemoteConfig,
    private readonly fetcher: Fetcher,
    private readonly keys: Ed25519PublicKey[],
    private readonly opts: SessionOptions,
    private readonly work: WorkOptions,
  ) {
    this.limit = limiter(opts.tasks);
    // Every request in flight listens on this signal.
    setMaxListeners(0, this.ac.signal);
    this.source = `remote '${remote.name}'`;
    this.tx = new Transaction(repo);
    if (work.signal) {
      const onAbort = (): void => this.fail(new ArborError('Cancelled', `pull from remote '${remote.name}' cancelled`));
      if (work.signal.aborted) onAbort();
      else work.signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /** Starts fetching a commit (and, unless metadata-only, its tree). */
  request(c: CommitRequest): void {
    this.roots[c.root] ??= { bytesFetched: 0, objectsFetched: 0 };
    this.spawn(() => this.pullCommit(c.checksum, c.root, this.opts.depth, c));
  }

  /** Waits for every task; throws the first failure. */
  async drain(): Promise<void> {
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
    if (this.error) throw this.error;
    throwIfAborted(this.work.signal);
    this.emitProgress(true);
  }

  /** After a failure: keep every verified object (the next pull resumes from them), drop the rest. */
  async salvage(): Promise<void> {
    try {
      await this.tx.commit();
    } catch {
      this.tx.abort();
    }
    for (const c of this.createdPartials) {
      if (!this.repo.hasObject('commit', c)) fs.rmSync(this.repo.commitPartialPath(c), { force: true });
    }
  }

  /** Stops the worker threads; after drain() (or a failure), whatever happened. */
  async close(): Promise<void> {
    await this.stager?.close();
    this.stager = null;
  }

  private fail(e: unknown): void {
    if (this.error) return;
    this.error = e;
    this.ac.abort();
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private spawn(job: () => Promise<void>): void {
    if (this.error) return;
    this.outstanding++;
    const p: Promise<void> = this.limit(async () => {
      if (this.error) return;
      await job();
    })
      .catch((e) => this.fail(e))
      .finally(() => {
        this.outstanding--;
        this.tasks.delete(p);
      });
    this.tasks.add(p);
  }

  private async get(csum: Checksum, ext: FetchedType, maxBytes: number, root: number, optional = false): Promise<Buffer | null> {
    let res;
    try {
      res = await this.fetcher.fetch({ path: objectUrlPath(csum, ext), maxBytes, optional, signal: this.ac.signal });
    } catch (e) {
      // Name the object, not only its URL: the checksum is what a person greps for.
      if (e instanceof ArborError && e.code !== 'Cancelled') throw new ArborError(e.code, `${ext} ${csum} from ${this.source}: ${e.message}`, { cause: e });
      throw e;
    }
    if (!res) return null;
    const n = res.body.length;
    this.stats.bytesFetched += n;
    this.stats.objectsFetched++;
    this.roots[root].bytesFetched += n;
    this.roots[root].objectsFetched++;
    if (ext === 'filez') this.stats.contentFetched++;
    else this.stats.metadataFetched++;
    this.emitProgress(false);
    return res.body;
  }

  private emitProgress(final: boolean): void {
    const sink = this.work.progress;
    if (!sink) return;
    const now = Date.now();
    if (!final && now - this.lastProgress < 100) return;
    this.lastProgress = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const s = this.stats;
    const rate = s.bytesFetched / seconds;
    const e: PullProgressEvent = {
      phase: 'pull',
      done: s.objectsFetched,
      total: s.objectsFetched + (final ? 0 : this.outstanding),
      bytes: s.bytesFetched,
      outstanding: final ? 0 : this.outstanding,
      metadataFetched: s.metadataFetched,
      contentFetched: s.contentFetched,
      bytesPerSecond: rate,
      message: `${s.metadataFetched} metadata, ${s.contentFetched} content objects fetched; ${formatBytes(s.bytesFetched)} at ${formatBytes(rate)}/s`,
    };
    sink(e);
  }

  /** Runs a store operation, naming the object and the repo if the disk refuses. */
  private async store<T>(what: string, op: (tx: Transaction) => T | Promise<T>): Promise<T> {
    const tx = this.tx;
    const b = this.busy.get(tx) ?? { n: 0 };
    b.n++;
    this.busy.set(tx, b);
    let result: T;
    try {
      result = await op(tx);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new ArborError('Io', `storing ${what} in ${this.repo.path}: no space left on the device`, { cause: e });
      throw toArborError(e, `storing ${what} in ${this.repo.path}`);
    } finally {
      if (--b.n === 0) {
        this.busy.delete(tx);
        b.idle?.();
      }
    }
    if (++this.sinceCheckpoint >= this.opts.checkpointObjects && !this.checkpointing) await this.checkpoint();
    return result;
  }

  /** Commits what is staged so far (it survives a crash) and stages on in a fresh transaction. */
  private async checkpoint(): Promise<void> {
    this.checkpointing = true;
    this.sinceCheckpoint = 0;
    const old = this.tx;
    this.tx = new Transaction(this.repo);
    try {
      const b = this.busy.get(old);
      if (b) await new Promise<void>((resolve) => { b.idle = resolve; });
      await old.commit();
    } catch (e) {
      old.abort();
      throw e;
    } finally {
      this.checkpointing = false;
    }
  }

  private async markPartial(c: Checksum): Promise<void> {
    const p = this.repo.commitPartialPath(c);
    if (fs.existsSync(p)) return;
    await this.store(`state/${c}.commitpartial`, () => {
      fs.mkdirSync(`${this.repo.path}/state`, { recursive: true });
      writeFileAtomic(p, '', { durable: this.repo.durable });
    });
    this.createdPartials.add(c);
  }

  private async pullCommit(csum: Checksum, root: number, depth: number, top: CommitRequest | null): Promise<void> {
    const key = `${csum}.commit`;
    if (this.requested.has(key)) return;
    this.requested.add(key);
    const local = this.repo.hasObject('commit', csum);
    const partial = local && this.repo.isCommitPartial(csum);
    // Detached metadata of the commits asked for is always fetched: signatures may have been added since.
    const [metaBytes, fetched] = await Promise.all([
      top || !local ? this.get(csum, 'commitmeta', this.opts.maxMetadataSize, root, true) : Promise.resolve(null),
      local ? Promise.resolve(null) : this.get(csum, 'commit', top?.commitSize ?? this.opts.maxMetadataSize, root, !top),
    ]);
    if (!local && !fetched) return; // a parent the server does not have: history stops here
    const where = `commit ${csum} from ${this.source}`;
    const bytes = fetched ?? this.repo.readMetadata('commit', csum, true);
    const commit: CommitObject = fetched ? verifyMetadata('commit', csum, fetched, this.source) : decodeCommit(bytes, where);
    let detached: Metadata | null = null;
    if (metaBytes) {
      try {
        detached = decode<Metadata>(T_COMMITMETA, metaBytes, { strict: true });
      } catch (e) {
        throw new ArborError('Corrupted', `commitmeta ${csum} from ${this.source}: ${(e as Error).message}`);
      }
    }
    if (this.remote.signVerify.includes('ed25519')) {
      const meta = metaBytes ? detached : local ? this.repo.loadCommitMeta(csum) : null;
      const v = verifyEd25519(bytes, ed25519Signatures(meta, `commitmeta ${csum}`), this.keys, `commit ${csum}`);
      if (!v.valid) {
        throw new ArborError('Corrupted', `remote '${this.remote.name}' requires signed commits (sign-verify): ${v.message}; nothing of it was stored`);
      }
    }
    if (top && this.opts.verifyBindings) for (const ref of top.refs) this.checkBindings(csum, commit, ref);
    if (this.error) return;

    const fetchTree = !this.opts.commitMetadataOnly && (!local || partial);
    if (!local) await this.markPartial(csum); // a partial one is marked already
    if (fetched) await this.store(`commit ${csum}`, (tx) => tx.writeMetadata('commit', fetched, csum));
    if (metaBytes && !this.sameLocalCommitMeta(csum, metaBytes)) {
      // Stored as fetched: keys Arbor does not know (ostree.gpgsigs…) stay intact.
      await this.store(`commitmeta ${csum}`, (tx) => tx.writeCommitMeta(csum, metaBytes));
    }
    if (fetchTree) {
      // Content will follow: boot the staging threads while the tree's metadata comes.
      this.contentStager().warm();
      this.walked.add(csum);
      this.scanTree(commit.rootTree, commit.rootMeta, root);
    }
    if (commit.parent && depth !== 0) {
      const parent = commit.parent;
      this.spawn(() => this.pullCommit(parent, root, depth < 0 ? depth : depth - 1, null));
    }
  }

  private sameLocalCommitMeta(csum: Checksum, bytes: Buffer): boolean {
    try {
      return fs.readFileSync(this.repo.objectPath('commitmeta', csum)).equals(bytes);
    } catch {
      return false;
    }
  }

  /** As ostree: a commit bound to refs must list the ref it was asked for; a collection remote needs the collection binding. */
  private checkBindings(csum: Checksum, commit: CommitObject, ref: string): void {
    const refs = metadataGet<string[]>(commit.metadata, 'ostree.ref-binding');
    if (refs !== undefined) {
      if (!Array.isArray(refs) || !refs.includes(ref)) {
        throw new ArborError('Corrupted', `commit ${csum} from ${this.source} is bound to ref(s) ${JSON.stringify(refs)}, not to '${ref}' that was asked for; the server may be replaying another branch`);
      }
    }
    const cid = this.remote.collectionId;
    if (cid) {
      const bound = metadataGet<string>(commit.metadata, 'ostree.collection-binding');
      if (bound !== cid) {
        throw new ArborError('Corrupted', `commit ${csum} from ${this.source} is bound to collection '${bound ?? '(none)'}', not to the remote's '${cid}'`);
      }
    }
  }

  private contentStager(): ContentStager {
    return (this.stager ??= createContentStager(this.repo.mode, this.opts.workers));
  }

  private scanTree(tree: Checksum, meta: Checksum, root: number): void {
    this.wantDirMeta(meta, root);
    const key = `${tree}.dirtree`;
    if (this.requested.has(key)) return;
    this.requested.add(key);
    if (this.repo.hasObject('dirtree', tree)) {
      // Stored by an earlier (maybe interrupted) pull: its children may still be missing.
      this.spawn(async () => this.scanDirTree(this.repo.loadDirTree(tree), root));
      return;
    }
    this.spawn(async () => {
      const bytes = (await this.get(tree, 'dirtree', this.opts.maxMetadataSize, root))!;
      const t = verifyMetadata('dirtree', tree, bytes, this.source);
      await this.store(`dirtree ${tree}`, (tx) => tx.writeMetadata('dirtree', bytes, tree));
      this.scanDirTree(t, root);
    });
  }

  private scanDirTree(t: DirTreeObject, root: number): void {
    for (const [, c] of t.files) this.wantContent(c, root);
    for (const [, dt, dm] of t.dirs) this.scanTree(dt, dm, root);
  }

  private wantDirMeta(csum: Checksum, root: number): void {
    const key = `${csum}.dirmeta`;
    if (this.requested.has(key)) return;
    this.requested.add(key);
    if (this.repo.hasObject('dirmeta', csum)) return;
    this.spawn(async () => {
      const bytes = (await this.get(csum, 'dirmeta', this.opts.maxMetadataSize, root))!;
      verifyMetadata('dirmeta', csum, bytes, this.source);
      await this.store(`dirmeta ${csum}`, (tx) => tx.writeMetadata('dirmeta', bytes, csum));
    });
  }

  private wantContent(csum: Checksum, root: number): void {
    const key = `${csum}.file`;
    if (this.requested.has(key)) return;
    this.requested.add(key);
    if (this.repo.hasObject('file', csum)) return;
    this.spawn(async () => {
      // Memory: requests wait while the workers are behind by more than maxBufferedBytes.
      while (this.buffered > this.opts.maxBufferedBytes && !this.error) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      if (this.error) return;
      const bytes = (await this.get(csum, 'filez', this.opts.maxContentSize, root))!;
      const n = bytes.length;
      this.buffered += n;
      try {
        const stager = this.contentStager();
        // Verified before it is written (on the worker), and adopted by the transaction it was written for.
        await this.store(`file ${csum}`, async (tx) => tx.adoptStagedContent(csum, await stager.stage(csum, bytes, tx.contentStagingPath(csum), this.source)));
      } finally {
        this.buffered -= n;
        if (this.buffered <= this.opts.maxBufferedBytes) for (const wake of this.roomWaiters.splice(0)) wake();
      }
    });
  }
}
