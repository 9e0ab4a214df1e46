// `pull`: bring commits of a remote OSTree archive repository (http(s):// or file://)
// into this repo, as `ostree pull REMOTE REF…` does: refs land under
// refs/remotes/<remote>/, commits stay .commitpartial until their tree is complete.
import fs from 'node:fs';
import { ArborError } from '../common/errors';
import { WorkOptions } from '../common/progress';
import { fsyncDir } from '../common/atomic-write';
import { Checksum } from './checksum';
import { DEFAULT_CONCURRENCY, Fetcher, FetcherOptions, createFetcher } from './fetcher';
import { CommitObject, Metadata } from './objects';
import { CommitRequest, MAX_BUFFERED_BYTES, MAX_CONTENT_SIZE, MAX_METADATA_SIZE, PullSession } from './pull-session';
import { loadRemoteState, resolveRemoteRef } from './pull-summary';
import { RemoteConfig, getRemote, remoteTlsSettings } from './remotes';
import { Repo } from './repo';
import { validateRef } from './refs';
import { isChecksum } from './checksum';
import { remoteEd25519Keys } from './sign';

export type { PullProgressEvent } from './pull-session';

export interface PullOptions extends FetcherOptions {
  /** Fetch only commit objects and detached metadata (update checks); commits stay partial. */
  commitMetadataOnly?: boolean;
  /** Parent commits to fetch as well: 0 (default) none, -1 all. */
  depth?: number;
  /** Skip the ostree.ref-binding / collection-binding checks (ostree's --disable-verify-bindings). */
  disableVerifyBindings?: boolean;
  /** Use this URL instead of the remote's url= (ostree's --url). */
  url?: string;
  maxMetadataSize?: number;
  maxContentSize?: number;
  /** Fetched content waiting to be verified and stored is held in memory up to about this many bytes. Default 256 MiB. */
  maxBufferedBytes?: number;
  /** Objects stored between checkpoints (made durable, so a killed pull resumes from them). Default 5,000. */
  checkpointObjects?: number;
  /** A fetcher to use instead of one made from the URL (tests put fakes here). */
  fetcher?: Fetcher;
  /** Threads that verify and stage content objects; 0 keeps that on the main thread. Default: see createContentStager(). */
  workers?: number;
}

export interface PulledRef {
  /** The ref as asked for, or the checksum when a commit was asked for by checksum. */
  ref: string;
  checksum: Checksum;
  /** What refs/remotes/<remote>/<ref> held before (null: nothing, or asked by checksum). */
  previous: Checksum | null;
  /** Object bytes and objects fetched on this ref's behalf (shared objects count once, for the first ref). */
  bytesFetched: number;
  objectsFetched: number;
}

export interface PullResult {
  refs: PulledRef[];
  /** Every byte received, summary and config included. */
  bytesFetched: number;
  objectsFetched: number;
  metadataFetched: number;
  contentFetched: number;
  seconds: number;
}

/** `REMOTE:REF` or a bare REF (then the remote comes separately). */
export function splitRemoteRef(spec: string): { remote: string | null; ref: string } {
  const i = spec.indexOf(':');
  return i < 0 ? { remote: null, ref: spec } : { remote: spec.slice(0, i), ref: spec.slice(i + 1) };
}

/**
 * Pulls refs (or commit checksums) of a remote into the repo. Nothing unverified is
 * ever stored; on failure, verified objects stay so the next pull resumes from them.
 */
export async function pullRefs(repo: Repo, remoteName: string, refs: string[], opts: PullOptions & WorkOptions = {}): Promise<PullResult> {
  const started = Date.now();
  const remote = getRemote(repo, remoteName);
  const wanted = refs.length ? refs : remote.branches;
  if (!wanted.length) throw new ArborError('InvalidArgument', `no refs to pull: name some, or set branches= for remote '${remote.name}'`);
  for (const r of wanted) if (!isChecksum(r)) validateRef(r, `ref to pull from '${remote.name}'`);
  checkVerificationPolicy(remote);
  const keys = remote.signVerify.length || remote.signVerifySummary.length ? remoteEd25519Keys(remote) : [];
  if ((remote.signVerify.length || remote.signVerifySummary.length) && !keys.length) {
    throw new ArborError('InvalidArgument', `remote '${remote.name}' requires signatures (sign-verify) but no key is trusted: set verification-ed25519-key or verification-ed25519-file, or put keys in /etc/ostree/trusted.ed25519.d/`);
  }

  const fetcherOpts: FetcherOptions = {
    timeoutMs: opts.timeoutMs, concurrency: opts.concurrency, retries: opts.retries, headers: opts.headers, tls: opts.tls ?? remoteTlsSettings(remote),
  };
  const url = opts.url ?? remote.url;
  const fetcher = opts.fetcher ?? createFetcher(url, fetcherOpts);
  const contentFetcher = opts.fetcher || !remote.contentUrl || opts.url ? fetcher : createFetcher(remote.contentUrl, fetcherOpts);
  let opened: PullSession | undefined;
  try {
    const state = await loadRemoteState(repo, remote, fetcher, { keys, signal: opts.signal });
    const resolved = [];
    for (const r of wanted) resolved.push(await resolveRemoteRef(remote, state, fetcher, r, opts.signal));

    const session = new PullSession(repo, remote, contentFetcher, keys, {
      commitMetadataOnly: Boolean(opts.commitMetadataOnly),
      depth: opts.depth ?? 0,
      verifyBindings: !opts.disableVerifyBindings,
      maxMetadataSize: opts.maxMetadataSize ?? MAX_METADATA_SIZE,
      maxContentSize: opts.maxContentSize ?? MAX_CONTENT_SIZE,
      maxBufferedBytes: opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES,
      tasks: 4 * (opts.concurrency ?? DEFAULT_CONCURRENCY),
      checkpointObjects: Math.max(1, opts.checkpointObjects ?? 5000),
      workers: opts.workers,
    }, opts);
    opened = session;
    const byCommit = new Map<Checksum, CommitRequest>();
    resolved.forEach((r, i) => {
      const req = byCommit.get(r.checksum);
      if (req) {
        if (r.ref) req.refs.push(r.ref);
      } else byCommit.set(r.checksum, { checksum: r.checksum, refs: r.ref ? [r.ref] : [], commitSize: r.commitSize, root: i });
    });
    for (const req of byCommit.values()) session.request(req);
    try {
      await session.drain();
      await session.tx.commit();
    } catch (e) {
      await session.salvage();
      throw e;
    }
    // Objects are durable now: the trees are complete, then the refs may move.
    if (!opts.commitMetadataOnly && session.walked.size) {
      for (const c of session.walked) fs.rmSync(repo.commitPartialPath(c), { force: true });
      if (repo.durable) fsyncDir(`${repo.path}/state`);
    }
    const out: PulledRef[] = resolved.map((r, i) => {
      const previous = r.ref ? repo.readRef({ remote: remote.name, ref: r.ref }) : null;
      const stats = session.roots[i] ?? { bytesFetched: 0, objectsFetched: 0 };
      return { ref: r.ref ?? r.checksum, checksum: r.checksum, previous, ...stats };
    });
    for (const r of resolved) if (r.ref) repo.setRef({ remote: remote.name, ref: r.ref }, r.checksum);
    return {
      refs: out,
      bytesFetched: session.stats.bytesFetched + state.bytesFetched,
      objectsFetched: session.stats.objectsFetched,
      metadataFetched: session.stats.metadataFetched,
      contentFetched: session.stats.contentFetched,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    // No worker thread outlives the pull, whatever happened.
    await opened?.close();
    fetcher.close();
    if (contentFetcher !== fetcher) contentFetcher.close();
  }
}

function checkVerificationPolicy(remote: RemoteConfig): void {
  if (remote.gpgVerify) {
    throw new ArborError('Unsupported', `remote '${remote.name}' requires GPG signatures (gpg-verify is true unless set to false), which Arbor cannot check; use ed25519 (--sign-verify) or re-add it with --no-gpg-verify`);
  }
}

export interface CommitMetadata {
  checksum: Checksum;
  commit: CommitObject;
  /** Detached metadata (signatures) as the remote has it, or null. */
  detachedMetadata: Metadata | null;
  /** What refs/remotes/<remote>/<ref> held before this check. */
  previous: Checksum | null;
  /** Whether the remote's commit differs from previous. */
  changed: boolean;
  bytesFetched: number;
}

/** For update checks: fetches (and verifies) only the commit a remote ref points at, like `pull --commit-metadata-only`. */
export async function fetchCommitMetadata(repo: Repo, remote: string, ref: string, opts: PullOptions & WorkOptions = {}): Promise<CommitMetadata> {
  const r = await pullRefs(repo, remote, [ref], { ...opts, commitMetadataOnly: true });
  const pulled = r.refs[0];
  return {
    checksum: pulled.checksum,
    commit: repo.loadCommit(pulled.checksum),
    detachedMetadata: repo.loadCommitMeta(pulled.checksum),
    previous: pulled.previous,
    changed: pulled.previous !== pulled.checksum,
    bytesFetched: r.bytesFetched,
  };
}
