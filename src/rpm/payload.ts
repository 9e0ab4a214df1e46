// Decompression of an RPM payload as a stream of buffers: gzip (zlib), xz and lzma
// (lzma-native), zstd (zstd-napi), bzip2 (the bzip2 tool) or none. The compressed bytes
// can be hashed on their way in, which is how the payload digest is checked.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import type { Hash } from 'node:crypto';
import { ArborError } from '../common/errors';

export type Compressor = 'gzip' | 'xz' | 'lzma' | 'zstd' | 'bzip2' | 'none';

/** PAYLOADCOMPRESSOR values rpm writes, mapped to our decoders (absent means gzip). */
export function compressorFromTag(value: string | undefined, where: string): Compressor {
  switch (value ?? 'gzip') {
    case 'gzip': return 'gzip';
    case 'xz': return 'xz';
    case 'lzma': return 'lzma';
    case 'zstd': return 'zstd';
    case 'bzip2': return 'bzip2';
    case 'identity':
    case 'none': return 'none';
    default: throw new ArborError('Unsupported', `${where}: payload compressor '${value}' is not supported (gzip, xz, lzma, zstd, bzip2, identity are)`);
  }
}

interface LzmaNative {
  createStream(kind: string, options?: Record<string, unknown>): Duplex;
}

const toolCache = new Map<string, boolean>();
/** Whether `cmd` is an executable on PATH (looked up once per process). */
function onPath(cmd: string): boolean {
  let found = toolCache.get(cmd);
  if (found === undefined) {
    found = (process.env.PATH ?? '').split(':').some((d) => {
      try {
        fs.accessSync(`${d || '.'}/${cmd}`, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    toolCache.set(cmd, found);
  }
  return found;
}

// Payloads this large are decompressed by the xz/zstd programs when present: measured
// 2-3x faster than lzma-native/zstd-napi here, and on another core, which is how
// rpm2cpio | cpio pipelines. Small payloads stay in-process (a spawn costs ~5 ms).
export const TOOL_THRESHOLD = 512 * 1024;
// Let decoders run this far ahead of the file writes, so decompression (in zlib's thread
// or the xz/zstd process) overlaps with extraction instead of waiting for it.
const READ_AHEAD = 4 * 1024 * 1024;

/**
 * A Transform that decompresses `c`; errors surface as Corrupted naming `where`.
 * `size` (compressed bytes) chooses between the in-process decoder and the tool.
 */
export function decompressor(c: Compressor, where: string, size = 0): Duplex {
  const tool = size >= TOOL_THRESHOLD && process.env.ARBOR_PAYLOAD_INPROCESS !== '1';
  switch (c) {
    case 'gzip':
      return (require('node:zlib') as typeof import('node:zlib')).createGunzip({ chunkSize: 256 * 1024, readableHighWaterMark: READ_AHEAD } as import('node:zlib').ZlibOptions);
    case 'xz':
    case 'lzma':
      if (tool && onPath('xz')) return new ToolStream('xz', ['-dc', ...(c === 'lzma' ? ['--format=lzma'] : [])], where);
      // autoDecoder takes both .xz and legacy .lzma streams.
      return (require('lzma-native') as LzmaNative).createStream('autoDecoder', {});
    case 'zstd': {
      if (tool && onPath('zstd')) return new ToolStream('zstd', ['-dcq'], where);
      const { DecompressStream } = require('zstd-napi') as typeof import('zstd-napi');
      return new DecompressStream();
    }
    case 'bzip2':
      return new ToolStream('bzip2', ['-dc'], where);
    case 'none':
      return new PassThrough();
  }
}

/**
 * Runs a filter program (xz -dc, zstd -dc, bzip2 -dc) as a Duplex with backpressure both
 * ways: a slow consumer pauses the program's output, which in turn stops its input.
 */
class ToolStream extends Duplex {
  private readonly child;
  private err = '';
  private exit: Promise<void>;
  constructor(cmd: string, args: string[], where: string) {
    super({ readableHighWaterMark: READ_AHEAD });
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = this.child.stdout;
    out.on('data', (b: Buffer) => {
      if (!this.push(b)) out.pause();
    });
    this.child.stderr.on('data', (b: Buffer) => (this.err += b.toString()));
    this.child.stdin.on('error', () => undefined);
    this.exit = new Promise((resolve, reject) => {
      this.child.on('error', (e) => reject(new ArborError('Unsupported', `${where}: cannot run ${cmd}: ${e.message}`)));
      this.child.on('close', (code) =>
        code === 0 ? resolve() : reject(new ArborError('Corrupted', `${where}: ${cmd} failed (exit ${code}): ${this.err.trim()}`)),
      );
    });
    this.exit.then(() => this.push(null), (e) => this.destroy(e));
  }
  override _write(chunk: Buffer, _enc: string, cb: (e?: Error | null) => void): void {
    if (this.child.stdin.write(chunk)) cb();
    else this.child.stdin.once('drain', () => cb());
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.child.stdin.end();
    cb();
  }
  override _read(): void {
    this.child.stdout.resume();
  }
  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    cb(err);
  }
}

export interface PayloadSource {
  path: string;
  /** Byte offset of the compressed payload in the file. */
  offset: number;
  compressor: Compressor;
  /** Fed every compressed byte, for the payload digest. */
  hash?: Hash;
  /** Compressed size, to pick the decoder. */
  size?: number;
  signal?: AbortSignal;
}

/**
 * The decompressed payload as an async iterable of chunks. The file is read from
 * `offset` in 1 MiB pieces; nothing holds more than a few chunks at once.
 */
export async function* decompressedPayload(src: PayloadSource, where: string): AsyncGenerator<Buffer> {
  const input = fs.createReadStream(src.path, { start: src.offset, highWaterMark: 1024 * 1024 });
  const dec = decompressor(src.compressor, where, src.size);
  const hash = src.hash;
  // A plain pipe: the hash sees the compressed bytes in order before the decoder does.
  input.on('data', (b: Buffer | string) => hash?.update(b as Buffer));
  input.on('error', (e) => dec.destroy(e));
  input.pipe(dec);
  try {
    for await (const chunk of dec as AsyncIterable<Buffer>) {
      if (src.signal?.aborted) throw new ArborError('Cancelled', `${where}: extraction cancelled`);
      yield chunk;
    }
  } catch (e) {
    if (e instanceof ArborError) throw e;
    throw new ArborError('Corrupted', `${where}: ${src.compressor} payload does not decompress: ${(e as Error).message}`, { cause: e });
  } finally {
    input.destroy();
    dec.destroy();
  }
}

