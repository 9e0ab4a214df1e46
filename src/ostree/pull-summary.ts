// The first steps of a pull: the remote's summary and summary.sig (cached under
// tmp/cache/summaries/ with the ETag in a user.etag xattr and Last-Modified as the
// mtime, as ostree keeps them), its config (archive mode only), and ref resolution.
import fs from 'node:fs';
import { ArborError } from '../common/errors';
import { KeyFile } from '../common/keyfile';
import { native } from '../common/native';
import { writeFileAtomic } from '../common/atomic-write';
import { Checksum, isChecksum } from './checksum';
import { Fetcher, FetchResponse } from './fetcher';
import { decodeCommitMeta, metadataGet } from './objects';
import { RemoteConfig } from './remotes';
import { Repo } from './repo';
import { Ed25519PublicKey, ed25519Signatures, verifyEd25519 } from './sign';
import { Summary, decodeSummary } from './summary';

/** Largest summary or summary.sig accepted (ostree's limit for metadata objects). */
export const MAX_SUMMARY_SIZE = 128 * 1024 * 1024;
const MAX_CONFIG_SIZE = 1024 * 1024;
const MAX_REF_SIZE = 1024;

export interface RemoteState {
  summary: Summary | null;
  /** Bytes received for summary, summary.sig, config and ref files. */
  bytesFetched: number;
}

interface Cached { path: string; bytes: Buffer; etag?: string; lastModified?: Date }

function readCache(p: string): Cached | null {
  let bytes: Buffer;
  let st: fs.Stats;
  try {
    bytes = fs.readFileSync(p);
    st = fs.statSync(p);
  } catch {
    return null;
  }
  let etag: string | undefined;
  try {
    etag = native.getxattr(p, 'user.etag')?.toString('utf8') || undefined;
  } catch { /* no xattrs here: no validator */ }
  // mtime 0 means the server sent no Last-Modified: nothing to revalidate with.
  return { path: p, bytes, etag, lastModified: st.mtimeMs > 0 ? st.mtime : undefined };
}

function writeCache(p: string, res: FetchResponse): void {
  try {
    writeFileAtomic(p, res.body, { durable: false });
    if (res.etag) {
      try {
        native.setxattr(p, 'user.etag', Buffer.from(res.etag, 'utf8'));
      } catch { /* a filesystem without user xattrs just loses the ETag */ }
    }
    const t = res.lastModified ? res.lastModified.getTime() / 1000 : 0;
    fs.utimesSync(p, t, t);
  } catch {
    // The cache only saves bandwidth; failing to write it must not fail the pull.
    fs.rmSync(p, { force: true });
  }
}

export interface LoadRemoteOptions {
  keys: Ed25519PublicKey[];
  signal?: AbortSignal;
}

/** Fetches (or revalidates) summary.sig, summary and config; checks the summary's signature if the remote requires one. */
export async function loadRemoteState(repo: Repo, remote: RemoteConfig, fetcher: Fetcher, opts: LoadRemoteOptions): Promise<RemoteState> {
  const cacheDir = `${repo.path}/tmp/cache/summaries`;
  fs.mkdirSync(cacheDir, { recursive: true });
  const cachedSig = readCache(`${cacheDir}/${remote.name}.sig`);
  const cachedSummary = readCache(`${cacheDir}/${remote.name}`);
  let bytesFetched = 0;

  const [sigRes, configRes] = await Promise.all([
    fetcher.fetch({
      path: 'summary.sig', maxBytes: MAX_SUMMARY_SIZE, optional: true, signal: opts.signal,
      etag: cachedSummary ? cachedSig?.etag : undefined, lastModified: cachedSummary ? cachedSig?.lastModified : undefined,
    }),
    fetcher.fetch({ path: 'config', maxBytes: MAX_CONFIG_SIZE, optional: true, signal: opts.signal }),
  ]);
  bytesFetched += (sigRes?.body.length ?? 0) + (configRes?.body.length ?? 0);

  let summaryBytes: Buffer | null;
  let summaryRes: FetchResponse | null = null;
  const sigBytes = sigRes ? (sigRes.notModified ? cachedSig!.bytes : sigRes.body) : null;
  if (sigRes?.notModified && cachedSummary) {
    // An unchanged signature means an unchanged summary: no need to ask for it (ostree does the same).
    summaryBytes = cachedSummary.bytes;
  } else {
    summaryRes = await fetcher.fetch({
      path: 'summary', maxBytes: MAX_SUMMARY_SIZE, optional: true, signal: opts.signal,
      etag: cachedSummary?.etag, lastModified: cachedSummary?.lastModified,
    });
    bytesFetched += summaryRes?.body.length ?? 0;
    summaryBytes = summaryRes ? (summaryRes.notModified ? cachedSummary!.bytes : summaryRes.body) : null;
  }

  checkRemoteMode(remote, configRes?.body ?? null);

  if (remote.gpgVerifySummary) {
    throw new ArborError('Unsupported', `remote '${remote.name}' requires a GPG-signed summary (gpg-verify-summary=true), which Arbor cannot check; use ed25519 (sign-verify-summary) or set gpg-verify-summary=false`);
  }
  if (remote.signVerifySummary.length) {
    const where = `summary of remote '${remote.name}'`;
    if (!summaryBytes) throw new ArborError('NotFound', `${where}: the remote has no summary, but sign-verify-summary requires a signed one`);
    if (!sigBytes) throw new ArborError('Corrupted', `${where}: the remote has no summary.sig, but sign-verify-summary requires one`);
    const sigs = ed25519Signatures(decodeCommitMeta(sigBytes, `summary.sig of remote '${remote.name}'`), `summary.sig of remote '${remote.name}'`);
    const v = verifyEd25519(summaryBytes, sigs, opts.keys, where);
    if (!v.valid) throw new ArborError('Corrupted', `${v.message}; refusing the summary`);
  }

  const summary = summaryBytes ? decodeSummary(summaryBytes, `summary of remote '${remote.name}' (${fetcher.url})`) : null;
  if (summary) {
    const mode = metadataGet<string>(summary.metadata, 'ostree.summary.mode');
    if (typeof mode === 'string' && !configRes) checkMode(remote, mode, 'summary');
  }

  // Only data that decoded (and verified) goes into the cache.
  if (summaryRes && !summaryRes.notModified) writeCache(`${cacheDir}/${remote.name}`, summaryRes);
  if (!summaryBytes) fs.rmSync(`${cacheDir}/${remote.name}`, { force: true });
  if (sigRes && !sigRes.notModified) writeCache(`${cacheDir}/${remote.name}.sig`, sigRes);
  if (!sigRes) fs.rmSync(`${cacheDir}/${remote.name}.sig`, { force: true });
  return { summary, bytesFetched };
}

function checkMode(remote: RemoteConfig, mode: string, source: string): void {
  if (mode !== 'archive' && mode !== 'archive-z2') {
    throw new ArborError('Unsupported', `remote '${remote.name}' (${remote.url}) is a '${mode}' repository according to its ${source}; only archive repositories can be pulled from`);
  }
}

function checkRemoteMode(remote: RemoteConfig, config: Buffer | null): void {
  if (!config) return;
  let kf: KeyFile;
  try {
    kf = KeyFile.parse(config.toString('utf8'), `config of remote '${remote.name}'`);
  } catch (e) {
    throw new ArborError('Corrupted', (e as Error).message);
  }
  checkMode(remote, kf.get('core', 'mode') ?? 'bare', 'config');
}

export interface ResolvedRef {
  /** The ref as asked for; null when a commit checksum was asked for. */
  ref: string | null;
  checksum: Checksum;
  /** Commit object size from the summary: the most we accept for it. */
  commitSize?: number;
}

/** A ref's commit: from the summary when there is one, else from refs/heads/<ref>. */
export async function resolveRemoteRef(
  remote: RemoteConfig, state: RemoteState, fetcher: Fetcher, ref: string, signal?: AbortSignal,
): Promise<ResolvedRef> {
  if (isChecksum(ref)) return { ref: null, checksum: ref };
  if (state.summary) {
    const r = state.summary.refs.get(ref);
    if (!r) {
      const known = [...state.summary.refs.keys()].slice(0, 20);
      throw new ArborError('NotFound', `ref '${ref}' not found in remote '${remote.name}'; known refs: ${known.join(', ') || '(none)'}`);
    }
    return { ref, checksum: r.checksum, commitSize: r.size };
  }
  const res = await fetcher.fetch({ path: `refs/heads/${ref}`, maxBytes: MAX_REF_SIZE, optional: true, signal });
  if (!res) throw new ArborError('NotFound', `ref '${ref}' not found in remote '${remote.name}' (it has no summary and no refs/heads/${ref})`);
  state.bytesFetched += res.body.length;
  const text = res.body.toString('utf8').trim();
  if (!isChecksum(text)) throw new ArborError('Corrupted', `ref '${ref}' of remote '${remote.name}' does not hold a commit checksum`);
  return { ref, checksum: text };
}
