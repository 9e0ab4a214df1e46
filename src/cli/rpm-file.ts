// `arbor rpm info FILE` and `arbor rpm contents FILE`: what a package is and what it
// installs, read with Arbor's own RPM reader (no rpm tool, no database).
import type { Argv, CommandModule } from 'yargs';
import { RpmFile, RpmPackage, DEP_KINDS, readRpm } from '../rpm/package';
import { Dep, formatEvr, formatNevra } from '../rpm/types';

const OPS: Record<string, string> = { LT: '<', LE: '<=', EQ: '=', GE: '>=', GT: '>' };

/** A dependency as rpm prints it: 'foo >= 1:2.0-3'. */
export function formatDep(d: Dep): string {
  return d.op && d.evr ? `${d.name} ${OPS[d.op]} ${formatEvr(d.evr)}` : d.name;
}

/** The model `info` renders, as text or JSON. */
export function packageInfo(pkg: RpmPackage): Record<string, unknown> {
  const m = pkg.meta();
  const payload = pkg.payloadInfo();
  const deps: Record<string, string[]> = {};
  for (const k of DEP_KINDS) deps[k] = pkg.deps(k).map((d) => formatDep(d) + (d.pre ? ' [pre]' : ''));
  return {
    nevra: formatNevra(m),
    name: m.name,
    epoch: m.epoch,
    version: m.version,
    release: m.release,
    arch: m.arch,
    summary: m.summary ?? '',
    license: m.license ?? '',
    sourcerpm: m.sourcerpm ?? '',
    buildtime: m.buildtime ?? 0,
    installedSize: m.installedSize ?? 0,
    packageSize: m.packageSize ?? 0,
    files: pkg.files().length,
    payload: { format: payload.format, compressor: payload.compressor, flags: payload.flags, size: payload.size, digest: payload.digest ?? null, digestAlgo: payload.digestAlgo ?? null },
    deps,
    scriptlets: pkg.scriptlets().map((s) => ({ kind: s.kind, prog: s.prog, body: s.body })),
    triggers: pkg.triggers().map((t) => ({ kind: t.kind, conditions: t.conditions.map(formatDep), prog: t.prog, body: t.body })),
  };
}

function renderInfo(i: ReturnType<typeof packageInfo>): string {
  const L: string[] = [];
  const row = (k: string, v: unknown): number => L.push(`${k.padEnd(14)}: ${String(v)}`);
  row('Name', i.name);
  row('Epoch', i.epoch);
  row('Version', i.version);
  row('Release', i.release);
  row('Architecture', i.arch);
  row('NEVRA', i.nevra);
  row('Summary', i.summary);
  row('License', i.license);
  row('Source RPM', i.sourcerpm);
  row('Build time', new Date((i.buildtime as number) * 1000).toISOString());
  row('Installed size', i.installedSize);
  row('Package size', i.packageSize);
  row('Files', i.files);
  const p = i.payload as Record<string, unknown>;
  row('Payload', `${p.format}, ${p.compressor}${p.flags ? ` (level ${p.flags})` : ''}, ${p.size} bytes`);
  for (const [kind, list] of Object.entries(i.deps as Record<string, string[]>)) {
    if (!list.length) continue;
    L.push('', `${kind[0].toUpperCase()}${kind.slice(1)}:`, ...list.map((d) => `  ${d}`));
  }
  for (const s of i.scriptlets as Array<{ kind: string; prog: string[]; body: string }>) {
    L.push('', `${s.kind} scriptlet (using ${s.prog.join(' ')}):`, ...(s.body ? s.body.split('\n').map((x) => `  ${x}`) : []));
  }
  for (const t of i.triggers as Array<{ kind: string; conditions: string[]; prog: string[]; body: string }>) {
    L.push('', `${t.kind} trigger on ${t.conditions.join(', ')} (using ${t.prog.join(' ')}):`, ...t.body.split('\n').map((x) => `  ${x}`));
  }
  return `${L.join('\n')}\n`;
}

/** ls-style permissions, as rpmPermsString prints them. */
export function permsString(mode: number): string {
  const t = mode & 0o170000;
  const kind = t === 0o040000 ? 'd' : t === 0o120000 ? 'l' : t === 0o020000 ? 'c' : t === 0o060000 ? 'b' : t === 0o010000 ? 'p' : t === 0o140000 ? 's' : '-';
  const rwx = (bits: number, special: boolean, ch: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return kind + rwx((mode >> 6) & 7, !!(mode & 0o4000), 's') + rwx((mode >> 3) & 7, !!(mode & 0o2000), 's') + rwx(mode & 7, !!(mode & 0o1000), 't');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** rpm's time column: 'Nov 14  2023' when older than ~6 months (or in the future), else 'Nov 14 06:31'. */
export function timeField(mtime: number, now: number): string {
  const d = new Date(mtime * 1000);
  const day = String(d.getDate()).padStart(2, ' ');
  const old = now > mtime + 6 * 30 * 24 * 3600 || now < mtime - 3600;
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return `${MONTHS[d.getMonth()]} ${day} ${old ? ` ${d.getFullYear()}` : hm}`;
}

/** One `rpm -qplv` line per file (local time, like rpm). */
export function contentsLines(pkg: RpmPackage, now = Math.floor(Date.now() / 1000)): string[] {
  const links = new Map<number, number>();
  for (const s of pkg.hardlinkSets()) for (const i of s) links.set(i, s.length);
  return pkg.files().map((f: RpmFile) => {
    const nlink = f.type === 'dir' ? 2 : links.get(f.index) ?? 1;
    let size = String(f.size).padStart(20);
    if (f.type === 'chardev' || f.type === 'blockdev') size = `${String((f.rdev >> 8) & 0xff).padStart(3)}, ${String(f.rdev & 0xff).padStart(3)}`.padStart(10);
    const name = f.type === 'symlink' ? `${f.path} -> ${f.linkTo}` : f.path;
    return `${permsString(f.mode)} ${String(nlink).padStart(4)} ${f.user.slice(0, 8).padEnd(8)} ${f.group.slice(0, 8).padEnd(8)} ${size} ${timeField(f.mtime, now)} ${name}`;
  });
}

type FileArgs = { file: string; json?: boolean };

export const infoCommand: CommandModule<object, FileArgs> = {
  command: 'info <file>',
  describe: 'show what an RPM file is: NEVRA, sizes, dependencies, scriptlets, payload',
  builder: (y: Argv) => y.positional('file', { type: 'string', demandOption: true, describe: 'the .rpm file' }).option('json', { type: 'boolean', describe: 'print JSON' }) as Argv<FileArgs>,
  handler: async (a) => {
    const info = packageInfo(await readRpm(a.file));
    process.stdout.write(a.json ? `${JSON.stringify(info, null, 2)}\n` : renderInfo(info));
  },
};

export const contentsCommand: CommandModule<object, FileArgs> = {
  command: 'contents <file>',
  describe: 'list the files an RPM installs, like rpm -qplv',
  builder: (y: Argv) => y.positional('file', { type: 'string', demandOption: true, describe: 'the .rpm file' }).option('json', { type: 'boolean', describe: 'print the file list as JSON' }) as Argv<FileArgs>,
  handler: async (a) => {
    const pkg = await readRpm(a.file);
    if (a.json) process.stdout.write(`${JSON.stringify(pkg.files(), null, 2)}\n`);
    else {
      const lines = contentsLines(pkg);
      process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '(contains no files)\n');
    }
  },
};
