// GVariant parser. It never reads outside the given bytes and refuses malformed
// framing with a GVariantError instead of guessing. With { strict: true } it also
// insists on normal form (as g_variant_is_normal_form does for data from the
// network): the input must be exactly what encode() makes of the parsed value.
import { GType, MAX_DEPTH, parseType, shorten } from './type';
import { encode } from './encode';
import { Variant } from './variant';
import { Just } from './just';
import { GVariantError } from './errors';
import { isObjectPath, isSignature } from './basic-strings';

export { GVariantError };

export interface DecodeOptions {
  strict?: boolean;
}

export function decode<T = unknown>(type: string | GType, bytes: Uint8Array, opts: DecodeOptions = {}): T {
  const t = typeof type === 'string' ? parseType(type) : type;
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = read(buf, t, 0, buf.length, 0);
  if (opts.strict && !encode(t, value).equals(buf)) {
    throw new GVariantError(`not in GVariant normal form for type '${shorten(t.str)}'`);
  }
  return value as T;
}

export function isNormalForm(type: string | GType, bytes: Uint8Array): boolean {
  try {
    decode(type, bytes, { strict: true });
    return true;
  } catch {
    return false;
  }
}

function bad(t: GType, why: string): never {
  throw new GVariantError(`malformed GVariant '${shorten(t.str)}': ${why}`);
}

function readOffset(b: Buffer, at: number, w: number): number {
  if (w === 8) {
    const v = b.readBigUInt64LE(at);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  return b.readUIntLE(at, w);
}

function offsetWidth(size: number): number {
  return size === 0 ? 0 : size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffff ? 4 : 8;
}

function alignUp(n: number, a: number): number { return n + ((a - (n % a)) % a); }

function read(b: Buffer, t: GType, start: number, end: number, depth: number): unknown {
  if (depth > MAX_DEPTH) bad(t, `nested deeper than ${MAX_DEPTH}`);
  const size = end - start;
  if (t.fixed !== null && size !== t.fixed) bad(t, `${size} bytes where ${t.fixed} are required`);
  switch (t.kind) {
    case 'basic':
      switch (t.c) {
        case 'y': return b[start];
        case 'b': return b[start] !== 0;
        case 'n': return b.readInt16LE(start);
        case 'q': return b.readUInt16LE(start);
        case 'i': case 'h': return b.readInt32LE(start);
        case 'u': return b.readUInt32LE(start);
        case 'x': return b.readBigInt64LE(start);
        case 't': return b.readBigUInt64LE(start);
        case 'd': return b.readDoubleLE(start);
        default: {
          if (size === 0 || b[end - 1] !== 0) bad(t, 'string is not NUL-terminated');
          const nul = b.indexOf(0, start);
          if (nul !== end - 1) bad(t, 'string contains a NUL byte');
          let str: string;
          try {
            str = utf8.decode(b.subarray(start, end - 1));
          } catch {
            bad(t, 'string is not valid UTF-8');
          }
          if (t.c === 'o' && !isObjectPath(str)) bad(t, 'not a valid object path');
          if (t.c === 'g' && !isSignature(str)) bad(t, 'not a valid signature');
          return str;
        }
      }
    // falls through (unreachable: every basic case returns)
    case 'variant': {
      // The type string holds no NUL, so the last NUL in the variant separates it.
      const rel = b.subarray(start, end).lastIndexOf(0);
      if (rel < 0) bad(t, 'variant has no type separator');
      const sep = start + rel;
      const ts = b.toString('latin1', sep + 1, end);
      let inner: GType;
      try {
        inner = parseType(ts);
      } catch {
        bad(t, `variant carries an invalid type '${ts.slice(0, 40)}'`);
      }
      // GLib's rule (gvs_variant_get_child): the variant's depth plus its type's depth stays below the limit.
      if (depth + inner.depth >= MAX_DEPTH) bad(t, `nested deeper than ${MAX_DEPTH}`);
      return new Variant(ts, read(b, inner, start, sep, depth + 1));
    }
    case 'maybe': {
      if (size === 0) return null;
      let just: unknown;
      if (t.elem.fixed !== null) just = read(b, t.elem, start, end, depth + 1);
      else {
        if (b[end - 1] !== 0) bad(t, 'Just value lacks its trailing NUL');
        just = read(b, t.elem, start, end - 1, depth + 1);
      }
      // Only for mmT is a bare null ambiguous (Nothing or Just Nothing).
      return t.elem.kind === 'maybe' ? new Just(just) : just;
    }
    case 'array': {
      const e = t.elem;
      if (e.kind === 'basic' && e.c === 'y') return b.subarray(start, end);
      if (size === 0) return [];
      if (e.fixed !== null) {
        if (size % e.fixed !== 0) bad(t, `${size} bytes is not a multiple of the element size ${e.fixed}`);
        const out = new Array(size / e.fixed);
        for (let i = 0; i < out.length; i++) out[i] = read(b, e, start + i * e.fixed, start + (i + 1) * e.fixed, depth + 1);
        return out;
      }
      const w = offsetWidth(size);
      const lastEnd = readOffset(b, end - w, w);
      if (lastEnd > size - w) bad(t, 'framing offset points past the array');
      const offsStart = start + lastEnd;
      if ((end - offsStart) % w !== 0) bad(t, 'framing offsets do not divide evenly');
      const n = (end - offsStart) / w;
      const out = new Array(n);
      let pos = start;
      for (let i = 0; i < n; i++) {
        const s = alignUp(pos - start, e.align) + start;
        const en = start + readOffset(b, offsStart + i * w, w);
        if (s > en || en > offsStart) bad(t, `element ${i} has an out-of-range framing offset`);
        out[i] = read(b, e, s, en, depth + 1);
        pos = en;
      }
      return out;
    }
    case 'tuple': {
      const n = t.items.length;
      if (n === 0) return [];
      const w = offsetWidth(size);
      let frameEnd = end; // framing offsets are read from the back, one per non-final variable member
      let pos = start;
      const out = new Array(n);
      for (let i = 0; i < n; i++) {
        const it = t.items[i];
        const s = start + alignUp(pos - start, it.align);
        let en: number;
        if (it.fixed !== null) en = s + it.fixed;
        else if (i === n - 1) en = frameEnd;
        else {
          frameEnd -= w;
          // An empty tuple has offset width 0: no room for the offset this member needs.
          if (w === 0 || frameEnd < start) bad(t, 'not enough room for its framing offsets');
          en = start + readOffset(b, frameEnd, w);
        }
        if (s > en || en > frameEnd) bad(t, `member ${i} lies outside the container`);
        out[i] = read(b, it, s, en, depth + 1);
        pos = en;
      }
      return out;
    }
  }
}

// ignoreBOM: a leading U+FEFF is part of the string, not a marker to strip.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
