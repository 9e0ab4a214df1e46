// Fuzzing the cpio reader and the safe extractor together: 10,000 mutated archives
// (hostile names, symlinks out of the root, damaged hex fields, truncation) are extracted
// into a root inside a box; only ArborErrors may come out, and nothing may appear in the
// box outside the root. Replay with RPM_FUZZ_SEED.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../../src/common/errors';
import { CpioEntry, writeCpio } from '../../src/rpm/cpio';
import { extractCpio } from '../../src/rpm/extract';
import { Prng } from '../gvariant/support/prng';
import { buildRpm, parseNewc, rpm2cpio, standardFixtures } from '../fixtures/rpmbuild';
import { tmpdir } from '../helpers';

const SEED = process.env.RPM_FUZZ_SEED ? Number(process.env.RPM_FUZZ_SEED) : (Date.now() ^ (process.pid << 16)) >>> 0;

type Entry = Partial<CpioEntry> & { name: string; data?: Buffer };

/** Yields the archive in random-sized pieces, so entries straddle chunk boundaries. */
async function* chunks(rng: Prng, b: Buffer): AsyncGenerator<Buffer> {
  let p = 0;
  while (p < b.length) {
    const n = rng.chance(0.3) ? rng.int(1, 8) : rng.int(1, 4096);
    yield b.subarray(p, p + n);
    p += n;
  }
}

describe('cpio extraction fuzzing', function () {
  let tmp: string;
  let box: string;
  let root: string;
  let outside: string;
  const seeds: Entry[][] = [];
  const hostile: string[] = [];

  before(async function () {
    this.timeout(300000);
    tmp = tmpdir();
    box = path.join(tmp, 'box');
    root = path.join(box, 'root');
    outside = path.join(box, 'outside');
    fs.mkdirSync(root, { recursive: true });
    fs.mkdirSync(outside);
    console.log(`      seed ${SEED} (replay with RPM_FUZZ_SEED=${SEED})`);
    // Real payloads from rpmbuild, and hand-made archives with every entry type.
    const specs = standardFixtures();
    for (const k of ['base', 'plain']) {
      // A few entries of each (dirs, files, symlinks, the hardlink set): the fuzzer's time goes to syscalls.
      const es = parseNewc(rpm2cpio(await buildRpm(specs[k])));
      seeds.push([...es.slice(0, 4), ...es.filter((e) => e.fields[4] > 1 || (e.fields[1] & 0o170000) === 0o120000)].map((e) => ({ name: e.name, mode: e.fields[1], ino: e.fields[0], nlink: e.fields[4], mtime: e.fields[5], data: Buffer.from(e.data.subarray(0, 2048)) })));
    }
    const f = 0o100644;
    seeds.push([
      { name: './d', mode: 0o40755 },
      { name: './d/file', mode: f, data: Buffer.from('content\n') },
      { name: './d/rel', mode: 0o120777, data: Buffer.from('file') },
      { name: './d/out', mode: 0o120777, data: Buffer.from(outside) },
      { name: './d/up', mode: 0o120777, data: Buffer.from('../../outside') },
      { name: './d/h1', mode: f, nlink: 2, ino: 9 },
      { name: './d/h2', mode: f, nlink: 2, ino: 9, data: Buffer.from('linked\n') },
      { name: './d/out/escaped', mode: f, data: Buffer.from('through a symlink\n') },
    ]);
    hostile.push('../escaped', '/../escaped', './d/../../escaped', './d/out/x', './d/up/x', './d/up', `${outside}/x`, './d/out', '.', './', '', 'a/./b/../../../escaped', './d/file/x', './d\u0000x', `.${outside}`);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A structural mutation (entries) followed by byte-level damage. */
  function mutated(rng: Prng): Buffer {
    let entries = rng.pick(seeds).map((e) => ({ ...e }));
    switch (rng.int(0, 5)) {
      case 0:
        rng.pick(entries).name = rng.pick(hostile);
        break;
      case 1: // splice an entry from another archive, maybe a hostile symlink
        entries.splice(rng.int(0, entries.length), 0, { ...rng.pick(rng.pick(seeds)) });
        break;
      case 2:
        entries = entries.reverse();
        break;
      case 3: {
        const e = rng.pick(entries);
        e.mode = rng.pick([0o120777, 0o40755, 0o100644, 0o20644, 0o10644, 0o140644, 0, 0o170000]);
        break;
      }
      default:
    }
    let b = writeCpio(entries);
    for (let k = rng.int(0, 3); k > 0; k--) {
      switch (rng.int(0, 5)) {
        case 0: { // a hex digit of a header field
          const at = b.indexOf('070701', rng.int(0, b.length - 1));
          if (at >= 0 && at + 110 <= b.length) b[at + 6 + rng.int(0, 103)] = rng.pick([0x30, 0x66, 0x46, 0x67, 0x20, 0x39, rng.int(0, 255)]);
          break;
        }
        case 1:
          b = b.subarray(0, rng.int(0, b.length));
          break;
        case 2:
          b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
          break;
        case 3: { // a size or name size set to something large
          const at = b.indexOf('070701', rng.int(0, b.length - 1));
          const field = at + 6 + rng.pick([6, 11]) * 8;
          if (at >= 0 && field + 8 <= b.length) b.write(rng.pick(['ffffffff', '7fffffff', '00001001', '00000000', '00000fff']), field, 'latin1');
          break;
        }
        case 4:
          b = Buffer.concat([b, rng.bytes(rng.int(1, 64))]);
          break;
        default: {
          const a = rng.int(0, b.length - 1);
          b = Buffer.concat([b.subarray(0, a), b.subarray(rng.int(a, b.length))]);
        }
      }
    }
    return b;
  }

  it('extracts 10,000 mutated archives with clean ArborErrors and nothing outside the root', async function () {
    this.timeout(60000);
    const rng = new Prng(SEED);
    const codes: Record<string, number> = {};
    const t0 = Date.now();
    let slowest = 0;
    for (let i = 0; i < 10000; i++) {
      const input = mutated(rng);
      const s = Date.now();
      try {
        await extractCpio(chunks(rng, input), root, 'fuzz.cpio');
        codes.ok = (codes.ok ?? 0) + 1;
      } catch (e) {
        if (!(e instanceof ArborError)) throw new Error(`iteration ${i} (seed ${SEED}): ${(e as Error).stack}\ninput ${input.toString('base64')}`);
        codes[e.code] = (codes[e.code] ?? 0) + 1;
      }
      slowest = Math.max(slowest, Date.now() - s);
      if (fs.readdirSync(outside).length || fs.readdirSync(box).length !== 2) {
        throw new Error(`iteration ${i} (seed ${SEED}) wrote outside the root: ${fs.readdirSync(box)} / ${fs.readdirSync(outside)}\ninput ${input.toString('base64')}`);
      }
      // A fresh root now and then; in between, state left by earlier archives (symlinks!) is part of the test.
      if (i % 100 === 99) {
        fs.rmSync(root, { recursive: true, force: true });
        fs.mkdirSync(root);
      }
    }
    const ms = Date.now() - t0;
    console.log(`      outcomes ${JSON.stringify(codes)}, ${ms} ms, slowest ${slowest} ms`);
    assert.ok(ms < 20000, `${ms} ms`);
    assert.ok((codes.ok ?? 0) > 100 && (codes.Unsafe ?? 0) > 100 && (codes.Corrupted ?? 0) > 100, JSON.stringify(codes));
  });

  it('refuses each hostile name outright', async () => {
    for (const name of ['../escaped', './d/../../escaped', '/../escaped']) {
      const box2 = path.join(tmp, `box-${hostile.indexOf(name)}`);
      fs.mkdirSync(path.join(box2, 'root'), { recursive: true });
      await assert.rejects(
        extractCpio(chunks(new Prng(1), writeCpio([{ name, mode: 0o100644, data: Buffer.from('x') }])), path.join(box2, 'root'), 'hostile.cpio'),
        (e: ArborError) => e.code === 'Unsafe' && e.message.includes('hostile.cpio') && e.message.includes(JSON.stringify(name)),
      );
      assert.deepEqual(fs.readdirSync(box2), ['root']);
    }
  });
});
