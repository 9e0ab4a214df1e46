// The fuzz corpus, reproducible from (seed, index): case i is a mutation of one
// base input (a golden object or a random OSTree value) decoded as its own type,
// or now and then as another OSTree type.
import { encode } from '../../../src/gvariant';
import { Prng } from './prng';
import { mutate } from './mutate';
import { OSTREE_TYPES, randomValue } from './random-values';
import { goldenHeaders, goldenObjects } from './vectors';

export interface FuzzCase {
  type: string;
  bytes: Buffer;
}

const TYPES = Object.values(OSTREE_TYPES);

export class FuzzCorpus {
  private readonly bases: FuzzCase[];

  constructor(readonly seed: number) {
    const rng = new Prng(seed);
    this.bases = [...goldenObjects(), ...goldenHeaders()].map((o) => ({ type: o.type, bytes: o.bytes }));
    for (const type of TYPES) {
      for (let i = 0; i < 8; i++) this.bases.push({ type, bytes: encode(type, randomValue(rng, type, { maxNodes: 60 })) });
    }
  }

  case(i: number): FuzzCase {
    const rng = new Prng((this.seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0);
    const base = rng.pick(this.bases);
    return { type: rng.chance(0.85) ? base.type : rng.pick(TYPES), bytes: mutate(rng, base.bytes) };
  }
}
