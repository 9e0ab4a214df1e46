// Damage to serialized GVariants for fuzzing: the kinds of corruption that reach a
// parser from disk or the network (flipped bits, cut or padded files, bad offsets).
import { Prng } from './prng';

export type Mutation = 'flip-bit' | 'set-byte' | 'set-offset' | 'truncate' | 'extend' | 'delete-span' | 'duplicate-span' | 'random';

const WEIGHTED: Mutation[] = [
  'flip-bit', 'flip-bit', 'flip-bit', 'set-byte', 'set-byte', 'set-offset', 'set-offset', 'set-offset',
  'truncate', 'extend', 'delete-span', 'duplicate-span', 'random',
];

/** Applies one to three random mutations; the input is not modified. */
export function mutate(rng: Prng, input: Uint8Array): Buffer {
  let b: Buffer = Buffer.from(input);
  const n = rng.int(1, 3);
  for (let i = 0; i < n; i++) b = mutateOnce(rng, b, rng.pick(WEIGHTED));
  return b;
}

export function mutateOnce(rng: Prng, b: Buffer, m: Mutation): Buffer {
  const len = b.length;
  switch (m) {
    case 'flip-bit':
      if (len) b[rng.int(0, len - 1)] ^= 1 << rng.int(0, 7);
      return b;
    case 'set-byte':
      if (len) b[rng.int(0, len - 1)] = rng.pick([0, 1, 0xff, 0x7f, 0x80, rng.int(0, 255)]);
      return b;
    case 'set-offset': {
      // Framing offsets sit at the end of each container; the outermost at the very end.
      if (!len) return b;
      const at = len - 1 - Math.min(len - 1, rng.int(0, 7));
      b[at] = rng.pick([0, 1, 0xff, len & 0xff, (len + 1) & 0xff, (len - 1) & 0xff, rng.int(0, 255)]);
      return b;
    }
    case 'truncate':
      return b.subarray(0, rng.int(0, len));
    case 'extend':
      return Buffer.concat([b, rng.chance(0.5) ? Buffer.alloc(rng.int(1, 16)) : rng.bytes(rng.int(1, 16))]);
    case 'delete-span': {
      if (!len) return b;
      const s = rng.int(0, len - 1);
      return Buffer.concat([b.subarray(0, s), b.subarray(Math.min(len, s + rng.int(1, 8)))]);
    }
    case 'duplicate-span': {
      if (!len) return b;
      const s = rng.int(0, len - 1);
      const e = Math.min(len, s + rng.int(1, 16));
      return Buffer.concat([b.subarray(0, e), b.subarray(s, e), b.subarray(e)]);
    }
    case 'random':
      return rng.bytes(rng.int(0, 64));
  }
}
