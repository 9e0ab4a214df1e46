// The repository `summary`: every local ref with its commit's size, checksum,
// timestamp and version, which pull reads instead of fetching ref files.
import fs from 'node:fs';
import { ArborError } from '../common/errors';
import { writeFileAtomic } from '../common/atomic-write';
import { Variant, bswap64, decode, encode } from '../gvariant';
import { Checksum, checksumFromBytes, checksumToBytes } from './checksum';
import { Metadata, decodeCommit, metadataGet } from './objects';
import { Repo } from './repo';

export const T_SUMMARY = '(a(s(taya{sv}))a{sv})';

export interface SummaryRef {
  /** Size of the commit object in bytes. */
  size: number;
  checksum: Checksum;
  timestamp?: number;
  version?: string;
  metadata: Metadata;
}

export interface Summary {
  refs: Map<string, SummaryRef>;
  metadata: Metadata;
}

export function encodeSummary(s: Summary): Buffer {
  const refs = [...s.refs].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  return encode(T_SUMMARY, [
    // The commit size is the one integer OSTree leaves little-endian here.
    refs.map(([name, r]) => [name, [BigInt(r.size), checksumToBytes(r.checksum), r.metadata]]),
    s.metadata,
  ]);
}

export function decodeSummary(bytes: Uint8Array, where = 'summary', strict = false): Summary {
  let raw: [Array<[string, [bigint, Buffer, Metadata]]>, Metadata];
  try {
    raw = decode(T_SUMMARY, bytes, { strict });
  } catch (e) {
    throw new ArborError('Corrupted', `${where}: ${(e as Error).message}`);
  }
  const refs = new Map<string, SummaryRef>();
  for (const [name, [size, csum, metadata]] of raw[0]) {
    const ts = metadataGet<bigint>(metadata, 'ostree.commit.timestamp');
    refs.set(name, {
      size: Number(size),
      checksum: checksumFromBytes(csum, `${where}: ref ${name}`),
      timestamp: typeof ts === 'bigint' ? Number(bswap64(ts)) : undefined,
      version: metadataGet<string>(metadata, 'ostree.commit.version'),
      metadata,
    });
  }
  return { refs, metadata: raw[1] };
}

/** `summary -u`: regenerate from local refs; a stale summary.sig is removed. */
export function updateSummary(repo: Repo, extra: Metadata = []): Summary {
  const refs = new Map<string, SummaryRef>();
  for (const [name, csum] of repo.listRefs({ remote: null })) {
    const bytes = repo.readMetadata('commit', csum);
    const commit = decodeCommit(bytes, `commit ${csum}`);
    const version = metadataGet<string>(commit.metadata, 'version');
    const metadata: Metadata = [['ostree.commit.timestamp', new Variant('t', bswap64(BigInt(commit.timestamp)))]];
    if (typeof version === 'string') metadata.unshift(['ostree.commit.version', new Variant('s', version)]);
    refs.set(name, { size: bytes.length, checksum: csum, timestamp: commit.timestamp, version, metadata });
  }
  const cid = repo.config.get('core', 'collection-id');
  const metadata: Metadata = [
    ...extra,
    ['ostree.summary.mode', new Variant('s', repo.isArchive ? 'archive-z2' : repo.mode)],
    ['ostree.summary.last-modified', new Variant('t', bswap64(BigInt(Math.floor(Date.now() / 1000))))],
    ['ostree.summary.tombstone-commits', new Variant('b', repo.config.getBoolean('core', 'tombstone-commits', false))],
    ['ostree.summary.indexed-deltas', new Variant('b', true)],
  ];
  if (cid) metadata.push(['ostree.summary.collection-id', new Variant('s', cid)]);
  const summary = { refs, metadata };
  writeFileAtomic(`${repo.path}/summary`, encodeSummary(summary), { durable: repo.durable });
  fs.rmSync(`${repo.path}/summary.sig`, { force: true });
  if (repo.config.get('core', 'indexed-deltas') !== 'true') {
    repo.config.set('core', 'indexed-deltas', 'true');
    repo.saveConfig();
  }
  return summary;
}

export function readSummary(repo: Repo): Summary | null {
  const p = `${repo.path}/summary`;
  if (!fs.existsSync(p)) return null;
  return decodeSummary(fs.readFileSync(p), p);
}
