// Remotes as OSTree keeps them: `[remote "NAME"]` groups in the repo config with
// url=, gpg-verify=, sign-verify=, verification-ed25519-key=/-file=, branches=, tls-*…
// This module reads and edits those groups; pull.ts consumes the parsed model.
import fs from 'node:fs';
import { ArborError } from '../common/errors';
import type { TlsSettings } from './http1';
import { Repo } from './repo';
import { validateRemoteName } from './refs';

export interface RemoteConfig {
  name: string;
  url: string;
  /** Where objects come from when it differs from url (summary and config still come from url). */
  contentUrl?: string;
  gpgVerify: boolean;
  gpgVerifySummary: boolean;
  /** Signature types whose verification the remote requires on commits (ostree: sign-verify). */
  signVerify: string[];
  signVerifySummary: string[];
  /** verification-ed25519-key: one base64 public key. */
  ed25519Key?: string;
  /** verification-ed25519-file: a file of base64 public keys, one a line. */
  ed25519File?: string;
  branches: string[];
  collectionId?: string;
  /** ostree's tls-ca-path, tls-client-cert-path, tls-client-key-path, tls-permissive. */
  tls: { caPath?: string; clientCertPath?: string; clientKeyPath?: string; permissive: boolean };
  /** Every key=value of the group, as written. */
  options: Record<string, string>;
}

const SIGN_TYPES = ['ed25519'];

export function remoteGroup(name: string): string {
  return `remote "${name}"`;
}

/** Names of the remotes configured in the repo, in config order. */
export function listRemotes(repo: Repo): string[] {
  return repo.config.groupNames().flatMap((g) => {
    const m = /^remote "(.+)"$/.exec(g);
    return m ? [m[1]] : [];
  });
}

function bool(name: string, key: string, v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ArborError('InvalidArgument', `remote '${name}': ${key}='${v}' is not true or false`);
}

/** sign-verify is a boolean (all types) or a comma-separated list of signature types. */
function signTypes(name: string, key: string, v: string | undefined): string[] {
  if (v === undefined || v === 'false' || v === '0') return [];
  if (v === 'true' || v === '1') return [...SIGN_TYPES];
  const types = v.split(/[,;]/).map((s) => s.trim()).filter(Boolean);
  for (const t of types) {
    if (!SIGN_TYPES.includes(t)) throw new ArborError('Unsupported', `remote '${name}': ${key} names signature type '${t}'; supported: ${SIGN_TYPES.join(', ')}`);
  }
  return types;
}

export function getRemote(repo: Repo, name: string): RemoteConfig {
  const group = remoteGroup(name);
  if (!repo.config.hasGroup(group)) {
    const known = listRemotes(repo);
    throw new ArborError('NotFound', `remote '${name}' is not configured in ${repo.path}; known remotes: ${known.join(', ') || '(none)'}`);
  }
  const options: Record<string, string> = {};
  for (const k of repo.config.keys(group)) options[k] = repo.config.get(group, k)!;
  const url = options.url;
  if (!url) throw new ArborError('InvalidArgument', `remote '${name}' has no url= in ${repo.path}/config`);
  return {
    name,
    url,
    contentUrl: options.contenturl,
    gpgVerify: bool(name, 'gpg-verify', options['gpg-verify'], true),
    gpgVerifySummary: bool(name, 'gpg-verify-summary', options['gpg-verify-summary'], false),
    signVerify: signTypes(name, 'sign-verify', options['sign-verify']),
    signVerifySummary: signTypes(name, 'sign-verify-summary', options['sign-verify-summary']),
    ed25519Key: options['verification-ed25519-key'],
    ed25519File: options['verification-ed25519-file'],
    branches: (options.branches ?? '').split(';').filter(Boolean),
    collectionId: options['collection-id'],
    tls: {
      caPath: options['tls-ca-path'],
      clientCertPath: options['tls-client-cert-path'],
      clientKeyPath: options['tls-client-key-path'],
      permissive: bool(name, 'tls-permissive', options['tls-permissive'], false),
    },
    options,
  };
}

/** The remote's TLS settings for the fetcher, with its certificate files read. */
export function remoteTlsSettings(remote: RemoteConfig): TlsSettings | undefined {
  const { caPath, clientCertPath, clientKeyPath, permissive } = remote.tls;
  if (!caPath && !clientCertPath && !clientKeyPath && !permissive) return undefined;
  if (Boolean(clientCertPath) !== Boolean(clientKeyPath)) {
    throw new ArborError('InvalidArgument', `remote '${remote.name}': tls-client-cert-path and tls-client-key-path go together`);
  }
  const read = (key: string, p: string): Buffer => {
    try {
      return fs.readFileSync(p);
    } catch (e) {
      throw new ArborError('InvalidArgument', `remote '${remote.name}': ${key}=${p}: ${(e as Error).message}`);
    }
  };
  return {
    ca: caPath ? read('tls-ca-path', caPath) : undefined,
    cert: clientCertPath ? read('tls-client-cert-path', clientCertPath) : undefined,
    key: clientKeyPath ? read('tls-client-key-path', clientKeyPath) : undefined,
    rejectUnauthorized: !permissive,
  };
}

export interface AddRemoteOptions {
  /** false writes gpg-verify=false (ostree's --no-gpg-verify). */
  gpgVerify?: boolean;
  /** false writes sign-verify=false (--no-sign-verify). */
  signVerify?: boolean;
  /** `TYPE=inline:KEY` or `TYPE=file:PATH` (ostree's --sign-verify). */
  signVerifyKeys?: string[];
  /** Extra key=value pairs (--set), written before the verification keys as ostree does. */
  set?: Array<[string, string]>;
  branches?: string[];
  collectionId?: string;
  contentUrl?: string;
  ifNotExists?: boolean;
  force?: boolean;
}

function checkUrl(url: string, what: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ArborError('InvalidArgument', `${what} '${url}' is not a URL`);
  }
  if (!['http:', 'https:', 'file:'].includes(u.protocol)) {
    throw new ArborError('Unsupported', `${what} '${url}': only http://, https:// and file:// remotes are supported`);
  }
}

/** `ostree remote add`: writes the group in the order ostree does. */
export function addRemote(repo: Repo, name: string, url: string, opts: AddRemoteOptions = {}): boolean {
  validateRemoteName(name);
  checkUrl(url, 'remote url');
  if (opts.contentUrl) checkUrl(opts.contentUrl, '--contenturl');
  const group = remoteGroup(name);
  if (repo.config.hasGroup(group)) {
    if (opts.ifNotExists) return false;
    if (!opts.force) throw new ArborError('Exists', `remote '${name}' already exists in ${repo.path} (use --force to replace it, --if-not-exists to keep it)`);
    repo.config.remove(group);
  }
  const entries: Array<[string, string]> = [['url', url]];
  if (opts.contentUrl) entries.push(['contenturl', opts.contentUrl]);
  if (opts.branches?.length) entries.push(['branches', opts.branches.map((b) => `${b};`).join('')]);
  if (opts.collectionId) entries.push(['collection-id', opts.collectionId]);
  entries.push(...(opts.set ?? []));
  if (opts.gpgVerify === false) entries.push(['gpg-verify', 'false']);
  if (opts.signVerify === false) entries.push(['sign-verify', 'false']);
  else if (opts.signVerifyKeys?.length) {
    entries.push(['sign-verify', 'true']);
    for (const spec of opts.signVerifyKeys) entries.push(parseSignVerifySpec(spec));
  }
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9-_.]+$/.test(k)) throw new ArborError('InvalidArgument', `--set: '${k}' is not a valid key name`);
    repo.config.set(group, k, v);
  }
  repo.saveConfig();
  return true;
}

/** `ed25519=inline:KEY` → verification-ed25519-key=KEY; `ed25519=file:PATH` → verification-ed25519-file=PATH. */
export function parseSignVerifySpec(spec: string): [string, string] {
  const m = /^([^=]+)=(inline|file):(.+)$/.exec(spec);
  if (!m) throw new ArborError('InvalidArgument', `--sign-verify: '${spec}' is not KEYTYPE=inline:PUBKEY or KEYTYPE=file:PATH`);
  const [, type, ref, data] = m;
  if (!SIGN_TYPES.includes(type)) throw new ArborError('Unsupported', `--sign-verify: signature type '${type}' is not supported (${SIGN_TYPES.join(', ')})`);
  if (ref === 'inline' && !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw new ArborError('InvalidArgument', `--sign-verify: '${data}' is not a base64 key`);
  if (ref === 'file' && !fs.existsSync(data)) throw new ArborError('NotFound', `--sign-verify: key file '${data}' does not exist`);
  return [ref === 'inline' ? `verification-${type}-key` : `verification-${type}-file`, data];
}

/** `ostree remote delete`; returns false when absent and ifExists is set. */
export function deleteRemote(repo: Repo, name: string, opts: { ifExists?: boolean } = {}): boolean {
  const group = remoteGroup(name);
  if (!repo.config.hasGroup(group)) {
    if (opts.ifExists) return false;
    getRemote(repo, name); // throws NotFound with the known remotes
  }
  repo.config.remove(group);
  repo.saveConfig();
  // ostree keeps the fetched refs of a deleted remote; so do we, but its summary cache goes.
  for (const f of [name, `${name}.sig`]) fs.rmSync(`${repo.path}/tmp/cache/summaries/${f}`, { force: true });
  return true;
}
