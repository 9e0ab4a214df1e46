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

export function printXattrs(x: Xattrs): string {
  if (!x.length) return '{ @a(ayay) [] }';
  return `{ [${x.map(([n, v]) => `(b'${n}', ${printValue(v)})`).join(', ')}] }`;
}

/** `2024-01-01 00:00:00 +0000`, as ostree log prints dates. */
export function formatDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000');
}

export function formatMode(mode: number): string {
  const kind = (mode & 0o170000) === 0o040000 ? 'd' : (mode & 0o170000) === 0o120000 ? 'l' : '-';
  return kind + (mode & 0o7777).toString(8).padStart(5, '0');
}
