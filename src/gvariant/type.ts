// GVariant type strings parsed into a tree with each type's alignment and fixed
// size, as the GVariant Specification 1.0 defines them. Parsed types are cached:
// the codec is driven by type strings and OSTree uses only a handful.
import { GVariantTypeError } from './errors';

export { GVariantTypeError };

export type BasicChar = 'y' | 'b' | 'n' | 'q' | 'i' | 'u' | 'x' | 't' | 'h' | 'd' | 's' | 'o' | 'g';

// `depth` counts nesting as GLib's g_variant_type_info_query_depth does: 1 for a
// basic type or `v`, one more for each enclosing container.
export type GType =
  | { kind: 'basic'; str: string; c: BasicChar; align: number; fixed: number | null; depth: 1 }
  | { kind: 'array'; str: string; elem: GType; align: number; fixed: null; depth: number }
  | { kind: 'maybe'; str: string; elem: GType; align: number; fixed: null; depth: number }
  | { kind: 'tuple'; str: string; items: GType[]; dict: boolean; align: number; fixed: number | null; depth: number }
  | { kind: 'variant'; str: 'v'; align: 8; fixed: null; depth: 1 };

/**
 * GLib's G_VARIANT_MAX_RECURSION_DEPTH. Type strings may nest this deep; a value
 * inside variants must keep (depth of the variant + depth of its type) below it.
 */
export const MAX_DEPTH = 128;

const BASIC: Record<BasicChar, [align: number, fixed: number | null]> = {
  y: [1, 1], b: [1, 1], n: [2, 2], q: [2, 2], i: [4, 4], u: [4, 4], h: [4, 4],
  x: [8, 8], t: [8, 8], d: [8, 8], s: [1, null], o: [1, null], g: [1, null],
};

const cache = new Map<string, GType>();

export function parseType(str: string): GType {
  const hit = cache.get(str);
  if (hit) return hit;
  const [t, end] = parseAt(str, 0, 0);
  if (end !== str.length) throw new GVariantTypeError(`invalid GVariant type string '${shorten(str)}': trailing characters`);
  if (cache.size < 1024) cache.set(str, t);
  return t;
}

/** Parses a concatenation of complete types, such as the body of a signature. */
export function parseTypeList(str: string): GType[] {
  const out: GType[] = [];
  for (let i = 0; i < str.length; ) {
    const [t, end] = parseAt(str, i, 0);
    out.push(t);
    i = end;
  }
  return out;
}

/** Checks a type string from untrusted data (a variant's type) without throwing. */
export function isValidType(str: string): boolean {
  try { parseType(str); return true; } catch { return false; }
}

/** A type string cut down for an error message; types from data can be huge. */
export function shorten(str: string): string {
  return str.length <= 64 ? str : `${str.slice(0, 61)}...`;
}

function alignUp(n: number, a: number): number { return (n + a - 1) & ~(a - 1); }

function parseAt(s: string, i: number, depth: number): [GType, number] {
  if (depth > MAX_DEPTH) throw new GVariantTypeError(`GVariant type string nests deeper than ${MAX_DEPTH}`);
  const c = s[i];
  if (c === undefined) throw new GVariantTypeError(`invalid GVariant type string '${shorten(s)}': ended early`);
  if (c in BASIC) {
    const [align, fixed] = BASIC[c as BasicChar];
    return [{ kind: 'basic', str: c, c: c as BasicChar, align, fixed, depth: 1 }, i + 1];
  }
  if (c === 'v') return [{ kind: 'variant', str: 'v', align: 8, fixed: null, depth: 1 }, i + 1];
  if (c === 'a' || c === 'm') {
    const [elem, end] = parseAt(s, i + 1, depth + 1);
    const kind = c === 'a' ? 'array' : 'maybe';
    return [{ kind, str: s.slice(i, end), elem, align: elem.align, fixed: null, depth: 1 + elem.depth }, end];
  }
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    const items: GType[] = [];
    let j = i + 1;
    while (s[j] !== close) {
      if (s[j] === undefined) throw new GVariantTypeError(`invalid GVariant type string '${shorten(s)}': missing '${close}'`);
      const [t, end] = parseAt(s, j, depth + 1);
      items.push(t);
      j = end;
    }
    if (c === '{' && (items.length !== 2 || items[0].kind !== 'basic')) {
      throw new GVariantTypeError(`invalid GVariant type string '${shorten(s)}': a dict entry needs a basic key and one value`);
    }
    let align = 1;
    let size: number | null = 0;
    let inner = 0;
    for (const t of items) {
      align = Math.max(align, t.align);
      inner = Math.max(inner, t.depth);
      size = size !== null && t.fixed !== null ? alignUp(size, t.align) + t.fixed : null;
    }
    // The unit tuple is one zero byte; other fixed tuples are padded to their alignment.
    const fixed = size === null ? null : items.length === 0 ? 1 : alignUp(size, align);
    return [{ kind: 'tuple', str: s.slice(i, j + 1), items, dict: c === '{', align, fixed, depth: 1 + inner }, j + 1];
  }
  throw new GVariantTypeError(`invalid GVariant type string '${shorten(s)}': unexpected '${c}' at ${i}`);
}
