// OSTree stores its own integers (uid, gid, mode, timestamps) big-endian inside
// little-endian GVariants; these swap between host and that order.
export function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

export function bswap64(v: bigint): bigint {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64LE(v);
  return b.readBigUInt64BE();
}
