// Runs the fuzz corpus off the main thread, so that a decoder that hangs can be
// stopped and named: the index of the case in progress is kept in shared memory.
import { isDeepStrictEqual } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { GVariantError, decode, encode } from '../../../src/gvariant';
import { FuzzCorpus } from './fuzz-cases';

export interface FuzzRequest {
  seed: number;
  count: number;
  /** Int32Array over a SharedArrayBuffer: [0] is the case in progress. */
  progress: SharedArrayBuffer;
  /** A single decode slower than this is reported (catches superlinear blowups). */
  slowMs: number;
}

export interface FuzzReport {
  decoded: number;
  strictlyAccepted: number;
  failures: string[];
}

function run(req: FuzzRequest): FuzzReport {
  const progress = new Int32Array(req.progress);
  const corpus = new FuzzCorpus(req.seed);
  const report: FuzzReport = { decoded: 0, strictlyAccepted: 0, failures: [] };
  const fail = (i: number, type: string, bytes: Buffer, why: string): void => {
    if (report.failures.length < 20) report.failures.push(`case #${i} ${type} ${bytes.toString('hex').slice(0, 200)}: ${why}`);
  };
  for (let i = 0; i < req.count; i++) {
    Atomics.store(progress, 0, i);
    const { type, bytes } = corpus.case(i);
    const results: Array<{ ok: true; value: unknown } | { ok: false }> = [];
    for (const strict of [false, true]) {
      const t0 = performance.now();
      try {
        results.push({ ok: true, value: decode(type, bytes, { strict }) });
      } catch (e) {
        results.push({ ok: false });
        if (!(e instanceof GVariantError)) fail(i, type, bytes, `strict=${strict} threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      }
      const ms = performance.now() - t0;
      if (ms > req.slowMs) fail(i, type, bytes, `strict=${strict} took ${ms.toFixed(0)} ms`);
    }
    const [lenient, strict] = results;
    if (lenient.ok) report.decoded++;
    if (strict.ok) {
      report.strictlyAccepted++;
      if (!lenient.ok) fail(i, type, bytes, 'accepted strictly but refused leniently');
      else if (!isDeepStrictEqual(lenient.value, strict.value)) fail(i, type, bytes, 'strict and lenient readings differ');
      else if (!encode(type, strict.value).equals(bytes)) fail(i, type, bytes, 'accepted strictly but does not re-encode to the input');
    }
  }
  Atomics.store(progress, 0, req.count);
  return report;
}

if (parentPort) parentPort.postMessage(run(workerData as FuzzRequest));
