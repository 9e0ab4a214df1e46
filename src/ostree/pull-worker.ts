// Verifying and staging a pull's content objects on worker threads. Inflating, hashing
// and above all creating thousands of files held up the main thread, which must keep
// the HTTP requests flowing; ostree spreads that work over threads too. A worker checks
// a fetched .filez (pull-verify.ts) and only then writes it into the transaction's
// staging directory; the Transaction adopts it and makes it visible at commit().
import fs from 'node:fs';
import os from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ArborError, ErrorCode } from '../common/errors';
import { Checksum } from './checksum';
import { isCanonicalFilez, verifyContent } from './pull-verify';
import { RepoMode } from './repo';
import { writeContentFile } from './transaction';

/** Verifies fetched .filez objects and stages them in the repo's form. */
export interface ContentStager {
  /**
   * Checks `filez` against `csum`, then writes the object to `tmp` (which must not exist);
   * returns the bytes written. Nothing is written unless the object verifies. `filez` is
   * handed over: the caller must not use it afterwards.
   */
  stage(csum: Checksum, filez: Buffer, tmp: string, source: string): Promise<number>;
  /** Starts the threads now (they take tens of milliseconds to boot), before the first object arrives. */
  warm(): void;
  /** Stops the worker threads; jobs still running fail. */
  close(): Promise<void>;
}

/** The work itself, the same on a worker and inline. */
export async function verifyAndStage(mode: RepoMode, csum: Checksum, filez: Buffer, tmp: string, source: string): Promise<number> {
  const v = await verifyContent(csum, filez, source);
  if (mode === 'archive' && isCanonicalFilez(v, filez)) {
    // Byte for byte what ostree would write: kept as received, no deflate again.
    fs.writeFileSync(tmp, filez, { mode: 0o644, flag: 'wx' });
    return filez.length;
  }
  return writeContentFile(mode, tmp, v.header, v.content);
}

const ROLE = 'arbor-pull-stager';

interface Job { id: number; csum: Checksum; filez: Uint8Array; tmp: string; source: string }
/** An error crossing the thread boundary: an ArborError keeps its code, an OS error its errno name (ENOSPC…). */
interface WireError { arbor: boolean; code?: string; message: string; syscall?: string; path?: string }
type Reply = { id: number; bytes: number; error?: undefined } | { id: number; error: WireError };

function toWire(e: unknown): WireError {
  if (e instanceof ArborError) return { arbor: true, code: e.code, message: e.message };
  const x = e as NodeJS.ErrnoException;
  return { arbor: false, code: typeof x?.code === 'string' ? x.code : undefined, message: x instanceof Error ? x.message : String(e), syscall: x?.syscall, path: x?.path };
}

function fromWire(w: WireError): Error {
  if (w.arbor) return new ArborError(w.code as ErrorCode, w.message);
  const e: NodeJS.ErrnoException = new Error(w.message);
  if (w.code) e.code = w.code;
  if (w.syscall) e.syscall = w.syscall;
  if (w.path) e.path = w.path;
  return e;
}

interface Pending { resolve: (bytes: number) => void; reject: (e: Error) => void }
/** Jobs (and their buffers) not yet posted: those of one turn of the event loop go in one message. */
interface Slot { worker: Worker; pending: Map<number, Pending>; batch: Job[]; transfer: ArrayBuffer[] }

/** A few workers; each job goes to the least busy one. Idle workers do not keep the process alive. */
class WorkerStager implements ContentStager {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly mode: RepoMode, private readonly size: number) {}

  stage(csum: Checksum, filez: Buffer, tmp: string, source: string): Promise<number> {
    if (this.closed) return Promise.reject(new ArborError('Cancelled', 'pull finished'));
    const slot = this.pick();
    // Hand the bytes over without a copy when they own their memory; otherwise copy once.
    const own = filez.byteOffset === 0 && filez.byteLength === filez.buffer.byteLength && !(filez.buffer instanceof SharedArrayBuffer);
    const bytes = own ? filez : new Uint8Array(filez);
    const job: Job = { id: this.nextId++, csum, filez: bytes, tmp, source };
    return new Promise<number>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(job.id, { resolve, reject });
      slot.batch.push(job);
      slot.transfer.push(bytes.buffer as ArrayBuffer);
      if (slot.batch.length === 1) {
        setImmediate(() => {
          if (!slot.batch.length) return;
          slot.worker.postMessage(slot.batch, slot.transfer);
          slot.batch = [];
          slot.transfer = [];
        });
      }
    });
  }

  warm(): void {
    while (!this.closed && this.slots.length < this.size) this.spawn();
  }

  private pick(): Slot {
    let best: Slot | undefined;
    for (const s of this.slots) if (!best || s.pending.size < best.pending.size) best = s;
    if (best && (best.pending.size === 0 || this.slots.length >= this.size)) return best;
    return this.spawn();
  }

  private spawn(): Slot {
    const worker = new Worker(__filename, { workerData: { role: ROLE, mode: this.mode } });
    const slot: Slot = { worker, pending: new Map(), batch: [], transfer: [] };
    const settle = (id: number): Pending | undefined => {
      const p = slot.pending.get(id);
      slot.pending.delete(id);
      if (slot.pending.size === 0) worker.unref();
      return p;
    };
    worker.on('message', (replies: Reply[]) => {
      for (const r of replies) {
        const p = settle(r.id);
        if (!p) continue;
        if (r.error) p.reject(fromWire(r.error));
        else p.resolve(r.bytes);
      }
    });
    const failAll = (e: Error): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const id of [...slot.pending.keys()]) settle(id)!.reject(e);
    };
    worker.on('error', (e) => failAll(new ArborError('Io', `pull worker thread failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => failAll(new ArborError(this.closed ? 'Cancelled' : 'Io', `pull worker thread exited (code ${code})`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  async close(): Promise<void> {
    this.closed = true;
    // Ask each worker to end by itself: terminate() can abort node when it lands while
    // V8 is still compiling for that thread in the background.
    await Promise.all(
      this.slots.map((s) => new Promise<void>((resolve) => {
        s.worker.once('exit', () => resolve());
        s.worker.ref(); // keep the process alive until the worker has gone
        s.worker.postMessage(null);
      })),
    );
  }
}

/** Where workers cannot start (sources run through a TypeScript loader): the same work on this thread. */
class InlineStager implements ContentStager {
  constructor(private readonly mode: RepoMode) {}
  stage(csum: Checksum, filez: Buffer, tmp: string, source: string): Promise<number> {
    return verifyAndStage(this.mode, csum, filez, tmp, source);
  }
  warm(): void { /* nothing to start */ }
  async close(): Promise<void> { /* nothing held */ }
}

/**
 * One worker per core besides the main thread's (at least one, at most four): the main
 * thread is kept busy by HTTP, and each further worker costs start-up and JIT time that
 * on a small machine outweighs what it overlaps.
 */
export function createContentStager(mode: RepoMode, workers = Math.max(1, Math.min(os.availableParallelism() - 1, 4))): ContentStager {
  if (workers < 1 || !__filename.endsWith('.js')) return new InlineStager(mode);
  return new WorkerStager(mode, workers);
}

function serve(mode: RepoMode): void {
  const port = parentPort!;
  // Replies ready in one turn of this thread's event loop go back in one message.
  let replies: Reply[] = [];
  const reply = (r: Reply): void => {
    replies.push(r);
    if (replies.length === 1) {
      setImmediate(() => {
        port.postMessage(replies);
        replies = [];
      });
    }
  };
  port.on('message', (jobs: Job[] | null) => {
    if (jobs === null) return port.close();
    for (const job of jobs) {
      const filez = Buffer.from(job.filez.buffer, job.filez.byteOffset, job.filez.byteLength);
      verifyAndStage(mode, job.csum, filez, job.tmp, job.source).then(
        (bytes) => reply({ id: job.id, bytes }),
        (e) => reply({ id: job.id, error: toWire(e) }),
      );
    }
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) serve((workerData as { mode: RepoMode }).mode);
