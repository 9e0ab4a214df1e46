// Fixtures for the sysroot suites: tmpfs mounts (ostree admin freezes /boot's
// filesystem, so oracle sysroots never live on the machine's root fs), fake OS
// trees with a kernel under usr/lib/modules, commits made by the real `ostree`,
// and a tree snapshot for comparing twin sysroots (mtimes excluded).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ostree, run, tmpdir } from '../helpers';

/** A tmpfs mounted for the enclosing suite and unmounted after it. */
export function tmpfsSuite(size = '256m', extra = ''): () => string {
  let dir = '';
  before(() => {
    dir = tmpdir('arbor-sysroot-');
    run('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra ? `,${extra}` : ''}`, 'arbor-test', dir]);
  });
  after(() => {
    if (!dir) return;
    run('chattr', ['-R', '-i', dir], { allowFail: true });
    run('umount', [dir], { allowFail: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

export interface OsTreeSpec {
  version: string;
  kernel?: string;
  /** Files under usr/etc (the defaults). */
  etc?: Record<string, string>;
  prettyName?: string;
  /** Extra files relative to the root. */
  files?: Record<string, string>;
}

/** A small bootable tree: kernel + initramfs, os-release, usr/etc defaults, a marker file. */
export function makeOsTree(dir: string, spec: OsTreeSpec): string {
  const kver = '6.1.0-test';
  const w = (rel: string, content: string): void => {
    fs.mkdirSync(path.dirname(`${dir}/${rel}`), { recursive: true });
    fs.writeFileSync(`${dir}/${rel}`, content);
  };
  fs.mkdirSync(dir, { recursive: true });
  w(`usr/lib/modules/${kver}/vmlinuz`, spec.kernel ?? 'kernel\n');
  w(`usr/lib/modules/${kver}/initramfs.img`, 'initramfs\n');
  w('usr/lib/os-release', `NAME=TestOS\nID=testos\nPRETTY_NAME="${spec.prettyName ?? 'TestOS'}"\n`);
  w('usr/bin/sh', `shell ${spec.version}\n`);
  w('usr/share/empty', '');
  w('usr/share/arbor-marker', `complete ${spec.version}\n`);
  for (const [k, v] of Object.entries(spec.etc ?? { 'a.conf': 'default-a\n', 'b.conf': `default-b ${spec.version}\n`, 'c.conf': 'default-c\n' })) w(`usr/etc/${k}`, v);
  for (const [k, v] of Object.entries(spec.files ?? {})) w(k, v);
  fs.mkdirSync(`${dir}/var`, { recursive: true });
  fs.symlinkSync('usr/bin', `${dir}/bin`);
  return dir;
}

let commitSeq = 0;

/** Commits a tree into a sysroot's repo with the real ostree; same inputs give the same checksum. */
export function commitOs(repo: string, tree: string, branch: string, version: string, extraArgs: string[] = []): string {
  commitSeq++;
  ostree([
    `--repo=${repo}`, 'commit', '-b', branch, `--tree=dir=${tree}`, '-s', `version ${version}`, '--owner-uid=0', '--owner-gid=0',
    `--add-metadata-string=version=${version}`, '--timestamp=2024-01-01T00:00:00Z', ...extraArgs,
  ]);
  return ostree([`--repo=${repo}`, 'rev-parse', branch]).stdout.trim();
}

export interface Entry { type: string; mode: number; uid: number; gid: number; size: number; target?: string; sha?: string }

/** Every path under root with type, mode, owner, size, symlink target and (small files) content hash. */
export function snapshot(root: string, exclude: RegExp[] = []): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (rel: string): void => {
    const p = rel ? `${root}/${rel}` : root;
    const st = fs.lstatSync(p);
    const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
    if (rel && exclude.some((re) => re.test(rel))) return;
    const e: Entry = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'd' ? 0 : st.size };
    if (type === 'l') e.target = fs.readlinkSync(p);
    if (type === 'f' && st.size < 1 << 20) e.sha = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    out.set(rel || '.', e);
    if (type === 'd') for (const n of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

/** Asserts two sysroots are equal, listing the first differing paths. */
export function assertSameTree(a: string, b: string, exclude: RegExp[] = []): void {
  const sa = snapshot(a, exclude);
  const sb = snapshot(b, exclude);
  const diffs: string[] = [];
  for (const [k, v] of sa) {
    const w = sb.get(k);
    if (!w) diffs.push(`only in arbor: ${k}`);
    else if (JSON.stringify(v) !== JSON.stringify(w)) diffs.push(`differs: ${k}: arbor ${JSON.stringify(v)} ostree ${JSON.stringify(w)}`);
  }
  for (const k of sb.keys()) if (!sa.has(k)) diffs.push(`only in ostree: ${k}`);
  assert.deepEqual(diffs.slice(0, 20), [], `${diffs.length} differences between ${a} and ${b}`);
}

export function read(p: string): string {
  return fs.readFileSync(p, 'utf8');
}

/** The entries directory's files as name → text. */
export function entries(sysroot: string): Record<string, string> {
  const dir = `${sysroot}/boot/loader/entries`;
  return Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, read(`${dir}/${n}`)]));
}

export function refs(sysroot: string, prefix = 'ostree'): string[] {
  return ostree([`--repo=${sysroot}/ostree/repo`, 'refs', prefix]).stdout.split('\n').filter(Boolean).sort();
}
