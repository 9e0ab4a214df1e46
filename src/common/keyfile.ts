// GKeyFile-compatible INI: the format of OSTree's repo `config` and deployment
// `.origin` files. Keeps comments, blank lines and order so an edit rewrites only
// what it changed, as GLib does.

type Line = { kind: 'raw'; text: string } | { kind: 'entry'; key: string; value: string };
interface Group { name: string; lines: Line[] }

export class KeyFile {
  private head: Line[] = [];
  private groups: Group[] = [];

  static parse(text: string, source = 'key file'): KeyFile {
    const kf = new KeyFile();
    let cur: Line[] = kf.head;
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    lines.forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      const t = line.trim();
      if (t === '' || t.startsWith('#')) { cur.push({ kind: 'raw', text: line }); return; }
      const g = /^\[([^\][]+)\]$/.exec(t);
      if (g) {
        const group = { name: g[1], lines: [] as Line[] };
        kf.groups.push(group);
        cur = group.lines;
        return;
      }
      const eq = line.indexOf('=');
      if (eq <= 0 || cur === kf.head) throw new Error(`${source}: line ${i + 1} is not a [group] or key=value: '${line}'`);
      cur.push({ kind: 'entry', key: line.slice(0, eq).trim(), value: unescape(line.slice(eq + 1).trimStart()) });
    });
    return kf;
  }

  groupNames(): string[] { return this.groups.map((g) => g.name); }
  hasGroup(name: string): boolean { return this.groups.some((g) => g.name === name); }

  keys(group: string): string[] {
    return (this.find(group)?.lines ?? []).flatMap((l) => (l.kind === 'entry' ? [l.key] : []));
  }

  get(group: string, key: string): string | undefined {
    const l = this.find(group)?.lines.find((x) => x.kind === 'entry' && x.key === key);
    return l && l.kind === 'entry' ? l.value : undefined;
  }

  getBoolean(group: string, key: string, dflt: boolean): boolean {
    const v = this.get(group, key);
    if (v === undefined) return dflt;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new Error(`[${group}] ${key}: expected true or false, got '${v}'`);
  }

  set(group: string, key: string, value: string): void {
    let g = this.find(group);
    if (!g) { g = { name: group, lines: [] }; this.groups.push(g); }
    const l = g.lines.find((x) => x.kind === 'entry' && x.key === key);
    if (l && l.kind === 'entry') { l.value = value; return; }
    // New keys go after the group's last entry, before trailing blank lines.
    let at = g.lines.length;
    while (at > 0 && g.lines[at - 1].kind === 'raw') at--;
    g.lines.splice(at, 0, { kind: 'entry', key, value });
  }

  remove(group: string, key?: string): void {
    if (key === undefined) { this.groups = this.groups.filter((g) => g.name !== group); return; }
    const g = this.find(group);
    if (g) g.lines = g.lines.filter((l) => !(l.kind === 'entry' && l.key === key));
  }

  toString(): string {
    const out: string[] = this.head.map((l) => (l.kind === 'raw' ? l.text : ''));
    for (const g of this.groups) {
      out.push(`[${g.name}]`);
      for (const l of g.lines) out.push(l.kind === 'raw' ? l.text : `${l.key}=${escape(l.value)}`);
    }
    return out.length ? out.join('\n') + '\n' : '';
  }

  private find(name: string): Group | undefined { return this.groups.find((g) => g.name === name); }
}

// GLib's value escapes: \s (leading space), \n \t \r \\.
function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' } as Record<string, string>)[c] ?? `\\${c}`);
}
function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r').replace(/^ /, '\\s');
}
