// Text renderings shared by CLI commands: GVariant values, dates, modes.
import { Variant } from '../gvariant';
import { Xattrs } from '../ostree/objects';

/** GVariant text format, close to g_variant_print for the types OSTree uses. */
export function printValue(v: unknown, type?: string): string {
  if (v instanceof Variant) return `<${printValue(v.value, v.type)}>`;
  if (v === null) return 'nothing';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'bigint') return type === 't' ? `uint64 ${v}` : type === 'x' ? `int64 ${v}` : String(v);
  if (typeof v === 'number') return type === 'u' ? `uint32 ${v}` : type === 'y' ? `byte 0x${v.toString(16).padStart(2, '0')}` : String(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return `[byte ${[...v].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')}]`;
  if (Array.isArray(v)) {
    if (type?.startsWith('a{')) return `{${v.map(([k, x]) => `${printValue(k)}: ${printValue(x)}`).join(', ')}}`;
    const elem = type?.startsWith('a') ? type.slice(1) : undefined;
    const inner = v.map((x) => printValue(x, elem)).join(', ');
    return type?.startsWith('(') ? `(${inner})` : `[${inner}]`;
  }
  return String(v);
}

/** As `ostree ls -X` prints them: g_variant_print annotates only the first element's type. */
export function printXattrs(x: Xattrs): string {
  if (!x.length) return '{ @a(ayay) [] }';
  return `{ [${x.map(([n, v], i) => `(${printBytes(Buffer.from(n + '\0'), i === 0)}, ${printBytes(v, i === 0)})`).join(', ')}] }`;
}

/** An `ay` the way g_variant_print shows it: b'…' (g_strescape) when NUL-terminated with no other NUL. */
function printBytes(v: Uint8Array, annotate: boolean): string {
  if (v.length > 0 && v.indexOf(0) === v.length - 1) {
    const raw = Buffer.from(v.subarray(0, v.length - 1));
    const ESC: Record<number, string> = { 8: 'b', 12: 'f', 10: 'n', 13: 'r', 9: 't', 11: 'v', 92: '\\', 34: '"' };
    const s = [...raw].map((c) => (ESC[c] ? `\\${ESC[c]}` : c < 0x20 || c >= 0x7f ? `\\${c.toString(8).padStart(3, '0')}` : String.fromCharCode(c))).join('');
    return raw.includes(0x27) ? `b"${s}"` : `b'${s}'`;
  }
  if (!v.length) return annotate ? '@ay []' : '[]';
  return `[${annotate ? 'byte ' : ''}${[...v].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')}]`;
}

/** `2024-01-01 00:00:00 +0000`, as ostree log prints dates. */
export function formatDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000');
}

export function formatMode(mode: number): string {
  const kind = (mode & 0o170000) === 0o040000 ? 'd' : (mode & 0o170000) === 0o120000 ? 'l' : '-';
  return kind + (mode & 0o7777).toString(8).padStart(5, '0');
}
