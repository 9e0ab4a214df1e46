// Raw DEFLATE (zlib windowBits -15), the compression of OSTree's .filez objects.
// Small inputs are (de)compressed synchronously: a thread-pool round trip costs more
// than the work. Large ones go to the pool, so big files use both cores.
// zlib is loaded on first use: it costs ~40 ms at start-up that most commands never need.
import type * as Zlib from 'node:zlib';

let zlib: typeof Zlib | undefined;
function load(): typeof Zlib {
  return (zlib ??= require('node:zlib') as typeof Zlib);
}

// Compressing is ~5x the work of decompressing, so it goes to the pool (and the second
// core) at a smaller size.
const DEFLATE_SYNC_LIMIT = 64 * 1024;
const INFLATE_SYNC_LIMIT = 1024 * 1024;
const MAX_CHUNK = 64 * 1024 * 1024;

export function deflateRaw(data: Uint8Array, level = 6): Promise<Buffer> {
  if (data.length < DEFLATE_SYNC_LIMIT) return Promise.resolve(load().deflateRawSync(data, { level }));
  // One output chunk for the whole result: zlib's default 16 KiB chunks cost a
  // thread-pool round trip each.
  const chunkSize = Math.min(data.length + 1024, MAX_CHUNK);
  return new Promise((resolve, reject) => load().deflateRaw(data, { level, chunkSize }, (err, out) => (err ? reject(err) : resolve(out))));
}

/**
 * Inflates data whose size is known: `maxOutputLength` is that size, and more output is an
 * error. The output lands in one buffer (zlib's default 16 KiB chunks would be joined by a copy).
 */
export function inflateRaw(data: Uint8Array, maxOutputLength: number): Promise<Buffer> {
  // zlib's smallest chunk is 64 bytes; one spare byte lets it see the end without a second chunk.
  const chunkSize = Math.min(Math.max(maxOutputLength + 1, 64), MAX_CHUNK);
  if (maxOutputLength < INFLATE_SYNC_LIMIT) {
    try {
      return Promise.resolve(load().inflateRawSync(data, { maxOutputLength, chunkSize }));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return new Promise((resolve, reject) =>
    load().inflateRaw(data, { maxOutputLength, chunkSize }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}
