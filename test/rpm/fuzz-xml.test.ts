// Fuzzing the rpm-md readers: 12,000 mutations of a small primary.xml (byte flips,
// truncation, spliced ranges, tag and attribute damage, bad entities and UTF-8), plus
// filelists and repomd.xml, fed in random chunk sizes. Every input must end in packages
// or a Corrupted ArborError. The loop runs in a worker the test kills if it stalls.
// Damaged compressed files go through loadRepo itself (gz, xz, zst decoders).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ArborError } from '../../src/common/errors';
import { FilelistsParser, PrimaryParser } from '../../src/rpm/primary';
import { loadRepo, parseRepomd } from '../../src/rpm/repomd';
import { dep, prng, writeSyntheticRepo } from '../fixtures/synthetic-repo';
import { tmpdir } from '../helpers';

type Target = 'primary' | 'filelists' | 'repomd';
interface FuzzJob { target: Target; seed: number; count: number; base: string }
interface FuzzReport { done: number; ok: number; errors: number; maxMs: number; heapMb: number; failure?: string }

const FRAGMENTS = [
  '<', '>', '</', '/>', '<package type="rpm">', '</package>', '<rpm:entry name="x" flags="EQ" epoch="0" ver="1"/>',
  '<rpm:entry', 'flags="XX"', 'epoch="abc"', 'epoch="99999999999999999999"', 'ver=', '"', "'", '=', '&', '&amp;', '&foo;',
  '&#0;', '&#x110000;', '&#65;', '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '<!DOCTYPE x [<!ENTITY a "b">]>',
  '<name>', '</name>', '<version/>', '<checksum type="sha256">zz</checksum>', '<location/>', '<file>', '</file>', '<format>',
  '\u0000', '\uffff', '\ud800', 'é', '\u2028', ' xmlns:rpm="x"', ' xml:base="::bad"', '<metadata>', '</metadata>', '<rpm:provides>',
];

/** One mutated input; several mutations stack at random. */
function mutate(base: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(base);
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rnd() * (b.length + 1));
    const r = rnd();
    if (r < 0.25) {
      // Flip bytes.
      for (let f = 0; f < 1 + Math.floor(rnd() * 8); f++) {
        const i = Math.floor(rnd() * b.length);
        if (i < b.length) b[i] ^= 1 << Math.floor(rnd() * 8);
      }
    } else if (r < 0.4) {
      b = b.subarray(0, at);
    } else if (r < 0.55) {
      const len = Math.floor(rnd() * 200);
      b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
    } else if (r < 0.65) {
      const from = Math.floor(rnd() * b.length);
      const chunk = b.subarray(from, from + Math.floor(rnd() * 400));
      b = Buffer.concat([b.subarray(0, at), chunk, b.subarray(at)]);
    } else if (r < 0.9) {
      const frag = FRAGMENTS[Math.floor(rnd() * FRAGMENTS.length)];
      b = Buffer.concat([b.subarray(0, at), Buffer.from(frag), b.subarray(at)]);
    } else {
      // Invalid UTF-8 and control bytes.
      const junk = Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x80, 0x01, 0x1b].slice(0, 1 + Math.floor(rnd() * 7)));
      b = Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
    }
  }
  return b;
}

/** Feeds `input` to the reader for `target` in random chunk sizes. */
function parse(target: Target, input: Buffer, rnd: () => number): unknown {
  if (target === 'repomd') return parseRepomd(input, 'fuzz/repomd.xml');
  const feed = (write: (c: Buffer) => void): void => {
    for (let i = 0; i < input.length;) {
      const len = 1 + Math.floor(rnd() * (rnd() < 0.2 ? 7 : 2000));
      write(input.subarray(i, i + len));
      i += len;
    }
  };
  if (target === 'primary') {
    const p = new PrimaryParser({ source: 'fuzz/primary.xml', repo: 'fuzz' });
    feed((c) => p.write(c));
    const pkgs = p.end();
    // What comes out must be well-formed packages.
    for (const pkg of pkgs) {
      if (!pkg.name || !pkg.arch || !pkg.version || !Number.isSafeInteger(pkg.epoch)) throw new Error(`accepted a malformed package ${JSON.stringify(pkg)}`);
    }
    return pkgs;
  }
  const f = new FilelistsParser([], 'fuzz/filelists.xml');
  feed((c) => f.write(c));
  f.end();
  return f;
}

function runWorker(job: FuzzJob): void {
  const rnd = prng(job.seed);
  const base = Buffer.from(job.base);
  const report: FuzzReport = { done: 0, ok: 0, errors: 0, maxMs: 0, heapMb: 0 };
  for (let i = 0; i < job.count; i++) {
    const input = mutate(base, rnd);
    const t0 = performance.now();
    try {
      parse(job.target, input, rnd);
      report.ok++;
    } catch (err) {
      if (!(err instanceof ArborError) || err.code !== 'Corrupted' || /\n\s+at /.test(err.message)) {
        report.failure = `input #${i} (seed ${job.seed}) threw ${err instanceof ArborError ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err)}\n--- input (base64) ---\n${input.toString('base64')}`;
        parentPort!.postMessage(report);
        return;
      }
      report.errors++;
    }
    report.maxMs = Math.max(report.maxMs, performance.now() - t0);
    report.done = i + 1;
    if (i % 500 === 0) parentPort!.postMessage({ ...report, heapMb: process.memoryUsage().heapUsed / 2 ** 20 });
  }
  report.heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  parentPort!.postMessage(report);
}

/** Runs a fuzz job in a worker; fails if it goes 20 s without progress (a hang). */
function fuzz(job: FuzzJob): Promise<FuzzReport> {
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: job, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    let last: FuzzReport | undefined;
    let timer = setTimeout(stall, 20_000);
    function stall(): void {
      void w.terminate();
      reject(new Error(`fuzzing ${job.target} stalled after input #${last?.done ?? 0} (seed ${job.seed})`));
    }
    w.on('message', (r: FuzzReport) => {
      last = r;
      clearTimeout(timer);
      timer = setTimeout(stall, 20_000);
      if (r.failure || r.done === job.count) {
        clearTimeout(timer);
        void w.terminate();
        resolve(r);
      }
    });
    w.on('error', (e) => { clearTimeout(timer); reject(e); });
    w.on('exit', (code) => {
      clearTimeout(timer);
      if (!last || (last.done !== job.count && !last.failure)) reject(new Error(`fuzz worker exited with ${code} after ${last?.done ?? 0} inputs (out of memory?)`));
    });
  });
}

if (!isMainThread && workerData) {
  runWorker(workerData as FuzzJob);
} else {
  describe('fuzzing the rpm-md XML readers', function () {
    let dir: string;
    let primary: string;
    let filelists: string;
    let repomd: string;
    before(function () {
      dir = tmpdir('arbor-fuzz-');
      writeSyntheticRepo(dir, [
        { name: 'a&b', version: '1.0~rc1', release: '2<3', summary: 'Quotes " and \' and <tags>', files: ['/usr/bin/a', '/etc/a.conf', '/usr/share/a'],
          requires: [dep('b >= 1:2.0-3'), dep('/bin/sh'), dep('(c or d)')], provides: [dep('virtual = 1')], conflicts: [dep('old < 1')],
          obsoletes: [dep('older <= 0.9')], recommends: [dep('r')], suggests: [dep('s')], supplements: [dep('(a and x)')], enhances: [dep('e')] },
        { name: 'b', epoch: 1, version: '2.0', release: '3', arch: 'noarch', files: ['/usr/sbin/b'] },
      ], { compress: 'gz' });
      const text = (kind: string): string => {
        const f = fs.readdirSync(path.join(dir, 'repodata')).find((x) => x.includes(kind))!;
        return zlib.gunzipSync(fs.readFileSync(path.join(dir, 'repodata', f))).toString();
      };
      primary = text('-primary');
      filelists = text('-filelists');
      repomd = fs.readFileSync(path.join(dir, 'repodata/repomd.xml'), 'utf8');
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('the unmutated inputs parse', function () {
      const pkgs = parse('primary', Buffer.from(primary), prng(1)) as Array<{ name: string }>;
      assert.deepEqual(pkgs.map((p) => p.name), ['a&b', 'b']);
      parse('filelists', Buffer.from(filelists), prng(1));
      parse('repomd', Buffer.from(repomd), prng(1));
    });

    const CASES: Array<[Target, number]> = [['primary', 12_000], ['filelists', 2_000], ['repomd', 2_000]];
    for (const [target, count] of CASES) {
      it(`${count.toLocaleString('en')} mutated ${target} inputs end in packages or a Corrupted ArborError, fast, in bounded memory`, async function () {
        const base = target === 'primary' ? primary : target === 'filelists' ? filelists : repomd;
        const r = await fuzz({ target, seed: 1234, count, base });
        assert.equal(r.failure, undefined, r.failure);
        assert.equal(r.done, count);
        assert.ok(r.errors > count / 3, `most mutations are rejected (${r.errors} of ${count})`);
        assert.ok(r.ok > 0, 'some mutations stay valid');
        assert.ok(r.maxMs < 1000, `slowest input took ${r.maxMs.toFixed(1)} ms`);
        assert.ok(r.heapMb < 200, `heap ${r.heapMb.toFixed(0)} MB`);
      });
    }

    it('damaged gz, xz and zst metadata (with matching checksums) fail as clean ArborErrors through loadRepo', async function () {
      const rnd = prng(99);
      let rejected = 0;
      for (const compress of ['gz', 'xz', 'zst'] as const) {
        const repo = path.join(dir, `c-${compress}`);
        writeSyntheticRepo(repo, [{ name: 'x', files: ['/usr/bin/x'] }, { name: 'y', requires: [dep('x')] }], { compress });
        const rel = fs.readdirSync(path.join(repo, 'repodata')).find((f) => f.includes('-primary'))!;
        const file = path.join(repo, 'repodata', rel);
        const good = fs.readFileSync(file);
        const repomdText = fs.readFileSync(path.join(repo, 'repodata/repomd.xml'), 'utf8');
        for (let i = 0; i < 100; i++) {
          const bad = mutate(good, rnd);
          const sum = (await import('node:crypto')).createHash('sha256').update(bad).digest('hex');
          // Vouch for the damaged bytes, so the decoders and the parser see them.
          const goodSum = /<checksum type="sha256">([0-9a-f]+)<\/checksum>/.exec(repomdText)![1];
          const text = repomdText.replace(goodSum, sum).replace(/(<data type="primary">[\s\S]*?<size>)\d+/, `$1${bad.length}`);
          fs.writeFileSync(path.join(repo, 'repodata/repomd.xml'), text);
          fs.writeFileSync(file, bad);
          try {
            await loadRepo({ id: `fuzz-${compress}`, baseurl: repo });
          } catch (err) {
            assert.ok(err instanceof ArborError, `${compress} #${i}: ${String((err as Error)?.stack ?? err)}`);
            assert.equal(err.code, 'Corrupted', err.message);
            assert.ok(err.message.includes(`fuzz-${compress}`), err.message);
            rejected++;
          }
        }
      }
      assert.ok(rejected > 250, `${rejected} of 300 damaged files rejected`);
    });
  });
}
