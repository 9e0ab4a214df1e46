// Damaged and hostile input: whatever the bytes, decode returns a value or throws a
// GVariantError, never another exception, and never hangs. Replay a failure with
// GVARIANT_SEED=<seed> (printed in the suite title).
import assert from 'node:assert/strict';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GVariantError, GVariantTypeError, Variant, decode, encode, isNormalForm, offsetSize } from '../../src/gvariant';
import { RUN_SEED } from './support/prng';
import { FuzzCorpus } from './support/fuzz-cases';
import type { FuzzReport, FuzzRequest } from './support/fuzz-worker';

const CASES = 12_000;
const DEADLINE_MS = 15_000;

/** Runs the corpus in a worker; rejects naming the case in progress if it overruns. */
function runFuzzWorker(req: Omit<FuzzRequest, 'progress'>, deadlineMs: number): Promise<FuzzReport> {
  const progress = new SharedArrayBuffer(4);
  const fromTs = __filename.endsWith('.ts');
  const worker = new Worker(path.join(__dirname, 'support', `fuzz-worker${fromTs ? '.ts' : '.js'}`), {
    workerData: { ...req, progress } satisfies FuzzRequest,
    execArgv: fromTs ? ['--require', 'tsx/cjs'] : [],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const i = Atomics.load(new Int32Array(progress), 0);
      void worker.terminate();
      const c = new FuzzCorpus(req.seed).case(i);
      reject(new Error(`fuzzing overran ${deadlineMs} ms at case #${i}: decode('${c.type}', ${c.bytes.toString('hex').slice(0, 200)})`));
    }, deadlineMs);
    worker.once('message', (r: FuzzReport) => { clearTimeout(timer); resolve(r); });
    worker.once('error', (e) => { clearTimeout(timer); reject(e); });
    worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`fuzz worker exited with ${code}`)); });
  });
}

/** The bytes of n variants nested around a byte: <<…<byte 5>…>>, without encode. */
function nestedVariantBytes(n: number): Buffer {
  const parts = [Buffer.from([5, 0, 0x79])];
  for (let i = 1; i < n; i++) parts.push(Buffer.from([0, 0x76]));
  return Buffer.concat(parts);
}

function assertCleanThrow(fn: () => unknown, ...classes: Array<new (...a: never[]) => Error>): void {
  try {
    fn();
  } catch (e) {
    assert.ok(classes.some((c) => e instanceof c), `threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    return;
  }
  assert.fail('did not throw');
}

describe(`GVariant decoding of hostile input (seed ${RUN_SEED}; replay with GVARIANT_SEED=${RUN_SEED})`, function () {
  this.timeout(DEADLINE_MS + 10_000);

  describe(`${CASES} mutated objects, decoded leniently and strictly`, () => {
    let report: FuzzReport;

    before(async () => {
      report = await runFuzzWorker({ seed: RUN_SEED, count: CASES, slowMs: 250 }, DEADLINE_MS);
    });

    it('only ever return a value or throw a GVariantError, each within 250 ms', () => {
      assert.deepEqual(report.failures, []);
    });

    it('include inputs that still decode and some that are still in normal form', () => {
      assert.ok(report.decoded > CASES / 10, `only ${report.decoded} decoded`);
      assert.ok(report.strictlyAccepted > 0, 'none strictly accepted');
    });
  });

  describe('nesting bombs', () => {
    const bomb = nestedVariantBytes(10_000);

    it('refuses 10,000 nested variants with a GVariantError, leniently', () => {
      assertCleanThrow(() => decode('v', bomb), GVariantError);
    });

    it('refuses 10,000 nested variants with a GVariantError, strictly', () => {
      assertCleanThrow(() => decode('v', bomb, { strict: true }), GVariantError);
      assert.equal(isNormalForm('v', bomb), false);
    });

    it('refuses the same bomb inside an a{sv} metadata value', () => {
      assert.equal(decode<unknown[]>('a{sv}', metadataAround(nestedVariantBytes(3)), { strict: true }).length, 1);
      assertCleanThrow(() => decode('a{sv}', metadataAround(bomb)), GVariantError);
    });

    it('refuses to encode 10,000 nested Variant objects with a GVariantError', () => {
      let v: Variant = new Variant('y', 5);
      for (let i = 1; i < 10_000; i++) v = new Variant('v', v);
      assertCleanThrow(() => encode('v', v), GVariantError);
    });

    it("refuses a type string of 300 'a's with a GVariantTypeError", () => {
      assertCleanThrow(() => decode('a'.repeat(300) + 'y', Buffer.alloc(0)), GVariantTypeError);
    });

    it("refuses a variant whose type is 300 'a's with a GVariantError", () => {
      assertCleanThrow(() => decode('v', Buffer.from('\0' + 'a'.repeat(300) + 'y')), GVariantError);
    });

    it("refuses a type string of 100,000 '('s with a GVariantTypeError", () => {
      assertCleanThrow(() => decode('('.repeat(100_000) + ')'.repeat(100_000), Buffer.from('00', 'hex')), GVariantTypeError);
    });

    it('handles a variant whose type is a 200,000-member tuple without overflowing', () => {
      const t = `(${'y'.repeat(200_000)})`;
      const b = Buffer.concat([Buffer.alloc(200_000, 7), Buffer.from('\0' + t)]);
      const v = decode<Variant<number[]>>('v', b, { strict: true });
      assert.equal(v.value.length, 200_000);
    });

    it('refuses a variant whose type string is 1 MB of garbage', () => {
      assertCleanThrow(() => decode('v', Buffer.from('\0' + 'z'.repeat(1 << 20))), GVariantError);
    });
  });
});

/** A one-entry a{sv} {'k': given variant bytes}, framed by hand (encode would refuse a bomb). */
function metadataAround(variantBytes: Buffer): Buffer {
  const key = Buffer.from('k\0');
  const body = Buffer.concat([key, Buffer.alloc(8 - key.length), variantBytes]);
  const entry = Buffer.concat([body, offsetLE(key.length, offsetSize(body.length, 1))]);
  return Buffer.concat([entry, offsetLE(entry.length, offsetSize(entry.length, 1))]);
}

function offsetLE(value: number, width: number): Buffer {
  const b = Buffer.alloc(width);
  b.writeUIntLE(value, 0, width);
  return b;
}
