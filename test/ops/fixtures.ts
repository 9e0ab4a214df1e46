// Fixtures for the client use cases: a fake OS whose trees carry real rpmdbs
// (written from headers of small RPMs built by rpmbuild), committed by the real
// `ostree` into an archive repo that a test HTTP server serves, and sysroots
// deployed from it.
import fs from 'node:fs';
import path from 'node:path';
import { readRpm } from '../../src/rpm/package';
import { TREE_RPMDB_DIR, writeRpmdb } from '../../src/rpm/rpmdb';
import { addRemote } from '../../src/ostree/remotes';
import { pullRefs } from '../../src/ostree/pull';
import { Repo } from '../../src/ostree/repo';
import { Sysroot, deploy, initFs, osInit } from '../../src/sysroot';
import { PackageSpec, buildRpm, generatedContent } from '../fixtures/rpmbuild';
import { pseudoRandom } from '../ostree/pull-fixtures';
import { ostree } from '../helpers';
import { makeOsTree } from '../sysroot/support';

/** A package with one data file under /usr/share/<name>/ (random bytes: they do not compress). */
export function pkg(name: string, version: string, size = 4096, seed = 1): PackageSpec {
  return {
    name, version, release: '1', compression: 'gzip',
    files: [{ path: `/usr/share/${name}/data`, content: pseudoRandom(size, seed + version.length * 7919 + name.length) }],
  };
}

/** A bootable tree holding the packages' files and an rpmdb listing them. */
export async function makePackagedTree(dir: string, version: string, specs: PackageSpec[]): Promise<string> {
  makeOsTree(dir, { version });
  const headers = [];
  for (const spec of specs) {
    const rpm = await readRpm(await buildRpm(spec));
    headers.push({ header: rpm.header, signature: rpm.signature });
    for (const f of spec.files ?? []) {
      const p = path.join(dir, f.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, f.content ?? generatedContent(`${spec.name}:${f.path}`, f.size ?? 0));
    }
  }
  writeRpmdb(path.join(dir, TREE_RPMDB_DIR), headers, { installTime: 1700000000 });
  return dir;
}

/** `a(sssss)` text for `ostree commit --add-metadata`. */
export function pkglistArg(specs: PackageSpec[]): string {
  const items = [...specs].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => `('${s.name}', '${s.epoch ?? 0}', '${s.version}', '${s.release ?? '1'}', '${s.arch ?? 'noarch'}')`);
  return `rpmostree.rpmdb.pkglist=@a(sssss) [${items.join(', ')}]`;
}

export interface CommitSpec {
  version: string;
  /** ISO time of the commit. */
  time: string;
  pkglist?: PackageSpec[];
  sizes?: boolean;
}

export function commitServer(repo: string, tree: string, branch: string, c: CommitSpec): string {
  const args = [
    `--repo=${repo}`, 'commit', '-b', branch, `--tree=dir=${tree}`, '--owner-uid=0', '--owner-gid=0', '-s', `${branch} ${c.version}`,
    `--add-metadata-string=version=${c.version}`, `--timestamp=${c.time}`,
  ];
  if (c.sizes) args.push('--generate-sizes');
  if (c.pkglist) args.push(`--add-metadata=${pkglistArg(c.pkglist)}`);
  const out = ostree(args).stdout.trim();
  ostree([`--repo=${repo}`, 'summary', '-u']);
  return out;
}

/** A fresh sysroot with remote `origin` at url, deployed from `origin:<ref>`; returns it with that deployment booted. */
export async function deployedSysroot(dir: string, url: string, ref: string): Promise<{ sysroot: Sysroot; booted: string }> {
  initFs(dir);
  osInit(dir, 'testos');
  const repo = Repo.open(`${dir}/ostree/repo`);
  addRemote(repo, 'origin', url, { gpgVerify: false });
  await pullRefs(repo, 'origin', [ref]);
  const r = await deploy(Sysroot.load(dir), { osname: 'testos', revision: `origin:${ref}`, kargs: { append: ['quiet'] } });
  const booted = `testos:${r.deployment.csum}.${r.deployment.deployserial}`;
  return { sysroot: Sysroot.load(dir, { booted }), booted };
}
