// GVariant type strings parsed into a tree with each type's alignment and fixed
// size, as the GVariant Specification 1.0 defines them. Parsed types are cached:
// the codec is driven by type strings and OSTree uses only a handful.

export type BasicChar = 'y' | 'b' | 'n' | 'q' | 'i' | 'u' | 'x' | 't' | 'h' | 'd' | 's' | 'o' | 'g';

export type GType =
  | { kind: 'basic'; str: string; c: BasicChar; align: number; fixed: number | null }
  | { kind: 'array'; str: string; elem: GType; align: number; fixed: null }
  | { kind: 'maybe'; str: string; elem: GType; align: number; fixed: null }
  | { kind: 'tuple'; str: string; items: GType[]; dict: boolean; align: number; fixed: number | null }
  | { kind: 'variant'; str: 'v'; align: 8; fixed: null };

/** GLib refuses containers nested deeper than this; so do we (it bounds recursion). */
export const MAX_DEPTH = 128;

const BASIC: Record<BasicChar, [align: number, fixed: number | null]> = {
  y: [1, 1], b: [1, 1], n: [2, 2], q: [2, 2], i: [4, 4], u: [4, 4], h: [4, 4],
  x: [8, 8], t: [8, 8], d: [8, 8], s: [1, null], o: [1, null], g: [1, null],
};

export class GVariantTypeError extends Error {}

const cache = new Map<string, GType>();

export function parseType(str: string): GType {
  const hit = cache.get(str);
  if (hit) return hit;
  const [t, end] = parseAt(str, 0, 0);
  if (end !== str.length) throw new GVariantTypeError(`invalid GVariant type string '${str}': trailing characters`);
  if (cache.size < 1024) cache.set(str, t);
  return t;
}

/** Checks a type string from untrusted data (a variant's type) without throwing. */
export function isValidType(str: string): boolean {
  try { parseType(str); return true; } catch { return false; }
}

function alignUp(n: number, a: number): number { return (n + a - 1) & ~(a - 1); }

function parseAt(s: string, i: number, depth: number): [GType, number] {
  if (depth > MAX_DEPTH) throw new GVariantTypeError(`GVariant type string nests deeper than ${MAX_DEPTH}`);
  const c = s[i];
  if (c === undefined) throw new GVariantTypeError(`invalid GVariant type string '${s}': ended early`);
  if (c in BASIC) {
    const [align, fixed] = BASIC[c as BasicChar];
    return [{ kind: 'basic', str: c, c: c as BasicChar, align, fixed }, i + 1];
  }
  if (c === 'v') return [{ kind: 'variant', str: 'v', align: 8, fixed: null }, i + 1];
  if (c === 'a' || c === 'm') {
    const [elem, end] = parseAt(s, i + 1, depth + 1);
    return [{ kind: c === 'a' ? 'array' : 'maybe', str: s.slice(i, end), elem, align: elem.align, fixed: null }, end];
  }
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    const items: GType[] = [];
    let j = i + 1;
    while (s[j] !== close) {
      if (s[j] === undefined) throw new GVariantTypeError(`invalid GVariant type string '${s}': missing '${close}'`);
      const [t, end] = parseAt(s, j, depth + 1);
      items.push(t);
      j = end;
    }
    if (c === '{' && (items.length !== 2 || items[0].kind !== 'basic')) {
      throw new GVariantTypeError(`invalid GVariant type string '${s}': a dict entry needs a basic key and one value`);
    }
    let align = 1;
    let size: number | null = 0;
    for (const t of items) {
      align = Math.max(align, t.align);
      size = size !== null && t.fixed !== null ? alignUp(size, t.align) + t.fixed : null;
    }
    // The unit tuple is one zero byte; other fixed tuples are padded to their alignment.
    const fixed = size === null ? null : items.length === 0 ? 1 : alignUp(size, align);
    return [{ kind: 'tuple', str: s.slice(i, j + 1), items, dict: c === '{', align, fixed }, j + 1];
  }
  throw new GVariantTypeError(`invalid GVariant type string '${s}': unexpected '${c}' at ${i}`);
}
