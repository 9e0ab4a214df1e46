// GVariant serializer producing normal form: minimal framing offsets, zero padding.
// JS value mapping: y n q i u h d -> number; x t -> bigint; b -> boolean;
// s o g -> string; ay -> Uint8Array; aT -> T[]; mT -> T | null;
// tuples and dict entries -> arrays; v -> Variant; the Just of an mmT -> Just.
import { GType, MAX_DEPTH, parseType, shorten } from './type';
import { Variant } from './variant';
import { Just } from './just';
import { GVariantError } from './errors';
import { isObjectPath, isSignature, isWellFormedUnicode } from './basic-strings';

class Writer {
  buf = Buffer.allocUnsafe(256);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  pad(align: number): void {
    const target = (this.pos + align - 1) & ~(align - 1);
    this.ensure(target - this.pos);
    this.buf.fill(0, this.pos, target);
    this.pos = target;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  byte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  /** Appends framing offsets (relative to start) in the minimal width for the container. */
  offsets(start: number, ends: number[]): void {
    if (ends.length === 0) return;
    const body = this.pos - start;
    const w = offsetSize(body, ends.length);
    this.ensure(w * ends.length);
    for (const e of ends) {
      const rel = e - start;
      if (w === 8) this.buf.writeBigUInt64LE(BigInt(rel), this.pos);
      else this.buf.writeUIntLE(rel, this.pos, w);
      this.pos += w;
    }
  }
}

/** The framing offset width for a container of body size B with n offsets. */
export function offsetSize(body: number, n: number): number {
  if (body + n <= 0xff) return 1;
  if (body + 2 * n <= 0xffff) return 2;
  if (body + 4 * n <= 0xffffffff) return 4;
  return 8;
}

export function encode(type: string | GType, value: unknown): Buffer {
  const t = typeof type === 'string' ? parseType(type) : type;
  const w = new Writer();
  write(w, t, value, 0);
  return w.buf.subarray(0, w.pos);
}

function fail(t: GType, value: unknown): never {
  const shown = typeof value === 'bigint' ? `${value}n` : JSON.stringify(value)?.slice(0, 60);
  throw new TypeError(`cannot encode ${shown} as GVariant '${shorten(t.str)}'`);
}

// `depth` is the nesting depth of the value being written, as decode counts it.
function write(w: Writer, t: GType, v: unknown, depth: number): void {
  switch (t.kind) {
    case 'basic':
      return writeBasic(w, t.c, v, t);
    case 'variant': {
      if (!(v instanceof Variant)) fail(t, v);
      const inner = parseType(v.type);
      // The same limit decode applies, so encode never makes what decode refuses.
      if (depth + inner.depth >= MAX_DEPTH) {
        throw new GVariantError(`cannot encode GVariant 'v': values nest deeper than ${MAX_DEPTH}`);
      }
      write(w, inner, v.value, depth + 1);
      w.byte(0);
      w.bytes(Buffer.from(inner.str, 'latin1'));
      return;
    }
    case 'maybe': {
      if (v === null || v === undefined) return;
      write(w, t.elem, v instanceof Just ? v.value : v, depth + 1);
      if (t.elem.fixed === null) w.byte(0);
      return;
    }
    case 'array': {
      const e = t.elem;
      if (e.kind === 'basic' && e.c === 'y') {
        if (!(v instanceof Uint8Array)) fail(t, v);
        w.bytes(v);
        return;
      }
      if (!Array.isArray(v)) fail(t, v);
      if (v.length === 0) return;
      const start = w.pos;
      if (e.fixed !== null) {
        for (const x of v) write(w, e, x, depth + 1);
        return;
      }
      const ends: number[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        w.pad(e.align);
        write(w, e, v[i], depth + 1);
        ends[i] = w.pos;
      }
      w.offsets(start, ends);
      return;
    }
    case 'tuple': {
      if (!Array.isArray(v) || v.length !== t.items.length) fail(t, v);
      const start = w.pos;
      const ends: number[] = [];
      const n = t.items.length;
      if (n === 0) { w.byte(0); return; }
      for (let i = 0; i < n; i++) {
        const it = t.items[i];
        w.pad(it.align);
        write(w, it, v[i], depth + 1);
        if (it.fixed === null && i !== n - 1) ends.push(w.pos);
      }
      if (t.fixed !== null) { w.pad(t.align); return; }
      w.offsets(start, ends.reverse());
      return;
    }
  }
}

function int(t: GType, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(t, v);
  return v;
}

function big(t: GType, v: unknown, min: bigint, max: bigint): bigint {
  if (typeof v !== 'bigint' || v < min || v > max) fail(t, v);
  return v;
}

function writeBasic(w: Writer, c: string, v: unknown, t: GType): void {
  if (t.align > 1) w.pad(t.align);
  const b = (() => { w.ensure(8); return w.buf; })();
  const p = w.pos;
  switch (c) {
    case 'y': b.writeUInt8(int(t, v, 0, 0xff), p); w.pos += 1; return;
    case 'b': if (typeof v !== 'boolean') fail(t, v); b[p] = v ? 1 : 0; w.pos += 1; return;
    case 'n': b.writeInt16LE(int(t, v, -0x8000, 0x7fff), p); w.pos += 2; return;
    case 'q': b.writeUInt16LE(int(t, v, 0, 0xffff), p); w.pos += 2; return;
    case 'i': case 'h': b.writeInt32LE(int(t, v, -0x80000000, 0x7fffffff), p); w.pos += 4; return;
    case 'u': b.writeUInt32LE(int(t, v, 0, 0xffffffff), p); w.pos += 4; return;
    case 'x': b.writeBigInt64LE(big(t, v, -(1n << 63n), (1n << 63n) - 1n), p); w.pos += 8; return;
    case 't': b.writeBigUInt64LE(big(t, v, 0n, (1n << 64n) - 1n), p); w.pos += 8; return;
    case 'd': if (typeof v !== 'number') fail(t, v); b.writeDoubleLE(v, p); w.pos += 8; return;
    default: {
      if (typeof v !== 'string' || v.includes('\0') || !isWellFormedUnicode(v)) fail(t, v);
      if (c === 'o' && !isObjectPath(v)) fail(t, v);
      if (c === 'g' && !isSignature(v)) fail(t, v);
      w.bytes(Buffer.from(v, 'utf8'));
      w.byte(0);
    }
  }
}
