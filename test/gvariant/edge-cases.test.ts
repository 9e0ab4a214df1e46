// Edge cases of the codec: framing-offset widths at their limits, empty and unit
// values, maybes (nested too), UTF-8, object paths, signatures, integer ranges,
// doubles, type strings and the depth limit shared with GLib.
import assert from 'node:assert/strict';
import {
  GVariantError, GVariantTypeError, Just, Variant,
  bswap32, bswap64, decode, encode, isNormalForm, isValidType, offsetSize, parseType,
} from '../../src/gvariant';
import { askGlib } from './support/glib-oracle';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h, 'hex');

/** Cases that the last block sends to GLib; each must encode identically there. */
const GLIB_CASES: Array<{ type: string; value: unknown }> = [];
function viaGlib<T>(type: string, value: T): T {
  GLIB_CASES.push({ type, value });
  return value;
}

/** n nested variants around a byte: <<…<byte 5>…>>. */
function nestedVariants(n: number): Variant {
  let v: Variant = new Variant('y', 5);
  for (let i = 1; i < n; i++) v = new Variant('v', v);
  return v;
}

/** A variant of a byte inside n single-element arrays, and its bytes. */
function arraysAroundVariant(n: number): { type: string; value: unknown; bytes: Buffer } {
  let value: unknown = new Variant('y', 1);
  let b = encode('v', value);
  for (let i = 0; i < n; i++) {
    value = [value];
    b = Buffer.concat([b, Buffer.from([b.length])]); // one element, 1-byte offset
  }
  return { type: 'a'.repeat(n) + 'v', value, bytes: b };
}

describe('GVariant codec edge cases', () => {
  describe('framing offset width', () => {
    it('is 1 byte while body plus offsets fit in 0xff', () => {
      assert.equal(offsetSize(254, 1), 1);
      assert.equal(offsetSize(0, 255), 1);
    });

    it('is 2 bytes from one byte over 0xff while they fit in 0xffff', () => {
      assert.equal(offsetSize(255, 1), 2);
      assert.equal(offsetSize(0, 256), 2);
      assert.equal(offsetSize(0xffff - 2, 1), 2);
    });

    it('is 4 bytes past 0xffff and 8 bytes past 0xffffffff', () => {
      assert.equal(offsetSize(0xffff - 1, 1), 4);
      assert.equal(offsetSize(0xffffffff - 4, 1), 4);
      assert.equal(offsetSize(0xffffffff - 3, 1), 8);
    });

    it('uses 1-byte offsets for an as of 255 bytes in all', () => {
      const b = encode('as', viaGlib('as', ['x'.repeat(253)]));
      assert.equal(b.length, 255);
      assert.equal(hex(b.subarray(-1)), 'fe');
    });

    it('switches to 2-byte offsets one byte later (257 bytes in all)', () => {
      const b = encode('as', viaGlib('as', ['x'.repeat(254)]));
      assert.equal(b.length, 257);
      assert.equal(hex(b.subarray(-2)), 'ff00');
    });

    it('uses 2-byte offsets for an as of 0xffff bytes in all', () => {
      const b = encode('as', viaGlib('as', ['x'.repeat(65532)]));
      assert.equal(b.length, 0xffff);
      assert.equal(hex(b.subarray(-2)), 'fdff');
    });

    it('switches to 4-byte offsets one byte later', () => {
      const b = encode('as', viaGlib('as', ['x'.repeat(65533)]));
      assert.equal(b.length, 65538);
      assert.equal(hex(b.subarray(-4)), 'feff0000');
    });

    it('sizes a tuple’s offsets by the tuple’s whole size', () => {
      assert.equal(encode('(ss)', viaGlib('(ss)', ['y'.repeat(252), ''])).length, 255);
      assert.equal(encode('(ss)', viaGlib('(ss)', ['y'.repeat(253), ''])).length, 257);
    });

    it('counts every element’s offset: 255 empty arrays take 1 byte each, 256 take 2', () => {
      const empties = (n: number): Buffer[] => Array.from({ length: n }, () => Buffer.alloc(0));
      assert.equal(encode('aay', viaGlib('aay', empties(255))).length, 255);
      assert.equal(encode('aay', viaGlib('aay', empties(256))).length, 512);
    });

    it('decodes every boundary case strictly back to its value', () => {
      for (const n of [253, 254, 65532, 65533]) {
        const v = ['x'.repeat(n)];
        assert.deepEqual(decode('as', encode('as', v), { strict: true }), v);
      }
    });

    it('reads, but flags as non-normal, offsets wider than the size needs', () => {
      // 253 chars + NUL + one 2-byte offset = 256 bytes: consistent framing, but
      // the same array fits in 255 bytes with a 1-byte offset.
      const wide = Buffer.concat([Buffer.from('x'.repeat(253) + '\0'), bytes('fe00')]);
      assert.deepEqual(decode('as', wide), ['x'.repeat(253)]);
      assert.equal(isNormalForm('as', wide), false);
    });

    it('frames variable-size array elements inside 4-byte-offset containers', () => {
      const v = [['a'.repeat(40_000), Buffer.alloc(32, 1)], ['b'.repeat(40_000), Buffer.alloc(32, 2)]];
      const b = encode('a(say)', viaGlib('a(say)', v));
      assert.ok(b.length > 0xffff);
      assert.deepEqual(decode('a(say)', b, { strict: true }), v);
    });
  });

  describe('empty values', () => {
    for (const type of ['as', 'a{sv}', 'a(say)', 'aas', 'ai', 'ay']) {
      it(`encodes an empty ${type} as no bytes and decodes no bytes as empty`, () => {
        const empty = type === 'ay' ? Buffer.alloc(0) : [];
        assert.equal(encode(type, viaGlib(type, empty)).length, 0);
        assert.deepEqual(decode(type, Buffer.alloc(0), { strict: true }), empty);
      });
    }

    it('still frames empty arrays that are not last in a tuple', () => {
      assert.equal(hex(encode('(asas)', viaGlib('(asas)', [[], []]))), '00');
      assert.equal(hex(encode('(asu)', viaGlib('(asu)', [[], 7]))), '0700000000');
    });

    it("encodes the empty string as a lone NUL", () => {
      assert.equal(hex(encode('s', viaGlib('s', ''))), '00');
    });
  });

  describe('the unit tuple ()', () => {
    it('is the single byte 00', () => {
      assert.equal(hex(encode('()', viaGlib('()', []))), '00');
      assert.deepEqual(decode('()', bytes('00'), { strict: true }), []);
    });

    it('is one byte inside tuples and arrays too', () => {
      assert.equal(hex(encode('(())', viaGlib('(())', [[]]))), '00');
      assert.equal(hex(encode('(()y)', viaGlib('(()y)', [[], 9]))), '0009');
      assert.equal(hex(encode('(u())', viaGlib('(u())', [1, []]))), '0100000000000000');
      assert.equal(hex(encode('a()', viaGlib('a()', [[], []]))), '0000');
    });

    it('is refused with no bytes, even when not strict', () => {
      assert.throws(() => decode('()', Buffer.alloc(0)), GVariantError);
    });
  });

  describe('maybe', () => {
    it('of a fixed-size type is the bare value when Just, nothing when Nothing', () => {
      assert.equal(hex(encode('mu', viaGlib('mu', 0x01020304))), '04030201');
      assert.equal(hex(encode('m(yu)', viaGlib('m(yu)', [1, 2]))), '0100000002000000');
      assert.equal(hex(encode('mu', null)), '');
      assert.deepEqual(decode('m(yu)', bytes('0100000002000000'), { strict: true }), [1, 2]);
    });

    it('of a variable-size type appends a NUL to a Just', () => {
      assert.equal(hex(encode('ms', viaGlib('ms', 'ab'))), '61620000');
      assert.equal(hex(encode('mas', viaGlib('mas', []))), '00');
      assert.equal(hex(encode('mv', viaGlib('mv', new Variant('y', 3)))), '03007900');
    });

    it('tells Just an empty array from Nothing', () => {
      assert.deepEqual(decode('mas', bytes('00'), { strict: true }), []);
      assert.equal(decode('mas', Buffer.alloc(0), { strict: true }), null);
    });

    it('of a unit tells Just () (one byte) from Nothing (none)', () => {
      assert.equal(hex(encode('m()', viaGlib('m()', []))), '00');
      assert.deepEqual(decode('m()', bytes('00'), { strict: true }), []);
      assert.equal(decode('m()', Buffer.alloc(0), { strict: true }), null);
    });

    it('of a maybe decodes a Just as a Just box, so Just Nothing survives', () => {
      assert.deepEqual(decode('mmu', bytes('00'), { strict: true }), new Just(null));
      assert.deepEqual(decode('mmu', bytes('0500000000'), { strict: true }), new Just(5));
      assert.equal(decode('mmu', Buffer.alloc(0), { strict: true }), null);
    });

    it('of a maybe encodes Just boxes and plain values alike', () => {
      assert.equal(hex(encode('mmu', viaGlib('mmu', new Just(5)))), '0500000000');
      assert.equal(hex(encode('mmu', 5)), '0500000000');
      assert.equal(hex(encode('mmu', viaGlib('mmu', new Just(null)))), '00');
    });

    it('nests three deep: Just Just Nothing', () => {
      const v = new Just(new Just(null));
      const b = encode('mmms', viaGlib('mmms', v));
      assert.equal(hex(b), '0000');
      assert.deepEqual(decode('mmms', b, { strict: true }), v);
    });
  });

  describe('strings', () => {
    const multibyte = 'héllo wörld — 日本語 🌳';

    it('encode multibyte UTF-8 with one NUL after it', () => {
      const b = encode('s', viaGlib('s', multibyte));
      assert.equal(b.length, Buffer.byteLength(multibyte) + 1);
      assert.equal(b[b.length - 1], 0);
      assert.equal(decode('s', b, { strict: true }), multibyte);
    });

    it('keep a leading byte-order mark as part of the string', () => {
      assert.equal(decode('s', bytes('efbbbf6100'), { strict: true }), '\ufeffa');
      assert.equal(hex(encode('s', viaGlib('s', '\ufeffa'))), 'efbbbf6100');
    });

    it('accept noncharacters such as U+FFFF, as GLib does', () => {
      assert.equal(decode('s', bytes('efbfbf00'), { strict: true }), '\uffff');
    });

    const INVALID_UTF8: Array<[string, string]> = [
      ['an overlong NUL', 'c080'],
      ['a lone continuation byte', '80'],
      ['an encoded surrogate', 'eda080'],
      ['a truncated sequence', 'e697'],
      ['a code point above U+10FFFF', 'f4908080'],
      ['a 5-byte sequence', 'f888808080'],
      ['a Latin-1 byte', 'e9'],
    ];
    for (const [what, h] of INVALID_UTF8) {
      it(`are refused with ${what}, even when not strict`, () => {
        assert.throws(() => decode('s', bytes(`61${h}00`)), GVariantError);
      });
    }

    it('are refused with an embedded NUL, when decoding', () => {
      assert.throws(() => decode('s', bytes('61006200')), GVariantError);
      assert.throws(() => decode('as', bytes('6100620004')), GVariantError);
    });

    it('are refused with an embedded NUL, when encoding', () => {
      assert.throws(() => encode('s', 'a\0b'), TypeError);
      assert.throws(() => encode('a{sv}', [['k', new Variant('s', 'x\0')]]), TypeError);
    });

    it('are refused without their NUL terminator', () => {
      assert.throws(() => decode('s', bytes('6162')), GVariantError);
      assert.throws(() => decode('s', Buffer.alloc(0)), GVariantError);
    });

    it('are refused when they hold a lone surrogate, which UTF-8 cannot carry', () => {
      assert.throws(() => encode('s', 'a\ud800b'), TypeError);
      assert.throws(() => encode('s', '\udc00'), TypeError);
    });
  });

  describe('object paths and signatures', () => {
    for (const p of ['/', '/a', '/org/freedesktop/DBus', '/_1/b_2']) {
      it(`accept the object path '${p}'`, () => {
        assert.equal(decode('o', encode('o', viaGlib('o', p)), { strict: true }), p);
      });
    }

    for (const p of ['', 'a', '//', '/a/', '/a//b', '/a-b', '/é']) {
      it(`refuse the object path '${p}' both ways`, () => {
        assert.throws(() => encode('o', p), TypeError);
        assert.throws(() => decode('o', Buffer.from(p + '\0')), GVariantError);
      });
    }

    for (const g of ['', 's', 'a{sv}', '(uuua(ayay))', 'asv', 'h']) {
      it(`accept the signature '${g}'`, () => {
        assert.equal(decode('g', encode('g', viaGlib('g', g)), { strict: true }), g);
      });
    }

    for (const g of ['ms', 'a', '(s', 'z', '{vs}', 'a{sss}']) {
      it(`refuse the signature '${g}' both ways`, () => {
        assert.throws(() => encode('g', g), TypeError);
        assert.throws(() => decode('g', Buffer.from(g + '\0')), GVariantError);
      });
    }
  });

  describe('numbers', () => {
    it('round-trip the extremes of every integer type', () => {
      const v = [0xff, -0x8000, 0xffff, -0x80000000, 0xffffffff, -(1n << 63n), (1n << 64n) - 1n, 0x7fffffff];
      const t = '(ynqiuxth)';
      assert.deepEqual(decode(t, encode(t, viaGlib(t, v)), { strict: true }), v);
    });

    const OUT_OF_RANGE: Array<[string, unknown]> = [
      ['y', 256], ['y', -1], ['y', 1.5], ['y', NaN], ['n', 0x8000], ['q', -1], ['i', 2 ** 31],
      ['u', -1], ['u', 2 ** 32], ['x', 1n << 63n], ['t', -1n], ['t', 5], ['u', 5n], ['b', 1],
    ];
    for (const [t, v] of OUT_OF_RANGE) {
      it(`refuse to encode ${typeof v === 'bigint' ? `${v}n` : v} as ${t}`, () => {
        assert.throws(() => encode(t, v), TypeError);
      });
    }

    it('keep the sign of a negative-zero double', () => {
      assert.equal(hex(encode('d', viaGlib('d', -0))), '0000000000000080');
      assert.ok(Object.is(decode('d', bytes('0000000000000080'), { strict: true }), -0));
    });

    it('keep a NaN payload through decode and encode', () => {
      const nan = bytes('0100000000f8ff7f');
      assert.equal(hex(encode('d', decode('d', nan, { strict: true }))), hex(nan));
    });

    it('read a boolean byte other than 0 or 1 as true, but not as normal form', () => {
      assert.equal(decode('b', bytes('ff')), true);
      assert.equal(isNormalForm('b', bytes('ff')), false);
    });

    it('are stored little-endian, with OSTree’s big-endian fields swapped by bswap', () => {
      assert.equal(hex(encode('u', 0x01020304)), '04030201');
      assert.equal(bswap32(0x01020304), 0x04030201);
      assert.equal(bswap32(0xff000000), 0xff);
      assert.equal(bswap64(0x0102030405060708n), 0x0807060504030201n);
      assert.equal(bswap64(bswap64(1704067200n)), 1704067200n);
    });
  });

  describe('type strings', () => {
    const SHAPES: Array<[string, number, number | null]> = [
      ['y', 1, 1], ['n', 2, 2], ['u', 4, 4], ['t', 8, 8], ['d', 8, 8], ['s', 1, null], ['v', 8, null],
      ['()', 1, 1], ['(yu)', 4, 8], ['(uy)', 4, 8], ['(ty)', 8, 16], ['{yy}', 1, 2], ['(yyy)', 1, 3],
      ['ai', 4, null], ['mt', 8, null], ['(ys)', 1, null], ['a{sv}', 8, null], ['(u())', 4, 8],
    ];
    for (const [t, align, fixed] of SHAPES) {
      it(`give ${t} alignment ${align} and ${fixed === null ? 'variable size' : `fixed size ${fixed}`}`, () => {
        const g = parseType(t);
        assert.deepEqual([g.align, g.fixed], [align, fixed]);
      });
    }

    for (const t of ['', 'z', '(', ')', 'a', 'm', '{sv', '{vs}', '{s}', '{sss}', 'ss', '(s))', 'a{sv}}', 'r', '*', '?']) {
      it(`refuse '${t}' with a GVariantTypeError`, () => {
        assert.throws(() => parseType(t), GVariantTypeError);
        assert.equal(isValidType(t), false);
      });
    }

    it("allow 128 nested arrays ('a' × 128 + 'y'), as GLib does", () => {
      assert.equal(isValidType('a'.repeat(128) + 'y'), true);
    });

    it('refuse 129 nested arrays, as GLib does', () => {
      assert.throws(() => parseType('a'.repeat(129) + 'y'), GVariantTypeError);
    });

    it('refuse 300 nested arrays with a GVariantTypeError, not a stack overflow', () => {
      assert.throws(() => parseType('a'.repeat(300) + 'y'), GVariantTypeError);
      assert.throws(() => decode('a'.repeat(300) + 'y', Buffer.alloc(0)), GVariantTypeError);
    });

    it('accept a tuple of 200,000 members', () => {
      assert.equal(parseType(`(${'y'.repeat(200_000)})`).fixed, 200_000);
    });
  });

  describe('nesting of variants', () => {
    it('allows 127 nested variants, the most GLib accepts as normal form', () => {
      const v = nestedVariants(127);
      assert.deepEqual(decode('v', encode('v', v), { strict: true }), v);
    });

    it('refuses to decode 128 nested variants', () => {
      const b = Buffer.concat([encode('v', nestedVariants(127)), Buffer.from('\0v')]);
      assert.throws(() => decode('v', b), GVariantError);
    });

    it('refuses to encode 128 nested variants', () => {
      assert.throws(() => encode('v', nestedVariants(128)), GVariantError);
    });

    it('counts the containers around a variant toward the limit', () => {
      // Under 126 arrays the variant sits at depth 126 and its byte at 127, the
      // deepest allowed; one more array is too many.
      assert.doesNotThrow(() => decode(arraysAroundVariant(126).type, arraysAroundVariant(126).bytes, { strict: true }));
      assert.throws(() => decode(arraysAroundVariant(127).type, arraysAroundVariant(127).bytes), GVariantError);
      assert.throws(() => encode(arraysAroundVariant(127).type, arraysAroundVariant(127).value), GVariantError);
    });
  });

  describe('checked against GLib', function () {
    before(function () {
    });

    it('GLib encodes every edge case above to the same bytes', () => {
      const answers = askGlib(GLIB_CASES.map((c) => ({ op: 'encode' as const, type: c.type, value: c.value })));
      const wrong = GLIB_CASES.filter((c, i) => !encode(c.type, c.value).equals(answers[i] as Buffer));
      assert.deepEqual(wrong.map((c) => c.type), []);
    });

    it('GLib agrees on the deepest nesting of type strings and of variants', () => {
      const deep127 = encode('v', nestedVariants(127));
      const deep128 = Buffer.concat([deep127, Buffer.from('\0v')]);
      const [a126, a127] = [arraysAroundVariant(126), arraysAroundVariant(127)];
      const answers = askGlib([
        { op: 'validType', type: 'a'.repeat(128) + 'y' },
        { op: 'validType', type: 'a'.repeat(129) + 'y' },
        { op: 'normal', type: 'v', bytes: deep127 },
        { op: 'normal', type: 'v', bytes: deep128 },
        { op: 'normal', type: a126.type, bytes: a126.bytes },
        { op: 'normal', type: a127.type, bytes: a127.bytes },
      ]);
      assert.deepEqual(answers, [true, false, true, false, true, false]);
    });

    it('GLib agrees on which strings are valid object paths, signatures and UTF-8', () => {
      const samples: Array<[string, string]> = [
        ['o', '/'], ['o', '//'], ['o', '/a/'], ['o', '/a-b'], ['o', '/a/b_c'],
        ['g', 'ms'], ['g', 'a{sv}'], ['g', '{vs}'], ['g', 'asv'], ['g', ''],
        ['s', 'efbbbf61'], ['s', 'eda080'], ['s', 'efbfbf'], ['s', 'f4908080'], ['s', 'c080'],
      ];
      const asBytes = (t: string, v: string): Buffer => (t === 's' ? bytes(`${v}00`) : Buffer.from(`${v}\0`));
      const answers = askGlib(samples.map(([t, v]) => ({ op: 'normal' as const, type: t, bytes: asBytes(t, v) })));
      samples.forEach(([t, v], i) => assert.equal(isNormalForm(t, asBytes(t, v)), answers[i], `${t} '${v}'`));
    });
  });
});
