// Checksums: OSTree names every object by a SHA-256, shown as 64 lowercase hex
// digits and stored inside objects as 32 raw bytes.
import { ArborError } from '../common/errors';

export type Checksum = string & { readonly __brand: 'Checksum' };

const HEX64 = /^[0-9a-f]{64}$/;

export function isChecksum(s: string): s is Checksum {
  return HEX64.test(s);
}

export function checksumFromBytes(b: Uint8Array, what = 'checksum'): Checksum {
  if (b.length !== 32) throw new ArborError('Corrupted', `${what}: a checksum must be 32 bytes, found ${b.length}`);
  return Buffer.from(b.buffer, b.byteOffset, 32).toString('hex') as Checksum;
}

export function checksumToBytes(c: Checksum): Buffer {
  return Buffer.from(c, 'hex');
}
