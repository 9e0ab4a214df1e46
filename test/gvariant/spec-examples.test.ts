// The worked examples of the GVariant Specification 1.0 ("Examples" and the
// non-normal cases), plus a few more of the same kind. Every byte string below was
// checked against GLib 2.74 (python3-gi); the last block re-checks them when GLib is
// there. Note the corrected a(si) (ends 04 09 15) and ((ys)as) (ends 00 04 0d 05):
// the spec's own text misses an offset byte in each.
import assert from 'node:assert/strict';
import { GVariantError, Just, Variant, decode, encode, isNormalForm } from '../../src/gvariant';
import { askGlib } from './support/glib-oracle';

interface NormalExample {
  name: string;
  type: string;
  value: unknown;
  hex: string;
}

const NORMAL: NormalExample[] = [
  { name: "the string 'hello world'", type: 's', value: 'hello world', hex: '68656c6c6f20776f726c6400' },
  { name: "Just 'hello world'", type: 'ms', value: 'hello world', hex: '68656c6c6f20776f726c640000' },
  { name: 'an array of booleans [true, false]', type: 'ab', value: [true, false], hex: '0100' },
  { name: "the strings ['i', 'can', 'has', 'strings?']", type: 'as', value: ['i', 'can', 'has', 'strings?'], hex: '690063616e0068617300737472696e67733f0002060a13' },
  { name: "the nested structure ((0x61, 'foo'), ['bar', 'baz quux'])", type: '((ys)as)', value: [[0x61, 'foo'], ['bar', 'baz quux']], hex: '61666f6f006261720062617a207175757800040d05' },
  { name: "the nested structure ((0x70, 'foo'), ['hi', 'bye'])", type: '((ys)as)', value: [[0x70, 'foo'], ['hi', 'bye']], hex: '70666f6f0068690062796500030705' },
  { name: 'the simple structure (0x70, 0x80)', type: '(yy)', value: [0x70, 0x80], hex: '7080' },
  { name: 'the padded structure (96, 0x70), padded at the end', type: '(iy)', value: [96, 0x70], hex: '6000000070000000' },
  { name: 'the padded structure (0x70, 96), padded in the middle', type: '(yi)', value: [0x70, 96], hex: '7000000060000000' },
  { name: 'the padded structure (0x12, 0x34567890)', type: '(yu)', value: [0x12, 0x34567890], hex: '1200000090785634' },
  { name: 'an array of fixed structures [(96, 0x70), (648, 0xf7)]', type: 'a(iy)', value: [[96, 0x70], [648, 0xf7]], hex: '600000007000000088020000f7000000' },
  { name: 'the bytes [4, 5, 6, 7]', type: 'ay', value: Buffer.from([4, 5, 6, 7]), hex: '04050607' },
  { name: 'the integers [4, 258]', type: 'ai', value: [4, 258], hex: '0400000002010000' },
  { name: "the dictionary entry {'a key': 514}", type: '{si}', value: ['a key', 514], hex: '61206b65790000000202000006' },
  { name: "the structure ('foo', -1)", type: '(si)', value: ['foo', -1], hex: '666f6f00ffffffff04' },
  { name: "the structures [('hi', -2), ('bye', -1)]", type: 'a(si)', value: [['hi', -2], ['bye', -1]], hex: '68690000feffffff0300000062796500ffffffff040915' },
  { name: "the structure ('ab', 3), a fixed member after a variable one", type: '(sy)', value: ['ab', 3], hex: '6162000303' },
  {
    name: "the dictionary {'name': <'arbor'>, 'n': <uint32 5>}",
    type: 'a{sv}',
    value: [['name', new Variant('s', 'arbor')], ['n', new Variant('u', 5)]],
    hex: '6e616d65000000006172626f7200007305000000000000006e00000000000000050000000075021127',
  },
  { name: 'Nothing', type: 'mmb', value: null, hex: '' },
  { name: 'Just Nothing', type: 'mmb', value: new Just(null), hex: '00' },
  { name: 'Just Just true', type: 'mmb', value: new Just(true), hex: '0100' },
  { name: 'Just Just false', type: 'mmb', value: new Just(false), hex: '0000' },
  { name: 'Just 5', type: 'mi', value: 5, hex: '05000000' },
  { name: 'Nothing', type: 'mi', value: null, hex: '' },
  { name: "Just ''", type: 'ms', value: '', hex: '0000' },
  { name: "the variant <'hello world'>", type: 'v', value: new Variant('s', 'hello world'), hex: '68656c6c6f20776f726c64000073' },
  { name: 'the variant <uint32 5>', type: 'v', value: new Variant('u', 5), hex: '050000000075' },
  { name: 'the variant <<true>>', type: 'v', value: new Variant('v', new Variant('b', true)), hex: '0100620076' },
  { name: 'the structure (1, <uint16 7>), its variant 8-aligned', type: '(yv)', value: [1, new Variant('q', 7)], hex: '010000000000000007000071' },
  {
    name: "the variants [<byte 1>, <['a', 'bc']>]",
    type: 'av',
    value: [new Variant('y', 1), new Variant('as', ['a', 'bc'])],
    hex: '0100790000000000610062630002050061730312',
  },
  { name: 'the unit ()', type: '()', value: [], hex: '00' },
  { name: 'three units', type: 'a()', value: [[], [], []], hex: '000000' },
  { name: 'two empty arrays', type: '(asas)', value: [[], []], hex: '00' },
  { name: 'one empty byte array', type: 'aay', value: [Buffer.alloc(0)], hex: '00' },
];

interface NonNormalExample {
  name: string;
  type: string;
  hex: string;
  /** What a lenient decode reads (as GLib does); absent when decode refuses the bytes. */
  reads?: unknown;
}

const NON_NORMAL: NonNormalExample[] = [
  { name: 'a fixed-size value of the wrong size', type: 'u', hex: '010203' },
  { name: 'non-zero padding', type: '(yi)', hex: '7001000060000000', reads: [0x70, 96] },
  { name: 'non-zero padding inside an array element', type: 'a(si)', hex: '6869000afeffffff0300000062796500ffffffff040915', reads: [['hi', -2], ['bye', -1]] },
  { name: 'a boolean out of range', type: 'b', hex: '02', reads: true },
  { name: 'a unit that is not zero', type: '()', hex: '01', reads: [] },
  { name: 'a variant holding a non-normal boolean', type: 'v', hex: '020062', reads: new Variant('b', true) },
  { name: 'a gap after the last fixed member', type: '(sy)', hex: '610007ff02', reads: ['a', 7] },
  { name: 'an unterminated string', type: 's', hex: '6162' },
  { name: 'a string with an embedded NUL', type: 's', hex: '61006200' },
  { name: 'a string that is not UTF-8 (overlong NUL)', type: 's', hex: 'c08000' },
  { name: 'an array offset past the end', type: 'as', hex: '610005' },
  { name: 'array offsets that run backwards', type: 'aay', hex: '6162630301' },
  { name: 'array offsets overlapping the framing', type: 'as', hex: '610062006300040206' },
  { name: 'an offset table that does not divide evenly', type: 'as', hex: '6869006279650003' },
  { name: 'a Just of a variable-size value without its NUL', type: 'ms', hex: '610001' },
  { name: 'a Just of a fixed-size value of the wrong size', type: 'mu', hex: '0102' },
  { name: 'a Just boolean of two bytes', type: 'mb', hex: '0000' },
  { name: 'a fixed-element array of a size that is no multiple of the element', type: 'ai', hex: '0400000002' },
  { name: 'a variant with no type separator', type: 'v', hex: '010203' },
  { name: 'a variant with an invalid type', type: 'v', hex: '01007a' },
  { name: 'a variant with two types', type: 'v', hex: '01007979' },
  { name: 'a variant with an empty type', type: 'v', hex: '0000' },
  { name: 'a structure offset past its end', type: '(ss)', hex: '6100620005' },
  { name: 'a structure missing its framing offset', type: '(su)', hex: '6100000005000000' },
  { name: 'a dictionary missing its array offset', type: 'a{sv}', hex: '61000000000000000500000000750200' },
  { name: "an object path with '//'", type: 'o', hex: '2f2f00' },
  { name: 'a signature with a maybe type', type: 'g', hex: '6d7900' },
];

const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');

describe('GVariant Specification examples', () => {
  describe('in normal form', () => {
    for (const ex of NORMAL) {
      it(`encodes ${ex.name} as ${ex.type} to ${ex.hex || 'no bytes'}`, () => {
        assert.equal(encode(ex.type, ex.value).toString('hex'), ex.hex);
      });

      it(`decodes ${ex.name} as ${ex.type} strictly back to the value`, () => {
        assert.deepEqual(decode(ex.type, bytes(ex.hex), { strict: true }), ex.value);
      });
    }
  });

  describe('not in normal form', () => {
    for (const ex of NON_NORMAL) {
      it(`rejects ${ex.name} (${ex.type} ${ex.hex}) in strict mode with a GVariantError`, () => {
        assert.throws(() => decode(ex.type, bytes(ex.hex), { strict: true }), GVariantError);
        assert.equal(isNormalForm(ex.type, bytes(ex.hex)), false);
      });

      if (ex.reads !== undefined) {
        it(`reads ${ex.name} leniently when not strict`, () => {
          assert.deepEqual(decode(ex.type, bytes(ex.hex)), ex.reads);
        });
      } else {
        it(`refuses ${ex.name} with a GVariantError even when not strict`, () => {
          assert.throws(() => decode(ex.type, bytes(ex.hex)), GVariantError);
        });
      }
    }
  });

  describe('checked against GLib', function () {
    before(function () {
    });

    it('GLib serializes every normal-form example to the same bytes', () => {
      const answers = askGlib(NORMAL.map((ex) => ({ op: 'encode' as const, type: ex.type, value: ex.value })));
      const wrong = NORMAL.filter((ex, i) => (answers[i] as Buffer).toString('hex') !== ex.hex);
      assert.deepEqual(wrong.map((ex) => `${ex.type} ${ex.name}`), []);
    });

    it('GLib finds every non-normal example not in normal form', () => {
      const answers = askGlib(NON_NORMAL.map((ex) => ({ op: 'normal' as const, type: ex.type, bytes: bytes(ex.hex) })));
      assert.deepEqual(NON_NORMAL.filter((_, i) => answers[i] !== false).map((ex) => ex.name), []);
    });

    it('GLib reads every leniently decoded example as we do', () => {
      const lenient = NON_NORMAL.filter((ex) => ex.reads !== undefined);
      const answers = askGlib(lenient.map((ex) => ({ op: 'normalize' as const, type: ex.type, bytes: bytes(ex.hex) })));
      lenient.forEach((ex, i) => assert.equal(encode(ex.type, ex.reads).toString('hex'), (answers[i] as Buffer).toString('hex'), ex.name));
    });
  });
});
