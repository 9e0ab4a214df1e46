// Differential test against GLib itself (python3-gi): random values of every OSTree
// object type, a{sv} of mixed variants and a few other shapes, including values
// whose framing offsets are 2 and 4 bytes wide, must serialize exactly as GLib
// serializes them; and on damaged bytes we must agree with GLib about what is
// normal form and read leniently what GLib reads. Replay a failure with the
// printed seed: GVARIANT_SEED=<seed>.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { decode, encode, isNormalForm } from '../../src/gvariant';
import { askGlib, type OracleRequest } from './support/glib-oracle';
import { OSTREE_TYPES, bigValues, randomValue } from './support/random-values';
import { Prng, RUN_SEED } from './support/prng';
import { mutate } from './support/mutate';
import { goldenObjects } from './support/vectors';

interface Case {
  type: string;
  value: unknown;
  ours: Buffer;
}

const PER_OSTREE_TYPE = 150;
const EXTRA_TYPES = ['(ynqiuxthd)', '(bsogv)', 'mmas', 'a{ys}', 'aav', 'm(sv)', 'a(yms)', '(ayay)', 'amu', '{sv}'];
const PER_EXTRA_TYPE = 15;
const MUTATIONS = 3000;

function makeCases(rng: Prng): Case[] {
  const out: Case[] = [];
  const add = (type: string, value: unknown): void => { out.push({ type, value, ours: encode(type, value) }); };
  for (const type of Object.values(OSTREE_TYPES)) {
    for (let i = 0; i < PER_OSTREE_TYPE; i++) add(type, randomValue(rng, type));
  }
  for (const type of EXTRA_TYPES) {
    for (let i = 0; i < PER_EXTRA_TYPE; i++) add(type, randomValue(rng, type));
  }
  for (const { type, value } of bigValues(rng)) add(type, value);
  // Sizes that straddle each offset-width limit, for arrays and for tuples.
  for (const total of [0xfd, 0xfe, 0xff, 0x100, 0x101, 0xfffd, 0xfffe, 0xffff, 0x10000, 0x10001]) {
    add('as', ['a'.repeat(total - 3), '']);
    add('(ays)', [rng.bytes(total - 3), '']);
    add('a(say)', [['', rng.bytes(total - 4)]]);
  }
  return out;
}

const show = (b: Uint8Array): string => (b.length > 80 ? `${Buffer.from(b.subarray(0, 80)).toString('hex')}… (${b.length} bytes)` : Buffer.from(b).toString('hex'));

describe(`GVariant codec against GLib (seed ${RUN_SEED}; replay with GVARIANT_SEED=${RUN_SEED})`, function () {
  this.timeout(60_000);
  let cases: Case[] = [];
  let glibBytes: Buffer[] = [];
  let glibSaysOursNormal: boolean[] = [];

  before(function () {
    cases = makeCases(new Prng(RUN_SEED));
    const requests: OracleRequest[] = [
      ...cases.map((c): OracleRequest => ({ op: 'encode', type: c.type, value: c.value })),
      ...cases.map((c): OracleRequest => ({ op: 'normal', type: c.type, bytes: c.ours })),
    ];
    const answers = askGlib(requests);
    glibBytes = answers.slice(0, cases.length) as Buffer[];
    glibSaysOursNormal = answers.slice(cases.length) as boolean[];
  });

  it('tries at least 1,000 values, with 1-, 2- and 4-byte framing offsets among them', () => {
    assert.ok(cases.length >= 1000, `${cases.length} cases`);
    const sizes = cases.map((c) => c.ours.length);
    assert.ok(sizes.some((n) => n > 0 && n <= 0xff), 'no value under 256 bytes');
    assert.ok(sizes.some((n) => n > 0xff && n <= 0xffff), 'no value of 2-byte framing size');
    assert.ok(sizes.filter((n) => n > 0xffff).length >= 5, 'too few values of 4-byte framing size');
    for (const type of Object.values(OSTREE_TYPES)) assert.ok(cases.filter((c) => c.type === type).length >= PER_OSTREE_TYPE, type);
  });

  it('encodes every value exactly as GLib does', () => {
    const wrong = cases.flatMap((c, i) => (c.ours.equals(glibBytes[i]) ? [] : [`#${i} ${c.type}\n  ours ${show(c.ours)}\n  glib ${show(glibBytes[i])}`]));
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${cases.length} differ`);
  });

  it('decodes GLib’s bytes strictly back to the same value', () => {
    const wrong: string[] = [];
    cases.forEach((c, i) => {
      try {
        const v = decode(c.type, glibBytes[i], { strict: true });
        if (!isDeepStrictEqual(v, c.value)) wrong.push(`#${i} ${c.type}: decoded value differs`);
        else if (!encode(c.type, v).equals(glibBytes[i])) wrong.push(`#${i} ${c.type}: re-encoding differs`);
      } catch (e) {
        wrong.push(`#${i} ${c.type}: ${(e as Error).message} on ${show(glibBytes[i])}`);
      }
    });
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${cases.length} fail`);
  });

  it('produces only bytes that GLib accepts as normal form', () => {
    const wrong = cases.flatMap((c, i) => (glibSaysOursNormal[i] ? [] : [`#${i} ${c.type} ${show(c.ours)}`]));
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${cases.length} not normal`);
  });

  describe('on damaged bytes', () => {
    let inputs: Array<{ type: string; bytes: Buffer }> = [];
    let glibNormal: boolean[] = [];
    let glibReads: Buffer[] = [];

    before(function () {
      const rng = new Prng(RUN_SEED ^ 0x5eed);
      const seeds = [
        ...goldenObjects().map((o) => ({ type: o.type, bytes: o.bytes })),
        ...cases.filter((c) => c.ours.length < 2048).map((c) => ({ type: c.type, bytes: c.ours })),
      ];
      inputs = Array.from({ length: MUTATIONS }, () => {
        const s = rng.pick(seeds);
        return { type: s.type, bytes: mutate(rng, s.bytes) };
      });
      const answers = askGlib(inputs.flatMap((x): OracleRequest[] => [
        { op: 'normal', type: x.type, bytes: x.bytes },
        { op: 'reserialize', type: x.type, bytes: x.bytes },
      ]));
      glibNormal = answers.filter((_, i) => i % 2 === 0) as boolean[];
      glibReads = answers.filter((_, i) => i % 2 === 1) as Buffer[];
    });

    it('agrees with GLib on which inputs are in normal form', () => {
      // GLib's is_normal_form also passes a few inputs its own serializer would
      // never write: a zero-byte tuple of empty variable-size members, such as
      // (ayay) as no bytes where g_variant_new_tuple writes 00. Normal form here
      // is the serializer's form, so those are left out.
      const wrong = inputs.flatMap((x, i) => {
        if (glibNormal[i] && !glibReads[i].equals(x.bytes)) return [];
        const ours = isNormalForm(x.type, x.bytes);
        return ours === glibNormal[i] ? [] : [`#${i} ${x.type} ours=${ours} glib=${glibNormal[i]} ${show(x.bytes)}`];
      });
      assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${inputs.length} disagree`);
      assert.ok(glibNormal.some((n) => n) && glibNormal.some((n) => !n));
    });

    it('reads every input it accepts leniently the way GLib reads it', () => {
      let lenient = 0;
      const wrong = inputs.flatMap((x, i) => {
        let reading: Buffer;
        try {
          reading = encode(x.type, decode(x.type, x.bytes));
        } catch {
          return [];
        }
        lenient++;
        return reading.equals(glibReads[i]) ? [] : [`#${i} ${x.type} input ${show(x.bytes)}\n  ours ${show(reading)}\n  glib ${show(glibReads[i])}`];
      });
      assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${lenient} differ`);
      assert.ok(lenient > inputs.length / 10, `only ${lenient} inputs decoded`);
    });
  });
});
