// decodeDirTree's fast path (framing offsets read directly) against the general
// GVariant decoder: the same entries for well-formed dirtrees of every offset size,
// and the same outcome (entries, or the same error) for 20,000 damaged ones.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Checksum } from '../../src/ostree/checksum';
import { DirTreeObject, decodeDirTree, encodeDirTree } from '../../src/ostree/objects';
import { Prng } from '../gvariant/support/prng';

/** An integer in [0, n). */
function below(rng: Prng, n: number): number {
  return rng.int(0, n - 1);
}

function csum(s: string): Checksum {
  return createHash('sha256').update(s).digest('hex') as Checksum;
}

function randomTree(rng: Prng, files: number, dirs: number): DirTreeObject {
  const names = new Set<string>();
  const name = (): string => {
    for (;;) {
      const len = 1 + below(rng, below(rng, 4) === 0 ? 200 : 20);
      let n = '';
      for (let i = 0; i < len; i++) n += below(rng, 10) === 0 ? String.fromCodePoint(0xa0 + below(rng, 0x2000)) : String.fromCharCode(0x21 + below(rng, 0x5e));
      n = n.replace(/\//g, '_');
      if (n !== '.' && n !== '..' && !names.has(n)) {
        names.add(n);
        return n;
      }
    }
  };
  return {
    files: Array.from({ length: files }, (_, i) => [name(), csum(`f${i}`)]),
    dirs: Array.from({ length: dirs }, (_, i) => [name(), csum(`t${i}`), csum(`m${i}`)]),
  };
}

function outcome(b: Buffer, fast: boolean): string {
  try {
    return JSON.stringify(decodeDirTree(b, 'dirtree x', false, fast));
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

describe('dirtree fast path', function () {
  this.timeout(120_000);
  const rng = new Prng(0x5eed);
  // 0 entries; small (1-byte offsets); > 255 bytes (2-byte); > 65,535 bytes (4-byte offsets).
  const trees = [randomTree(rng, 0, 0), randomTree(rng, 1, 0), randomTree(rng, 0, 1), randomTree(rng, 5, 3), randomTree(rng, 40, 12), randomTree(rng, 1500, 400)];
  const encoded = trees.map(encodeDirTree);

  it('reads the same entries as the general decoder, whatever the offset size', () => {
    assert.ok(encoded.some((b) => b.length > 65_535), 'one needs 4-byte offsets');
    for (const b of encoded) {
      assert.equal(outcome(b, true), outcome(b, false));
      assert.ok(!outcome(b, true).startsWith('error'));
    }
  });

  it('agrees with the general decoder on 20,000 damaged dirtrees', () => {
    let differ = 0;
    const small = encoded.filter((b) => b.length < 4096);
    for (let i = 0; i < 20_000; i++) {
      const src = small[below(rng, small.length)];
      const b = Buffer.from(src);
      let m: Buffer = b;
      switch (below(rng, 4)) {
        case 0: for (let k = 0; k < 1 + below(rng, 3); k++) if (b.length) b[below(rng, b.length)] = below(rng, 256); break;
        case 1: m = b.subarray(0, below(rng, b.length + 1)); break;
        case 2: m = Buffer.concat([b, Buffer.from([below(rng, 256)])]); break;
        default: if (b.length) b[b.length - 1 - below(rng, Math.min(4, b.length))] ^= 1 << below(rng, 8);
      }
      if (outcome(m, true) !== outcome(m, false)) {
        if (differ++ < 3) console.log(`differs on ${m.toString('hex')}:\n  fast ${outcome(m, true)}\n  general ${outcome(m, false)}`);
      }
    }
    assert.equal(differ, 0);
  });
});
