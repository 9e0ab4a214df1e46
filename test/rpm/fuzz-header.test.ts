// Fuzzing the header parser and everything that reads a parsed header: mutated
// signature and main headers from real packages must give clean ArborErrors (or parse),
// never another exception, never a hang, never a huge allocation. Replay with RPM_FUZZ_SEED.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../../src/common/errors';
import { Header } from '../../src/rpm/header';
import { extractRpm } from '../../src/rpm/extract';
import { readRpm, RpmPackage } from '../../src/rpm/package';
import { TYPE } from '../../src/rpm/tags';
import { Prng } from '../gvariant/support/prng';
import { buildRpm, standardFixtures } from '../fixtures/rpmbuild';
import { tmpdir } from '../helpers';

const SEED = process.env.RPM_FUZZ_SEED ? Number(process.env.RPM_FUZZ_SEED) : (Date.now() ^ (process.pid << 16)) >>> 0;
const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x00ffffff, 0x01000000, 0x0fffffff, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

/** Damage aimed at the header's structure: il/dl, index fields, data bytes, length. */
function mutateHeader(rng: Prng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const il = b.length >= 16 ? b.readUInt32BE(8) : 0;
  const dl = b.length >= 16 ? b.readUInt32BE(12) : 0;
  const indexEnd = Math.min(b.length, 16 + il * 16);
  for (let k = rng.int(1, 3); k > 0; k--) {
    switch (rng.int(0, 9)) {
      case 0: // il or dl
        if (b.length >= 16) b.writeUInt32BE(rng.pick([...INTERESTING, il + 1, il - 1, dl + 1, dl - 1].map((x) => x >>> 0)), rng.pick([8, 12]));
        break;
      case 1:
      case 2:
      case 3: { // an index field: tag, type, offset or count
        if (indexEnd <= 16) break;
        const e = 16 + rng.int(0, Math.floor((indexEnd - 16) / 16) - 1) * 16;
        const field = rng.int(0, 3) * 4;
        const v = field === 4 ? rng.int(0, 12) : rng.chance(0.5) ? rng.pick(INTERESTING) : rng.int(0, dl + 16);
        if (e + field + 4 <= b.length) b.writeUInt32BE(v >>> 0, e + field);
        break;
      }
      case 4:
      case 5: // a bit in the data store
        if (b.length) b[rng.int(indexEnd, b.length - 1) || 0] ^= 1 << rng.int(0, 7);
        break;
      case 6: // NULs removed or added
        if (b.length > indexEnd) b[rng.int(indexEnd, b.length - 1)] = rng.pick([0, 0x41]);
        break;
      case 7:
        b = b.subarray(0, rng.int(0, b.length));
        break;
      case 8:
        b = Buffer.concat([b, rng.bytes(rng.int(1, 64))]);
        break;
      default:
        if (b.length) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
    }
  }
  return b;
}

/** Reads a header the ways the rest of Arbor does; any non-ArborError is a bug. */
function exercise(h: Header, lead: RpmPackage['lead'], sig: Header): void {
  for (const tag of h.tags()) {
    const t = h.entry(tag)?.type;
    const calls = t === TYPE.BIN ? [() => h.getBin(tag)] : t === TYPE.STRING || t === TYPE.STRING_ARRAY || t === TYPE.I18NSTRING ? [() => h.getStrings(tag), () => h.getString(tag), () => h.getI18n(tag)] : [() => h.getNumbers(tag)];
    for (const c of calls) {
      try {
        c();
      } catch (e) {
        if (!(e instanceof ArborError)) throw e;
      }
    }
  }
  h.entries();
  const pkg = new RpmPackage('/fuzz.rpm', lead, sig, h, 0, 0, 0);
  for (const c of [() => pkg.meta(), () => pkg.files(), () => pkg.scriptlets(), () => pkg.triggers(), () => pkg.changelog(), () => pkg.hardlinkSets()]) {
    try {
      c();
    } catch (e) {
      if (!(e instanceof ArborError)) throw e;
    }
  }
}

describe('rpm header fuzzing', function () {
  const seeds: Buffer[] = [];
  const pkgs: RpmPackage[] = [];
  let tmp: string;
  before(async function () {
    this.timeout(300000);
    const specs = standardFixtures();
    for (const k of ['base', 'lib', 'tools', 'busybox', 'plain']) {
      const pkg = await readRpm(await buildRpm(specs[k]));
      pkgs.push(pkg);
      seeds.push(pkg.header.bytes(), pkg.signature.bytes());
    }
    tmp = tmpdir();
    console.log(`      seed ${SEED} (replay with RPM_FUZZ_SEED=${SEED})`);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('parses 10,000 mutated headers to a header or a clean ArborError, quickly', function () {
    this.timeout(60000);
    const rng = new Prng(SEED);
    const codes: Record<string, number> = {};
    let parsed = 0;
    let slowest = 0;
    const t0 = Date.now();
    for (let i = 0; i < 10000; i++) {
      const input = mutateHeader(rng, rng.pick(seeds));
      const s = process.hrtime.bigint();
      try {
        const { header } = Header.parse(input, 0, 'fuzz');
        parsed++;
        exercise(header, pkgs[0].lead, pkgs[0].signature);
      } catch (e) {
        if (!(e instanceof ArborError)) {
          throw new Error(`iteration ${i} (seed ${SEED}): ${(e as Error).stack}\ninput ${input.toString('base64')}`);
        }
        codes[e.code] = (codes[e.code] ?? 0) + 1;
      }
      slowest = Math.max(slowest, Number(process.hrtime.bigint() - s) / 1e6);
    }
    const ms = Date.now() - t0;
    console.log(`      ${parsed} parsed, errors ${JSON.stringify(codes)}, ${ms} ms, slowest ${slowest.toFixed(1)} ms`);
    assert.ok(ms < 20000, `${ms} ms`);
    assert.ok(slowest < 1000, `one input took ${slowest} ms`);
    assert.ok(parsed > 100 && Object.keys(codes).length > 0, 'the mutations both pass and fail the parser');
  });

  it('parses 10,000 mutated rpmdb blobs (no magic) the same way', function () {
    this.timeout(60000);
    const rng = new Prng(SEED ^ 0x5eed);
    const blobs = seeds.map((s) => s.subarray(8));
    const t0 = Date.now();
    for (let i = 0; i < 10000; i++) {
      // mutateHeader expects the magic: give it one and take it away again.
      const input = mutateHeader(rng, Buffer.concat([Buffer.alloc(8), rng.pick(blobs)])).subarray(8);
      try {
        exercise(Header.parseBlob(input, 'blob'), pkgs[0].lead, pkgs[0].signature);
      } catch (e) {
        if (!(e instanceof ArborError)) throw new Error(`iteration ${i} (seed ${SEED}): ${(e as Error).stack}`);
      }
    }
    assert.ok(Date.now() - t0 < 20000);
  });

  it('reads and extracts 300 mutated package files with clean errors and nothing outside the root', async function () {
    this.timeout(60000);
    const rng = new Prng(SEED ^ 0xf11e);
    const whole = [pkgs[2], pkgs[4]].map((p) => fs.readFileSync(p.path));
    const box = path.join(tmp, 'box');
    const root = path.join(box, 'root');
    fs.mkdirSync(root, { recursive: true });
    const f = path.join(tmp, 'fuzz.rpm');
    const codes: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const src = rng.pick(whole);
      const b = Buffer.from(src);
      for (let k = rng.int(1, 4); k > 0; k--) {
        const at = rng.chance(0.7) ? rng.int(0, Math.min(b.length - 1, 4096)) : rng.int(0, b.length - 1);
        b[at] = rng.chance(0.5) ? b[at] ^ (1 << rng.int(0, 7)) : rng.int(0, 255);
      }
      fs.writeFileSync(f, rng.chance(0.1) ? b.subarray(0, rng.int(0, b.length)) : b);
      try {
        const pkg = await readRpm(f, { verify: rng.chance(0.3) });
        pkg.meta();
        await extractRpm(pkg, root, { verify: rng.chance(0.5) });
        codes.ok = (codes.ok ?? 0) + 1;
      } catch (e) {
        if (!(e instanceof ArborError)) throw new Error(`iteration ${i} (seed ${SEED}): ${(e as Error).stack}`);
        codes[e.code] = (codes[e.code] ?? 0) + 1;
      }
      if (i % 50 === 49) {
        fs.rmSync(root, { recursive: true, force: true });
        fs.mkdirSync(root);
      }
    }
    console.log(`      outcomes ${JSON.stringify(codes)}`);
    assert.deepEqual(fs.readdirSync(box), ['root']);
  });
});
