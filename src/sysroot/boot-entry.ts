// Boot Loader Specification entries (`boot/loader.N/entries/*.conf`): `key value`
// lines. Keys are written in libostree's order (title, version, options,
// devicetree, linux, initrd, then the rest) so Arbor's entries match byte for byte.
import { ArborError } from '../common/errors';

const KEY_ORDER = ['title', 'version', 'options', 'devicetree', 'linux', 'initrd'];

export class BootEntry {
  private readonly map = new Map<string, string>();

  static parse(text: string, source = 'boot entry'): BootEntry {
    const e = new BootEntry();
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const m = /^(\S+)\s+(.*)$/.exec(line);
      if (!m) throw new ArborError('Corrupted', `${source}: line '${line.slice(0, 80)}' is not 'key value'`);
      e.map.set(m[1], m[2]);
    }
    return e;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  set(key: string, value: string): void {
    this.map.set(key, value);
  }


  toString(): string {
    const keys = [...KEY_ORDER.filter((k) => this.map.has(k)), ...[...this.map.keys()].filter((k) => !KEY_ORDER.includes(k))];
    return keys.map((k) => `${k} ${this.map.get(k)}\n`).join('');
  }
}

/** glibc strverscmp: digit runs compare as numbers (leading zeros as fractions). */
export function strverscmp(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const fx = x.startsWith('0');
      const fy = y.startsWith('0');
      if (!fx && !fy) {
        if (x.length !== y.length) return x.length - y.length;
        return x < y ? -1 : 1;
      }
      // Fractional parts (leading zero) compare as strings, and sort before integers.
      if (fx !== fy) return fx ? -1 : 1;
      return x < y ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}
