// GLib's own GVariant as a test oracle, through python3-gi. One python process
// answers a whole batch (JSON on stdin, JSON on stdout), which keeps 1,000+ values
// at a few hundred milliseconds. Values travel as JSON by their GVariant type:
// ay as hex, x/t as decimal strings, d as the hex of its 8 bytes, v as
// {type, value}, the Just of an mmT as {just: value}.
import { spawnSync } from 'node:child_process';
import { GType, Just, Variant, parseType } from '../../../src/gvariant';

const PYTHON = '/usr/bin/python3';

const SCRIPT = String.raw`
import json, struct, sys
import gi
gi.require_version('GLib', '2.0')
from gi.repository import GLib

def scan(t, i):
    c = t[i]
    if c in 'am':
        return scan(t, i + 1)
    if c in '({':
        i += 1
        while t[i] not in ')}':
            i = scan(t, i)
        return i + 1
    return i + 1

def items(t):
    out, i = [], 1
    while t[i] not in ')}':
        j = scan(t, i)
        out.append(t[i:j])
        i = j
    return out

SIMPLE = {
    'y': GLib.Variant.new_byte, 'b': GLib.Variant.new_boolean,
    'n': GLib.Variant.new_int16, 'q': GLib.Variant.new_uint16,
    'i': GLib.Variant.new_int32, 'u': GLib.Variant.new_uint32,
    'h': GLib.Variant.new_handle, 's': GLib.Variant.new_string,
    'o': GLib.Variant.new_object_path, 'g': GLib.Variant.new_signature,
}

def build(t, v):
    c = t[0]
    if c in SIMPLE:
        return SIMPLE[c](v)
    if c == 'x':
        return GLib.Variant.new_int64(int(v))
    if c == 't':
        return GLib.Variant.new_uint64(int(v))
    if c == 'd':
        return GLib.Variant.new_double(struct.unpack('<d', bytes.fromhex(v))[0])
    if c == 'v':
        return GLib.Variant.new_variant(build(v['type'], v['value']))
    if t == 'ay':
        return GLib.Variant.new_from_bytes(GLib.VariantType('ay'), GLib.Bytes(bytes.fromhex(v)), True)
    if c == 'a':
        return GLib.Variant.new_array(GLib.VariantType(t[1:]), [build(t[1:], x) for x in v])
    if c == 'm':
        if v is None:
            return GLib.Variant.new_maybe(GLib.VariantType(t[1:]), None)
        if isinstance(v, dict) and 'just' in v:
            v = v['just']
        return GLib.Variant.new_maybe(None, build(t[1:], v))
    if c == '(':
        return GLib.Variant.new_tuple(*[build(it, x) for it, x in zip(items(t), v)])
    if c == '{':
        k, val = items(t)
        return GLib.Variant.new_dict_entry(build(k, v[0]), build(val, v[1]))
    raise ValueError('unsupported type ' + t)

FIXED = set('ybnqiuxthd(){}')

def rebuild(v):
    # GLib's serializer applied to GLib's reading: re-create every container
    # from its children, down to leaves of fixed size or basic type.
    t = v.get_type_string()
    if set(t) <= FIXED or (t[0] == 'a' and set(t[1:]) <= FIXED) or not v.is_container():
        return v.get_normal_form()
    kids = [rebuild(v.get_child_value(i)) for i in range(v.n_children())]
    if t == 'v':
        return GLib.Variant.new_variant(kids[0])
    if t[0] == 'a':
        return GLib.Variant.new_array(GLib.VariantType(t[1:]), kids)
    if t[0] == 'm':
        return GLib.Variant.new_maybe(GLib.VariantType(t[1:]), kids[0] if kids else None)
    if t[0] == '(':
        return GLib.Variant.new_tuple(*kids)
    return GLib.Variant.new_dict_entry(kids[0], kids[1])

def from_bytes(t, h):
    return GLib.Variant.new_from_bytes(GLib.VariantType(t), GLib.Bytes(bytes.fromhex(h)), False)

out = []
for req in json.load(sys.stdin):
    op, t = req['op'], req['type']
    if op == 'encode':
        v = build(t, req['value'])
        assert v.get_type_string() == t, (v.get_type_string(), t)
        out.append(v.get_data_as_bytes().get_data().hex())
    elif op == 'normal':
        out.append(from_bytes(t, req['hex']).is_normal_form())
    elif op == 'normalize':
        out.append(from_bytes(t, req['hex']).get_normal_form().get_data_as_bytes().get_data().hex())
    elif op == 'reserialize':
        out.append(rebuild(from_bytes(t, req['hex'])).get_data_as_bytes().get_data().hex())
    elif op == 'validType':
        out.append(GLib.VariantType.string_is_valid(t))
    else:
        raise ValueError('unknown op ' + op)
json.dump(out, sys.stdout)
`;

export type OracleRequest =
  | { op: 'encode'; type: string; value: unknown }
  | { op: 'normal'; type: string; bytes: Uint8Array }
  | { op: 'normalize'; type: string; bytes: Uint8Array }
  | { op: 'reserialize'; type: string; bytes: Uint8Array }
  | { op: 'validType'; type: string };

/**
 * Runs a batch through GLib. For 'encode' the answer is GLib's serialization
 * (normal form) as a Buffer; for 'normal', g_variant_is_normal_form; for
 * 'normalize', the normal form of GLib's reading of the bytes
 * (g_variant_get_normal_form); for 'reserialize', what GLib's serializer
 * writes for GLib's reading of the bytes (every container rebuilt from its
 * children: unlike get_normal_form, this never hands back input bytes that
 * is_normal_form wrongly accepts); for 'validType', g_variant_type_string_is_valid.
 */
export function askGlib(requests: OracleRequest[]): Array<Buffer | boolean> {
  const wire = requests.map((r) =>
    r.op === 'encode' ? { op: r.op, type: r.type, value: toJson(parseType(r.type), r.value) }
    : r.op === 'normal' || r.op === 'normalize' || r.op === 'reserialize' ? { op: r.op, type: r.type, hex: Buffer.from(r.bytes).toString('hex') }
    : r,
  );
  const res = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(wire), maxBuffer: 1 << 30, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`GLib oracle failed (status ${res.status}): ${res.stderr.slice(-2000)}`);
  const answers = JSON.parse(res.stdout) as Array<string | boolean>;
  return answers.map((a) => (typeof a === 'string' ? Buffer.from(a, 'hex') : a));
}

export function glibEncode(type: string, value: unknown): Buffer {
  return askGlib([{ op: 'encode', type, value }])[0] as Buffer;
}

/** A codec value as the oracle's JSON, guided by its GVariant type. */
export function toJson(t: GType, v: unknown): unknown {
  switch (t.kind) {
    case 'basic':
      if (t.c === 'x' || t.c === 't') return String(v);
      if (t.c === 'd') {
        const b = Buffer.alloc(8);
        b.writeDoubleLE(v as number);
        return b.toString('hex');
      }
      return v;
    case 'variant': {
      const x = v as Variant;
      return { type: x.type, value: toJson(parseType(x.type), x.value) };
    }
    case 'maybe':
      if (v === null || v === undefined) return null;
      return v instanceof Just ? { just: toJson(t.elem, v.value) } : toJson(t.elem, v);
    case 'array':
      if (t.elem.kind === 'basic' && t.elem.c === 'y') return Buffer.from(v as Uint8Array).toString('hex');
      return (v as unknown[]).map((x) => toJson(t.elem, x));
    case 'tuple':
      return (v as unknown[]).map((x, i) => toJson(t.items[i], x));
  }
}
