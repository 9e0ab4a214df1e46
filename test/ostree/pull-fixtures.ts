// Fixtures for the pull suites: trees and archive repos made by the real `ostree`,
// object-set snapshots of repos, and temp dirs that the enclosing suite removes.
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { Checksum } from '../../src/ostree/checksum';
import { fsck } from '../../src/ostree/fsck';
import { Repo, RepoMode } from '../../src/ostree/repo';
import { addRemote } from '../../src/ostree/remotes';
import { ostree, run } from '../helpers';

export { tempDirs } from '../helpers';

/** Deterministic pseudo-random bytes (xorshift32): incompressible like real binaries. */
export function pseudoRandom(n: number, seed = 0x9e3779b9): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * A tree of `files` small text files spread over nested directories, plus a symlink,
 * an empty file, an executable, a file with a user xattr and one incompressible blob.
 */
export function makeTree(dir: string, files = 60, blobSize = 96 * 1024): string {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++) {
    const d = path.join(dir, `d${i % 7}`, `s${i % 3}`);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `f${i}.txt`), `file ${i}\n`.repeat(1 + (i % 13)));
  }
  fs.mkdirSync(`${dir}/usr/bin`, { recursive: true });
  fs.writeFileSync(`${dir}/usr/bin/tool`, '#!/bin/sh\necho tool\n', { mode: 0o755 });
  fs.chmodSync(`${dir}/usr/bin/tool`, 0o755);
  fs.writeFileSync(`${dir}/empty`, '');
  fs.symlinkSync('usr/bin/tool', `${dir}/link`);
  fs.writeFileSync(`${dir}/blob.bin`, pseudoRandom(blobSize));
  fs.writeFileSync(`${dir}/xattr.txt`, 'with xattr\n');
  run('setfattr', ['-n', 'user.test', '-v', 'xyz', `${dir}/xattr.txt`]);
  return dir;
}

export function initOstreeRepo(dir: string, mode: RepoMode | 'archive' = 'archive'): string {
  ostree(['init', `--repo=${dir}`, `--mode=${mode}`]);
  return dir;
}

/** `ostree commit` with fixed ownership and time, so runs are reproducible. */
export function ostreeCommit(repo: string, tree: string, branch: string, extra: string[] = []): Checksum {
  const r = ostree([
    'commit', `--repo=${repo}`, '-b', branch, '--owner-uid=0', '--owner-gid=0', '--timestamp=2024-01-01T00:00:00Z',
    '-s', `commit of ${path.basename(tree)}`, ...extra, tree,
  ]);
  return r.stdout.trim() as Checksum;
}

export function updateSummary(repo: string): void {
  ostree(['summary', '-u', `--repo=${repo}`]);
}

/** Every object of a repo as `<checksum>.<kind>`, content objects as `.file` whatever the mode. */
export function objectSet(repoPath: string): Set<string> {
  const out = new Set<string>();
  const objs = `${repoPath}/objects`;
  if (!fs.existsSync(objs)) return out;
  for (const d of fs.readdirSync(objs)) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const f of fs.readdirSync(`${objs}/${d}`)) {
      const [rest, ext] = f.split('.');
      out.add(`${d}${rest}.${ext === 'filez' ? 'file' : ext}`);
    }
  }
  return out;
}

/** An Arbor repo with a remote named `origin` (no GPG: Arbor cannot check it). */
export function arborRepoWithRemote(dir: string, mode: RepoMode, url: string, extra: Array<[string, string]> = []): Repo {
  const repo = Repo.init(dir, mode);
  addRemote(repo, 'origin', url, { gpgVerify: false, set: extra });
  return repo;
}

/** Files left in the repo's tmp/ that are neither the summary cache nor empty dirs. */
export function leftovers(repoPath: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === 'cache') continue;
      if (e.isDirectory()) walk(`${d}/${e.name}`, r);
      else out.push(r);
    }
  };
  if (fs.existsSync(`${repoPath}/tmp`)) walk(`${repoPath}/tmp`, '');
  return out;
}

/** Both fscks accept the repo, every stored object has its right content, and tmp/ is clean. */
export async function assertHealthy(repoPath: string): Promise<void> {
  ostree(['fsck', `--repo=${repoPath}`]);
  const r = await fsck(Repo.open(repoPath));
  assert.deepEqual(r.errors, [], 'every stored object has its right content');
  assert.deepEqual(leftovers(repoPath), [], 'nothing left in tmp/');
}
