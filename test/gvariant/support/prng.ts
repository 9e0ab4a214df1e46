// A small seeded PRNG (mulberry32) so every randomized GVariant test can be replayed:
// the seed comes from GVARIANT_SEED when set, else from the clock, and is printed.

export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const r = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (r >>> (8 * j)) & 0xff;
    }
    return b;
  }

  /** A uniform unsigned 64-bit integer. */
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

/** The seed for this run: GVARIANT_SEED if set (to replay a failure), else fresh. */
export function testSeed(): number {
  const fromEnv = process.env.GVARIANT_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`GVARIANT_SEED must be an integer in [0, 2^32), got '${fromEnv}'`);
    return n;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** One seed per test run, shared by every randomized GVariant suite. */
export const RUN_SEED = testSeed();
