// `arbor repo pull` and `arbor repo sign`: fetch commits from a remote (like
// `ostree pull REMOTE REF…`) and sign or verify commits with ed25519 (like `ostree sign`).
import type { CommandModule } from 'yargs';
import { ArborError } from '../common/errors';
import { ProgressEvent, formatBytes } from '../common/progress';
import type { PullProgressEvent } from '../ostree/pull';
import { Repo } from '../ostree/repo';
import type { Ed25519PublicKey, Ed25519SecretKey } from '../ostree/sign';

// The pull machinery (http, zlib, crypto) loads only when these commands run: every other
// `arbor repo` command would pay for it at start-up.
const pullApi = (): typeof import('../ostree/pull') => require('../ostree/pull');
const signApi = (): typeof import('../ostree/sign') => require('../ostree/sign');

type Args = { repo: string } & Record<string, unknown>;

function asList(v: unknown): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

export const pullCommand: CommandModule<{ repo: string }, Args> = {
  command: 'pull <remote> [refs..]',
  describe: 'download commits from a remote (REMOTE REF… or REMOTE:REF)',
  builder: (y) => y
    .option('commit-metadata-only', { type: 'boolean', describe: 'fetch only the commit metadata' })
    .option('depth', { type: 'number', default: 0, describe: 'traverse DEPTH parents (-1: all)' })
    .option('disable-verify-bindings', { type: 'boolean', describe: 'do not verify commit bindings' })
    .option('url', { type: 'string', describe: 'use this URL instead of the remote\'s url= (and contenturl=)' })
    .option('timeout', { type: 'number', default: 30, describe: 'seconds without data before a request fails' })
    .option('network-retries', { type: 'number', default: 2, describe: 'retries of a request after a network error, a timeout or HTTP 5xx/408/429' })
    .option('concurrency', { type: 'number', default: 32, describe: 'requests in flight at once (pipelined over up to 4 connections)' }),
  handler: async (a) => {
    const { pullRefs, splitRemoteRef } = pullApi();
    const repo = Repo.open(a.repo);
    const first = splitRemoteRef(a.remote as string);
    const remote = first.remote ?? first.ref;
    const refs = [...(first.remote ? [first.ref] : []), ...asList(a.refs)];
    const depth = a.depth as number;
    if (!Number.isInteger(depth) || depth < -1) throw new ArborError('InvalidArgument', `--depth: '${a.depth}' is not -1, 0 or a positive integer`);
    const tty = process.stderr.isTTY;
    const progress = tty ? (e: ProgressEvent): void => {
      const p = e as PullProgressEvent;
      process.stderr.write(`\r\x1b[K${p.done}/${p.total} objects; ${formatBytes(p.bytes)} (${formatBytes(p.bytesPerSecond)}/s)`);
    } : undefined;
    const ac = new AbortController();
    const onSigint = (): void => ac.abort();
    process.once('SIGINT', onSigint);
    try {
      const r = await pullRefs(repo, remote, refs, {
        commitMetadataOnly: Boolean(a['commit-metadata-only']),
        depth,
        disableVerifyBindings: Boolean(a['disable-verify-bindings']),
        url: a.url as string | undefined,
        timeoutMs: Math.round((a.timeout as number) * 1000),
        retries: a['network-retries'] as number,
        concurrency: a.concurrency as number,
        progress,
        signal: ac.signal,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      process.stdout.write(
        `${r.metadataFetched} metadata, ${r.contentFetched} content objects fetched; ${formatBytes(r.bytesFetched)} transferred in ${Math.round(r.seconds)} seconds\n`,
      );
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};

function secretKeys(a: Args): Ed25519SecretKey[] {
  const { parseSecretKey, readKeyFile } = signApi();
  const texts = [...asList(a.keys), ...asList(a.key)];
  const file = a['keys-file'] as string | undefined;
  if (file) texts.push(...readKeyFile(file));
  if (!texts.length) throw new ArborError('InvalidArgument', 'no signing key: give KEY arguments, --key or --keys-file');
  return texts.map((t, i) => parseSecretKey(t, `secret key #${i + 1}`));
}

function publicKeys(a: Args): Ed25519PublicKey[] {
  const { parsePublicKey, readKeyFile } = signApi();
  const texts = [...asList(a.keys), ...asList(a.key)];
  const file = a['keys-file'] as string | undefined;
  if (file) texts.push(...readKeyFile(file));
  if (!texts.length) throw new ArborError('InvalidArgument', 'no public key to verify with: give KEY arguments, --key or --keys-file');
  return texts.map((t, i) => parsePublicKey(t, `public key #${i + 1}`));
}

export const signCommand: CommandModule<{ repo: string }, Args> = {
  command: 'sign [commit] [keys..]',
  describe: 'sign a commit (or the summary) with ed25519, or verify its signatures',
  builder: (y) => y
    .option('sign-type', { alias: 's', type: 'string', default: 'ed25519', describe: 'signature type (only ed25519)' })
    .option('key', { type: 'string', describe: 'a base64 key (secret to sign, public to verify); repeatable' })
    .option('keys-file', { type: 'string', describe: 'file of base64 keys, one a line' })
    .option('verify', { alias: 'v', type: 'boolean', describe: 'verify instead of signing (keys are public keys)' })
    .option('summary', { type: 'boolean', describe: 'sign the repository summary (writes summary.sig)' }),
  handler: async (a) => {
    if (a['sign-type'] !== 'ed25519') throw new ArborError('Unsupported', `--sign-type: '${a['sign-type']}' is not supported (only ed25519)`);
    const { signCommit, signSummary, verifyCommit } = signApi();
    const repo = Repo.open(a.repo);
    if (a.summary) {
      if (a.commit) a.keys = [a.commit as string, ...asList(a.keys)];
      signSummary(repo, secretKeys(a));
      return;
    }
    if (!a.commit) throw new ArborError('InvalidArgument', 'name the commit to sign (or use --summary)');
    const commit = repo.resolveRev(a.commit as string);
    if (a.verify) {
      const v = verifyCommit(repo, commit, publicKeys(a));
      if (!v.valid) throw new ArborError('Corrupted', v.message);
      process.stdout.write(`Signature verified successfully with key '${v.key}'\n`);
      return;
    }
    await signCommit(repo, commit, secretKeys(a));
  },
};
