// Random JS values for any GVariant type (in the codec's JS mapping), with the
// OSTree object types and an a{sv} of mixed variants as the interesting cases.
import { GType, Just, Variant, parseType } from '../../../src/gvariant';
import { Prng } from './prng';

export const OSTREE_TYPES = {
  commit: '(a{sv}aya(say)sstayay)',
  dirtree: '(a(say)a(sayay))',
  dirmeta: '(uuua(ayay))',
  contentHeader: '(uuuusa(ayay))',
  archiveHeader: '(tuuuusa(ayay))',
  summary: '(a(s(taya{sv}))a{sv})',
  metadata: 'a{sv}',
} as const;

/** The types a metadata variant holds in these tests. */
export const VARIANT_TYPES = ['s', 'b', 't', 'as', 'ay', 'u', 'a{sv}', '(ss)'] as const;

// Code points for random strings: mostly ASCII, some 2-, 3- and 4-byte UTF-8.
const RANGES: Array<[number, number, number]> = [
  [60, 0x20, 0x7e],
  [8, 0x01, 0x1f],
  [10, 0x80, 0x7ff],
  [12, 0x800, 0xd7ff],
  [4, 0xe000, 0xfffd],
  [6, 0x10000, 0x10ffff],
];
const WEIGHT = RANGES.reduce((a, r) => a + r[0], 0);

export function randomString(rng: Prng, maxChars: number): string {
  const n = lengthUpTo(rng, maxChars);
  let s = '';
  for (let i = 0; i < n; i++) {
    let w = rng.int(0, WEIGHT - 1);
    let r = RANGES[0];
    for (const range of RANGES) {
      if (w < range[0]) { r = range; break; }
      w -= range[0];
    }
    s += String.fromCodePoint(rng.int(r[1], r[2]));
  }
  return s;
}

/** Mostly short lengths, now and then long enough to cross the 1-byte offset limit. */
function lengthUpTo(rng: Prng, max: number): number {
  const roll = rng.float();
  const cap = roll < 0.45 ? 3 : roll < 0.85 ? 12 : roll < 0.97 ? 40 : max;
  return rng.int(0, Math.min(cap, max));
}

export interface Limits {
  /** Longest array a generator makes. */
  maxLen: number;
  /** Deepest nesting of variants (a{sv} inside a{sv}). */
  maxVariantDepth: number;
  /** Roughly how many values one call may make; arrays come out short after that. */
  maxNodes: number;
}

const DEFAULT_LIMITS: Limits = { maxLen: 60, maxVariantDepth: 3, maxNodes: 400 };

export function randomValue(rng: Prng, type: string | GType, limits: Partial<Limits> = {}): unknown {
  const ctx = { rng, limits: { ...DEFAULT_LIMITS, ...limits }, nodes: 0 };
  return gen(ctx, typeof type === 'string' ? parseType(type) : type, 0);
}

interface Ctx {
  rng: Prng;
  limits: Limits;
  nodes: number;
}

function gen(ctx: Ctx, t: GType, vdepth: number): unknown {
  const { rng, limits } = ctx;
  ctx.nodes++;
  switch (t.kind) {
    case 'basic':
      switch (t.c) {
        case 'y': return rng.int(0, 0xff);
        case 'b': return rng.chance(0.5);
        case 'n': return rng.int(-0x8000, 0x7fff);
        case 'q': return rng.int(0, 0xffff);
        case 'i': case 'h': return rng.u32() | 0;
        case 'u': return rng.u32();
        case 'x': return BigInt.asIntN(64, rng.u64());
        case 't': return rng.u64();
        case 'd': return rng.bytes(8).readDoubleLE(0);
        case 's': return randomString(rng, 200);
        case 'o': return randomObjectPath(rng);
        case 'g': return rng.pick(['', 'y', 'a{sv}', '(uuua(ayay))', 'asv', 'a(say)x']);
      }
      throw new Error('unreachable');
    case 'variant': {
      const choices = vdepth < limits.maxVariantDepth ? VARIANT_TYPES : VARIANT_TYPES.filter((x) => x !== 'a{sv}');
      const vt = rng.pick(choices);
      return new Variant(vt, gen(ctx, parseType(vt), vdepth + 1));
    }
    case 'maybe': {
      if (rng.chance(0.3)) return null;
      const inner = gen(ctx, t.elem, vdepth);
      return t.elem.kind === 'maybe' ? new Just(inner) : inner;
    }
    case 'array': {
      if (t.elem.kind === 'basic' && t.elem.c === 'y') return rng.bytes(rng.chance(0.5) ? 32 : lengthUpTo(rng, 300));
      const n = ctx.nodes > limits.maxNodes ? rng.int(0, 1) : lengthUpTo(rng, limits.maxLen);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(gen(ctx, t.elem, vdepth));
      return out;
    }
    case 'tuple':
      return t.items.map((it) => gen(ctx, it, vdepth));
  }
}

function randomObjectPath(rng: Prng): string {
  const n = rng.int(0, 4);
  let p = '';
  for (let i = 0; i < n; i++) {
    const len = rng.int(1, 8);
    let seg = '';
    for (let j = 0; j < len; j++) seg += rng.pick([...'abcXYZ019_']);
    p += `/${seg}`;
  }
  return p || '/';
}

/**
 * Values whose serialization is larger than 64 KiB, so their framing offsets are
 * 4 bytes wide (sometimes only in the outer container).
 */
export function bigValues(rng: Prng): Array<{ type: string; value: unknown }> {
  const checksum = (): Buffer => rng.bytes(32);
  const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `file-${String(i).padStart(6, '0')}-${randomString(rng, 6)}`);
  return [
    {
      type: OSTREE_TYPES.dirtree,
      value: [names(2500).map((n) => [n, checksum()]), names(300).map((n) => [n, checksum(), checksum()])],
    },
    {
      type: OSTREE_TYPES.commit,
      value: [
        [['ostree.sizes', new Variant('ay', rng.bytes(70_000))], ['version', new Variant('s', '42.1')]],
        checksum(), [], 'big commit', randomString(rng, 100), rng.u64(), checksum(), checksum(),
      ],
    },
    {
      type: OSTREE_TYPES.summary,
      value: [
        names(1200).map((n) => [n, [rng.u64(), checksum(), [['ostree.commit.timestamp', new Variant('t', rng.u64())]]]]),
        [['ostree.summary.mode', new Variant('s', 'archive-z2')]],
      ],
    },
    {
      type: OSTREE_TYPES.metadata,
      value: [
        ['many', new Variant('as', names(6000))],
        ['blob', new Variant('ay', rng.bytes(66_000))],
        ['nested', new Variant('a{sv}', [['inner', new Variant('ay', rng.bytes(65_600))]])],
      ],
    },
    {
      type: OSTREE_TYPES.contentHeader,
      value: [rng.u32(), rng.u32(), rng.u32(), 0, 'x'.repeat(70_000), [[Buffer.from('user.big\0'), rng.bytes(1000)]]],
    },
  ];
}
