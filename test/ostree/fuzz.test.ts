// Fuzzing the object parsers: mutated commits, dirtrees, dirmetas, content headers
// and .filez objects must either parse or be refused with an ArborError naming the
// object. Any other exception is a bug, and so is a parser that stops making
// progress: the inputs run in a worker whose progress the test watches. Failing
// inputs are printed in hex; ARBOR_FUZZ_SEED replays a run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ArborError } from '../../src/common/errors';
import { native } from '../../src/common/native';
import { Variant, encode } from '../../src/gvariant';
import { isChecksum } from '../../src/ostree/checksum';
import { commitTree } from '../../src/ostree/commit';
import {
  T_COMMITMETA, bareUserMetaMode, decodeArchiveHeader, decodeBareUserMeta, decodeCommit, decodeCommitMeta, decodeDirMeta,
  decodeDirTree, decodeFileHeader, isDirMode, sha256, validateName,
} from '../../src/ostree/objects';
import { Repo } from '../../src/ostree/repo';
import { Prng } from '../gvariant/support/prng';
import { VECTORS, run, tmpdir } from '../helpers';

type Kind = 'commit' | 'dirtree' | 'dirmeta' | 'commitmeta' | 'file-header' | 'filez' | 'bare-user-meta';

interface Sample { kind: Kind; name: string; bytes: Buffer }

const INPUTS = 24_000;
const LOADFILE_EVERY = 8; // one mutated .filez / ostreemeta in this many also goes through Repo.loadFile
const SLOW_MS = 1000; // a single parse of a few KB taking this long is a bug (superlinear, or nearly a hang)
const STALL_MS = 5000; // no progress for this long: the worker is stopped and the input in hand reported

function fuzzSeed(): number {
  const s = process.env.ARBOR_FUZZ_SEED;
  return s ? Number(s) >>> 0 : 0x0a5b0f;
}

// --- the corpus -----------------------------------------------------------------

function vectorSamples(): Sample[] {
  const out: Sample[] = [];
  const dir = path.join(VECTORS, 'objects');
  for (const f of fs.readdirSync(dir)) {
    const m = /^[0-9a-f]{64}\.(commit|dirtree|dirmeta|filez)$/.exec(f);
    if (m) out.push({ kind: m[1] as Kind, name: `vectors/${f}`, bytes: fs.readFileSync(path.join(dir, f)) });
  }
  for (const f of ['hello.txt.content-stream.bin', 'link.content-stream.bin']) {
    const stream = fs.readFileSync(path.join(VECTORS, f));
    const len = stream.readUInt32BE(0);
    out.push({ kind: 'file-header', name: `vectors/${f}`, bytes: stream.subarray(8, 8 + len) });
  }
  const xdir = path.join(VECTORS, 'bare-user-xattrs');
  for (const f of fs.readdirSync(xdir).filter((n) => n.endsWith('.ostreemeta.hex'))) {
    out.push({ kind: 'bare-user-meta', name: `vectors/${f}`, bytes: Buffer.from(fs.readFileSync(path.join(xdir, f), 'utf8').trim(), 'hex') });
  }
  return out;
}

/** A tree with what the vectors lack: xattrs everywhere, a dirtree over 255 bytes, big and empty files. */
function makeRichTree(dir: string): void {
  fs.mkdirSync(`${dir}/etc/many`, { recursive: true });
  fs.mkdirSync(`${dir}/usr/bin`, { recursive: true });
  for (let i = 0; i < 40; i++) fs.writeFileSync(`${dir}/etc/many/entry-${i}.conf`, `key=${i}\n`);
  fs.writeFileSync(`${dir}/etc/empty`, '');
  fs.writeFileSync(`${dir}/usr/bin/tool`, Buffer.alloc(70_000, 'abcdefgh'));
  fs.chmodSync(`${dir}/usr/bin/tool`, 0o4755);
  fs.symlinkSync('../usr/bin/tool', `${dir}/etc/tool-link`);
  fs.symlinkSync('/an/absolute/target/that/is/long/enough/to/matter', `${dir}/usr/abs`);
  run('setfattr', ['-n', 'user.one', '-v', 'first', `${dir}/etc/empty`]);
  run('setfattr', ['-n', 'user.two', '-v', '0x00ff00', `${dir}/etc/empty`]);
  run('setfattr', ['-n', 'user.dir', '-v', 'd', `${dir}/etc`]);
  run('setfattr', ['-h', '-n', 'trusted.link', '-v', 'l', `${dir}/etc/tool-link`]);
}

async function freshSamples(work: string): Promise<{ samples: Sample[]; archive: Repo; bareUser: Repo }> {
  const tree = `${work}/tree`;
  fs.mkdirSync(tree);
  makeRichTree(tree);
  const archive = Repo.init(`${work}/archive`, 'archive');
  const bareUser = Repo.init(`${work}/bare-user`, 'bare-user');
  const opts = {
    branch: 'fuzz/base',
    subject: 'subject',
    body: 'body\nwith lines',
    timestamp: 1_700_000_000,
    metadata: [
      ['version', new Variant('s', '42.1')],
      ['arbor.numbers', new Variant('at', [1n, 2n, 3n])],
      ['arbor.nested', new Variant('a{sv}', [['x', new Variant('u', 7)]])],
    ] as Array<[string, Variant]>,
  };
  await commitTree(archive, tree, opts);
  await commitTree(bareUser, tree, { ...opts, ownerUid: 1000, ownerGid: 1000 });
  const samples: Sample[] = [];
  for (const { type, csum } of archive.listObjects()) {
    const kind = type === 'file' ? 'filez' : type;
    if (kind === 'filez' || kind === 'commit' || kind === 'dirtree' || kind === 'dirmeta') {
      samples.push({ kind, name: `fresh/${csum}.${kind}`, bytes: fs.readFileSync(archive.objectPath(type, csum)) });
    }
  }
  for (const { type, csum } of bareUser.listObjects()) {
    if (type !== 'file') continue;
    const meta = native.getxattr(bareUser.objectPath('file', csum), 'user.ostreemeta');
    if (meta) samples.push({ kind: 'bare-user-meta', name: `fresh/${csum}.file`, bytes: meta });
  }
  samples.push({ kind: 'commitmeta', name: 'fresh/commitmeta', bytes: encode(T_COMMITMETA, opts.metadata) });
  return { samples, archive, bareUser };
}

// --- mutations --------------------------------------------------------------------

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x20, 0x2f, 0x2e];

function interestingLength(rng: Prng, len: number): number {
  return rng.pick([0, 1, 2, 7, 8, 31, 32, 33, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, len, len - 1, len + 1, len >>> 1]) >>> 0;
}

function writeLE(b: Buffer, at: number, width: number, v: number): void {
  for (let i = 0; i < width && at + i < b.length; i++) b[at + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
}

type Mutator = (rng: Prng, b: Buffer, kind: Kind, donor: Buffer) => [Buffer, string];

const MUTATORS: Mutator[] = [
  (rng, b) => {
    const out = Buffer.from(b);
    const n = rng.int(1, 4);
    const at: number[] = [];
    for (let i = 0; i < n && out.length; i++) {
      const p = rng.int(0, out.length - 1);
      out[p] ^= 1 << rng.int(0, 7);
      at.push(p);
    }
    return [out, `bit flips at ${at.join(',')}`];
  },
  (rng, b) => {
    const out = Buffer.from(b);
    const n = rng.int(1, 4);
    for (let i = 0; i < n && out.length; i++) out[rng.int(0, out.length - 1)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(0, 255);
    return [out, `${n} bytes replaced`];
  },
  (rng, b) => {
    const n = rng.int(0, Math.max(0, b.length - 1));
    return [Buffer.from(b.subarray(0, n)), `truncated to ${n}`];
  },
  (rng, b) => {
    const n = rng.int(1, Math.max(1, b.length - 1));
    return [Buffer.from(b.subarray(n)), `first ${n} bytes cut`];
  },
  (rng, b) => {
    const extra = rng.chance(0.5) ? Buffer.alloc(rng.int(1, 16)) : rng.bytes(rng.int(1, 64));
    return [Buffer.concat([b, extra]), `extended by ${extra.length}`];
  },
  (rng, b) => {
    const at = rng.int(0, b.length);
    const ins = rng.bytes(rng.int(1, 16));
    return [Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]), `${ins.length} bytes inserted at ${at}`];
  },
  (rng, b) => {
    if (b.length < 2) return [Buffer.from(b), 'unchanged'];
    const s = rng.int(0, b.length - 1);
    const e = rng.int(s + 1, Math.min(b.length, s + 40));
    return [Buffer.concat([b.subarray(0, s), b.subarray(e)]), `bytes ${s}..${e} removed`];
  },
  // GVariant framing offsets sit at the ends of containers, most of them at the very end.
  (rng, b) => {
    const out = Buffer.from(b);
    const width = rng.pick([1, 1, 2, 4]);
    const at = rng.chance(0.6) ? Math.max(0, out.length - width * rng.int(1, 4)) : rng.int(0, Math.max(0, out.length - 1));
    const v = interestingLength(rng, out.length);
    writeLE(out, at, width, v);
    return [out, `length field ${v} (width ${width}) at ${at}`];
  },
  // .filez framing: the BE32 header length, then the BE64 size inside the header.
  (rng, b, kind) => {
    const out = Buffer.from(b);
    if (kind !== 'filez' || out.length < 16) return [out, 'unchanged'];
    if (rng.chance(0.5)) {
      const v = interestingLength(rng, out.readUInt32BE(0));
      out.writeUInt32BE(v, 0);
      return [out, `header length ${v}`];
    }
    const v = rng.pick([0n, 1n, 0xffffffffn, 1n << 53n, (1n << 64n) - 1n, BigInt(rng.u32())]);
    out.writeBigUInt64BE(v, 8);
    return [out, `declared size ${v}`];
  },
  (rng, b, _kind, donor) => {
    const s = rng.int(0, b.length);
    const e = rng.int(s, Math.min(b.length, s + 64));
    const ds = rng.int(0, donor.length);
    const piece = donor.subarray(ds, rng.int(ds, Math.min(donor.length, ds + 64)));
    return [Buffer.concat([b.subarray(0, s), piece, b.subarray(e)]), `bytes ${s}..${e} replaced by ${piece.length} from another object`];
  },
];

function mutate(rng: Prng, s: Sample, donor: Buffer): [Buffer, string] {
  let bytes = s.bytes;
  const how: string[] = [];
  const rounds = rng.chance(0.75) ? 1 : rng.int(2, 4);
  for (let i = 0; i < rounds; i++) {
    const [b, h] = rng.pick(MUTATORS)(rng, bytes, s.kind, donor);
    bytes = b;
    how.push(h);
  }
  return [bytes, how.join('; ')];
}

// --- the decoders and what a successful parse must satisfy ---------------------------

function checkNames(names: string[], where: string): void {
  for (const n of names) validateName(n, where);
}

function assertChecksums(cs: Array<string | null>): void {
  for (const c of cs) if (c !== null) assert.ok(isChecksum(c), `decoded checksum '${c}' is not 64 hex digits`);
}

const DECODE: Record<Kind, (b: Buffer, where: string, strict: boolean) => void> = {
  commit: (b, where, strict) => {
    const c = decodeCommit(b, where, strict);
    assertChecksums([c.parent, c.rootTree, c.rootMeta]);
    assert.ok(Number.isFinite(c.timestamp));
  },
  dirtree: (b, where, strict) => {
    const t = decodeDirTree(b, where, strict);
    checkNames([...t.files.map((f) => f[0]), ...t.dirs.map((d) => d[0])], where);
    assertChecksums([...t.files.map((f) => f[1]), ...t.dirs.flatMap((d) => [d[1], d[2]])]);
  },
  dirmeta: (b, where, strict) => {
    assert.ok(isDirMode(decodeDirMeta(b, where, strict).mode));
  },
  commitmeta: (b, where) => { decodeCommitMeta(b, where); },
  'file-header': (b, where, strict) => { decodeFileHeader(b, where, strict); },
  filez: (b, where) => {
    const h = decodeArchiveHeader(b, where);
    assert.ok(Number.isSafeInteger(h.size) && h.size >= 0 && h.dataOffset <= b.length);
  },
  'bare-user-meta': (b, where) => {
    const mode = decodeBareUserMeta(b, where).mode;
    assert.equal(bareUserMetaMode(b, where), mode, 'the mode peek agrees with the full decode');
  },
};

const HAS_STRICT: ReadonlySet<Kind> = new Set(['commit', 'dirtree', 'dirmeta', 'file-header']);

// --- the run, in a worker -------------------------------------------------------------

interface FuzzJob {
  seed: number;
  inputs: number;
  corpus: Sample[];
  archive: string;
  bareUser: string;
  /** Int32Array over it: [0] is the index of the input in hand. */
  progress: SharedArrayBuffer;
}

interface Failure { input: number; sample: string; how: string; call: string; hex: string; error: string }

interface FuzzReport { failures: Failure[]; counts: Record<string, number>; refused: number; slowestMs: number }

/** The inputs of a run, in order: the same seed and corpus always give the same sequence. */
function* fuzzInputs(seed: number, corpus: Sample[], inputs: number): Generator<{ i: number; sample: Sample; bytes: Buffer; how: string }> {
  const rng = new Prng(seed);
  // Kinds in turn, so the many small .filez of the fresh tree do not crowd out the rest.
  const kinds = [...new Set(corpus.map((c) => c.kind))];
  const byKind = new Map(kinds.map((k) => [k, corpus.filter((c) => c.kind === k)]));
  for (let i = 0; i < inputs; i++) {
    const sample = rng.pick(byKind.get(kinds[i % kinds.length])!);
    const [bytes, how] = mutate(rng, sample, rng.pick(corpus).bytes);
    yield { i, sample, bytes, how };
  }
}

function hex(b: Buffer): string {
  return b.length <= 4096 ? b.toString('hex') : `${b.subarray(0, 4096).toString('hex')}…`;
}

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : `non-Error thrown: ${String(e)}`;
}

async function fuzz(job: FuzzJob): Promise<FuzzReport> {
  const progress = new Int32Array(job.progress);
  // Buffers arrive as plain Uint8Arrays.
  const corpus = job.corpus.map((s) => ({ ...s, bytes: Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength) }));
  const archive = Repo.open(job.archive);
  const bareUser = Repo.open(job.bareUser);
  const report: FuzzReport = { failures: [], counts: {}, refused: 0, slowestMs: 0 };
  const planted = sha256(Buffer.from('fuzz target'));
  const plantedFilez = archive.objectPath('file', planted);
  const plantedBareUser = bareUser.objectPath('file', planted);
  fs.mkdirSync(path.dirname(plantedFilez), { recursive: true });
  fs.mkdirSync(path.dirname(plantedBareUser), { recursive: true });
  const clean = (e: unknown, where: string): boolean => e instanceof ArborError && e.code === 'Corrupted' && e.message.includes(where);
  const count = (k: string): void => { report.counts[k] = (report.counts[k] ?? 0) + 1; };

  for (const { i, sample: s, bytes, how } of fuzzInputs(job.seed, corpus, job.inputs)) {
    Atomics.store(progress, 0, i);
    const fail = (call: string, e: unknown): void => {
      if (report.failures.length < 200) report.failures.push({ input: i, sample: s.name, how, call, hex: hex(bytes), error: describeError(e) });
    };
    count(s.kind);
    const where = `${s.kind} #${i}`;
    for (const strict of HAS_STRICT.has(s.kind) ? [false, true] : [false]) {
      const t0 = performance.now();
      try {
        DECODE[s.kind](bytes, where, strict);
      } catch (e) {
        if (clean(e, where)) report.refused++;
        else fail(`${s.kind} decoder (strict=${strict})`, e);
      }
      const ms = performance.now() - t0;
      report.slowestMs = Math.max(report.slowestMs, ms);
      if (ms > SLOW_MS) fail(`${s.kind} decoder (strict=${strict})`, new Error(`took ${ms.toFixed(0)} ms`));
    }
    if (i % LOADFILE_EVERY === 0 && (s.kind === 'filez' || s.kind === 'bare-user-meta')) {
      const repo = s.kind === 'filez' ? archive : bareUser;
      if (s.kind === 'filez') fs.writeFileSync(plantedFilez, bytes);
      else {
        fs.writeFileSync(plantedBareUser, 'content\0');
        native.setxattr(plantedBareUser, 'user.ostreemeta', bytes);
      }
      count(`loadFile(${repo.mode})`);
      try {
        await repo.loadFile(planted);
      } catch (e) {
        if (!clean(e, `file object ${planted}`)) fail(`Repo.loadFile (${repo.mode})`, e);
      }
    }
  }
  Atomics.store(progress, 0, job.inputs);
  return report;
}

/** Runs the job in a worker; if an input stalls it, stops the worker and rejects naming that input. */
function fuzzInWorker(job: Omit<FuzzJob, 'progress'>): Promise<FuzzReport> {
  const progress = new SharedArrayBuffer(4);
  const worker = new Worker(__filename, { workerData: { arborObjectFuzz: { ...job, progress } } });
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = Date.now();
    const watchdog = setInterval(() => {
      const i = Atomics.load(new Int32Array(progress), 0);
      if (i !== last) {
        last = i;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > STALL_MS) {
        clearInterval(watchdog);
        void worker.terminate();
        let stalled = '';
        for (const c of fuzzInputs(job.seed, job.corpus, i + 1)) {
          if (c.i === i) stalled = `${c.sample.kind} input #${i}, a mutation of ${c.sample.name} (${c.how})\n  input: ${hex(c.bytes)}`;
        }
        reject(new Error(`no progress for ${STALL_MS} ms (a parser hangs?) on ${stalled}\n  seed ${job.seed}`));
      }
    }, 100);
    worker.once('message', (r: FuzzReport) => { clearInterval(watchdog); resolve(r); });
    worker.once('error', (e) => { clearInterval(watchdog); reject(e); });
    worker.once('exit', (code) => { clearInterval(watchdog); reject(new Error(`fuzz worker exited with ${code} before reporting`)); });
  });
}

const workerJob = (workerData as { arborObjectFuzz?: FuzzJob } | null)?.arborObjectFuzz;

if (!isMainThread && workerJob) {
  fuzz(workerJob).then((r) => parentPort!.postMessage(r), (e) => { throw e; });
} else {
  describe('object parser fuzzing', function () {
    this.timeout(60_000);
    let work: string;
    let corpus: Sample[];
    let archive: Repo;
    let bareUser: Repo;
    const seed = fuzzSeed();

    before(async () => {
      work = tmpdir('arbor-fuzz-');
      const fresh = await freshSamples(work);
      corpus = [...vectorSamples(), ...fresh.samples];
      archive = fresh.archive;
      bareUser = fresh.bareUser;
    });

    after(() => fs.rmSync(work, { recursive: true, force: true }));

    it('parses every unmutated sample (the corpus itself is sound)', () => {
      const kinds = new Set(corpus.map((s) => s.kind));
      assert.deepEqual([...kinds].sort(), ['bare-user-meta', 'commit', 'commitmeta', 'dirmeta', 'dirtree', 'file-header', 'filez']);
      assert.ok(corpus.some((s) => s.kind === 'dirtree' && s.bytes.length > 255), 'a dirtree with 2-byte framing offsets');
      for (const s of corpus) {
        DECODE[s.kind](s.bytes, s.name, false);
        if (HAS_STRICT.has(s.kind)) DECODE[s.kind](s.bytes, s.name, true);
      }
    });

    it(`refuses ${INPUTS} mutated objects with ArborError only, and never stalls`, async function () {
      this.timeout(20_000);
      const started = Date.now();
      const r = await fuzzInWorker({ seed, inputs: INPUTS, corpus, archive: archive.path, bareUser: bareUser.path });
      console.log(`      seed ${seed} (ARBOR_FUZZ_SEED to replay): ${JSON.stringify(r.counts)}; ${r.refused} decoder calls refused cleanly; `
        + `slowest call ${r.slowestMs.toFixed(1)} ms; ${Date.now() - started} ms`);
      if (r.failures.length) {
        // One example of each distinct fault: same message head and same throwing frame.
        const key = (f: Failure): string => f.error.split('\n').slice(0, 3).join('|').replace(/\d+/g, 'N');
        const distinct = [...new Map(r.failures.map((f) => [key(f), f])).values()];
        const shown = distinct.slice(0, 8).map((f) => `${f.call} on input #${f.input}, a mutation of ${f.sample} (${f.how})\n  input: ${f.hex}\n  ${f.error.replace(/\n/g, '\n  ')}`);
        assert.fail(`${r.failures.length} mutated input(s) escaped as something other than ArborError('Corrupted') (seed ${seed}):\n${shown.join('\n')}`);
      }
    });
  });
}
