// ed25519 signatures as `ostree sign` makes them: raw 64-byte signatures over the
// commit object bytes (or the summary bytes), kept as `ostree.sign.ed25519` (aay) in
// the detached metadata. Keys are libsodium's: public 32 bytes, secret seed+public.
import crypto, { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { ArborError } from '../common/errors';
import { Variant, encode } from '../gvariant';
import { Checksum } from './checksum';
import { Metadata, T_COMMITMETA, decodeCommitMeta } from './objects';
import { Repo } from './repo';
import { Transaction } from './transaction';
import { writeFileAtomic } from '../common/atomic-write';

export const ED25519_METADATA_KEY = 'ostree.sign.ed25519';
export const ED25519_SIGNATURE_SIZE = 64;

export interface Ed25519PublicKey {
  /** The key as written in config and key files (base64 of 32 bytes). */
  base64: string;
  key: KeyObject;
}

export interface Ed25519SecretKey {
  key: KeyObject;
  public: Ed25519PublicKey;
}

const b64url = (b: Buffer): string => b.toString('base64url');

function decodeBase64(text: string, bytes: number[], what: string): Buffer {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t)) throw new ArborError('InvalidArgument', `${what}: '${t.slice(0, 20)}…' is not base64`);
  const b = Buffer.from(t, 'base64');
  if (!bytes.includes(b.length)) {
    throw new ArborError('InvalidArgument', `${what}: an ed25519 key must be ${bytes.join(' or ')} bytes, this one is ${b.length}`);
  }
  return b;
}

export function parsePublicKey(text: string, what = 'ed25519 public key'): Ed25519PublicKey {
  const raw = decodeBase64(text, [32], what);
  const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
  return { base64: raw.toString('base64'), key };
}

/** A libsodium secret key: the 32-byte seed followed by its public key (a bare 32-byte seed is accepted too). */
export function parseSecretKey(text: string, what = 'ed25519 secret key'): Ed25519SecretKey {
  const raw = decodeBase64(text, [64, 32], what);
  const seed = raw.subarray(0, 32);
  let pub: Buffer;
  let key: KeyObject;
  try {
    const derived = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    pub = Buffer.from(crypto.createPublicKey(derived).export({ format: 'jwk' }).x!, 'base64url');
    key = derived;
  } catch (e) {
    throw new ArborError('InvalidArgument', `${what}: not a usable ed25519 key (${(e as Error).message})`);
  }
  if (raw.length === 64 && !pub.equals(raw.subarray(32))) {
    throw new ArborError('InvalidArgument', `${what}: its second half is not the public key of its seed`);
  }
  return { key, public: parsePublicKey(pub.toString('base64')) };
}

// PKCS#8 DER for an Ed25519 private key is this fixed prefix and the 32-byte seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Key files hold one base64 key per line; blank lines and '#' comments are skipped. */
export function readKeyFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ArborError('NotFound', `key file '${file}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (e as Error).message}`);
  }
  const keys = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (!keys.length) throw new ArborError('InvalidArgument', `key file '${file}' holds no keys`);
  return keys;
}

/** Makes a fresh key pair in ostree's encodings (for tests and `sign --generate`). */
export function generateKeyPair(): { publicKey: string; secretKey: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { publicKey: pub.toString('base64'), secretKey: Buffer.concat([seed, pub]).toString('base64') };
}

export function signBytes(data: Uint8Array, secret: Ed25519SecretKey): Buffer {
  return crypto.sign(null, data, secret.key);
}

/** The signatures under `ostree.sign.ed25519`, or [] when there are none. */
export function ed25519Signatures(meta: Metadata | null, where: string): Buffer[] {
  const v = meta?.find(([k]) => k === ED25519_METADATA_KEY)?.[1];
  if (!v) return [];
  if (v.type !== 'aay') throw new ArborError('Corrupted', `${where}: ${ED25519_METADATA_KEY} has type '${v.type}', expected 'aay'`);
  return (v.value as Uint8Array[]).map((s) => Buffer.from(s));
}

export interface VerifyResult {
  valid: boolean;
  /** The public key (base64) that verified a signature. */
  key?: string;
  signatures: number;
  message: string;
}

/** Accepts when any signature verifies under any of the keys, as ostree does. */
export function verifyEd25519(data: Uint8Array, signatures: Buffer[], keys: Ed25519PublicKey[], what: string): VerifyResult {
  if (!keys.length) return { valid: false, signatures: signatures.length, message: `${what}: no ed25519 public keys to verify with` };
  if (!signatures.length) return { valid: false, signatures: 0, message: `${what}: no ed25519 signatures found` };
  for (const sig of signatures) {
    if (sig.length !== ED25519_SIGNATURE_SIZE) continue;
    for (const k of keys) {
      if (crypto.verify(null, data, k.key, sig)) {
        return { valid: true, key: k.base64, signatures: signatures.length, message: `${what}: signature verified with key '${k.base64}'` };
      }
    }
  }
  return { valid: false, signatures: signatures.length, message: `${what}: none of ${signatures.length} ed25519 signature(s) verifies with the ${keys.length} trusted key(s)` };
}

/** Detached metadata with the given signatures appended (existing identical ones kept once). */
export function withSignatures(meta: Metadata | null, added: Buffer[]): Metadata {
  const out: Metadata = meta ? [...meta] : [];
  const existing = ed25519Signatures(meta, 'commitmeta');
  const all = [...existing];
  for (const s of added) if (!all.some((e) => e.equals(s))) all.push(s);
  const entry: [string, Variant] = [ED25519_METADATA_KEY, new Variant('aay', all)];
  const i = out.findIndex(([k]) => k === ED25519_METADATA_KEY);
  if (i >= 0) out[i] = entry;
  else out.push(entry);
  return out;
}

export function encodeCommitMeta(meta: Metadata): Buffer {
  return encode(T_COMMITMETA, meta);
}

/** `ostree sign COMMIT KEY…`: signs the stored commit and rewrites its detached metadata. */
export async function signCommit(repo: Repo, commit: Checksum, secrets: Ed25519SecretKey[]): Promise<Buffer[]> {
  const bytes = repo.readMetadata('commit', commit, true);
  const sigs = secrets.map((s) => signBytes(bytes, s));
  const meta = withSignatures(repo.loadCommitMeta(commit), sigs);
  const tx = new Transaction(repo);
  try {
    tx.writeCommitMeta(commit, encodeCommitMeta(meta));
    await tx.commit();
  } catch (e) {
    tx.abort();
    throw e;
  }
  return sigs;
}

/** `ostree sign --verify COMMIT`: checks the stored commit against the keys. */
export function verifyCommit(repo: Repo, commit: Checksum, keys: Ed25519PublicKey[]): VerifyResult {
  const bytes = repo.readMetadata('commit', commit, true); // checks the checksum
  return verifyEd25519(bytes, ed25519Signatures(repo.loadCommitMeta(commit), `commitmeta ${commit}`), keys, `commit ${commit}`);
}

/** Signs the repo's summary into summary.sig (`ostree summary -u --sign`). Other signature types in it are kept. */
export function signSummary(repo: Repo, secrets: Ed25519SecretKey[]): void {
  const summaryPath = `${repo.path}/summary`;
  if (!fs.existsSync(summaryPath)) throw new ArborError('NotFound', `${repo.path} has no summary to sign; run 'arbor repo summary -u' first`);
  const bytes = fs.readFileSync(summaryPath);
  const sigPath = `${repo.path}/summary.sig`;
  let meta: Metadata | null = null;
  if (fs.existsSync(sigPath)) meta = decodeCommitMeta(fs.readFileSync(sigPath), sigPath);
  // Signatures over an older summary are worthless; replace ours, keep other kinds.
  meta = (meta ?? []).filter(([k]) => k !== ED25519_METADATA_KEY);
  writeFileAtomic(sigPath, encodeCommitMeta(withSignatures(meta, secrets.map((s) => signBytes(bytes, s)))), { durable: repo.durable });
}

/** Where ostree looks for trusted ed25519 keys when a remote names none. */
export const SYSTEM_ED25519_KEY_PATHS = ['/etc/ostree/trusted.ed25519', '/etc/ostree/trusted.ed25519.d', '/usr/share/ostree/trusted.ed25519.d'];

/**
 * Public keys a remote trusts: verification-ed25519-key, then each line of
 * verification-ed25519-file; with neither, the system key files and directories (as ostree).
 */
export function remoteEd25519Keys(
  remote: { name: string; ed25519Key?: string; ed25519File?: string },
  systemPaths: string[] = SYSTEM_ED25519_KEY_PATHS,
): Ed25519PublicKey[] {
  const keys: Ed25519PublicKey[] = [];
  if (remote.ed25519Key) keys.push(parsePublicKey(remote.ed25519Key, `remote '${remote.name}': verification-ed25519-key`));
  if (remote.ed25519File) {
    for (const k of readKeyFile(remote.ed25519File)) keys.push(parsePublicKey(k, `remote '${remote.name}': key in ${remote.ed25519File}`));
  }
  if (keys.length) return keys;
  for (const p of systemPaths) {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    const files = st?.isDirectory() ? fs.readdirSync(p).sort().map((f) => `${p}/${f}`) : st?.isFile() ? [p] : [];
    for (const f of files) {
      if (!fs.statSync(f).isFile()) continue;
      for (const k of readKeyFile(f)) keys.push(parsePublicKey(k, `trusted key in ${f}`));
    }
  }
  return keys;
}
