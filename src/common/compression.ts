// Raw DEFLATE (zlib windowBits -15), the compression of OSTree's .filez objects.
// zlib is loaded on first use: it costs ~40 ms at start-up that most commands never need.
import type * as Zlib from 'node:zlib';

let zlib: typeof Zlib | undefined;
function load(): typeof Zlib {
  return (zlib ??= require('node:zlib') as typeof Zlib);
}

export function deflateRaw(data: Uint8Array, level = 6): Promise<Buffer> {
  return new Promise((resolve, reject) => load().deflateRaw(data, { level }, (err, out) => (err ? reject(err) : resolve(out))));
}

export function inflateRaw(data: Uint8Array, maxOutputLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    load().inflateRaw(data, { maxOutputLength }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}
