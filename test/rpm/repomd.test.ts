// Loading rpm-md repositories: createrepo_c's output for real RPMs (built with rpmbuild,
// cached by content hash) and the synthetic generator's must load to the same fields;
// dnf must accept the synthetic repos; every checksum is verified; the parsed-form
// cache is keyed by checksum and never trusted blindly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { ArborError } from '../../src/common/errors';
import { ProgressEvent } from '../../src/common/progress';
import { decodePackages, encodePackages } from '../../src/rpm/md-cache';
import { PrimaryParser } from '../../src/rpm/primary';
import { loadRepo, parseRepomd } from '../../src/rpm/repomd';
import { PackageMeta } from '../../src/rpm/types';
import { dep, makePackage, writeSyntheticRepo } from '../fixtures/synthetic-repo';
import { ROOT, run, tmpdir } from '../helpers';

const SPECS: Record<string, string> = {
  hello: `Name: hello
Epoch: 1
Version: 1.2~rc1
Release: 3.fc40
Summary: Says hello & <waves>
License: MIT AND (GPL-2.0-or-later OR BSD-3-Clause)
AutoReqProv: no
Provides: greeter = 2.0
Provides: hello-virtual
Requires: world >= 0.5
Requires(pre): /bin/sh
Requires: /usr/share/world/data
Conflicts: oldhello < 1.0-1
Obsoletes: hello-legacy <= 1:0.9
Recommends: cheese
Suggests: (wine or beer)
Supplements: (hello-lang and langpacks)
Enhances: world
%description
Says hello.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/hello %{buildroot}/etc
echo '#!/bin/sh' > %{buildroot}/usr/bin/hello
echo data > %{buildroot}/usr/share/hello/data
echo conf > %{buildroot}/etc/hello.conf
%files
/usr/bin/hello
%dir /usr/share/hello
/usr/share/hello/data
%config(noreplace) /etc/hello.conf
`,
  world: `Name: world
Version: 0.7
Release: 1
Summary: The world
License: GPL-2.0-or-later
BuildArch: noarch
AutoReqProv: no
%description
The world.
%install
mkdir -p %{buildroot}/usr/share/world %{buildroot}/usr/sbin
echo data > %{buildroot}/usr/share/world/data
echo x > %{buildroot}/usr/sbin/worldd
%files
/usr/share/world/data
/usr/sbin/worldd
`,
};

/** Builds the SPECS with rpmbuild once per content hash; returns the directory of RPMs. */
function builtRpms(): string {
  const hash = createHash('sha256').update(JSON.stringify(SPECS)).update(run('rpmbuild', ['--version']).stdout).digest('hex').slice(0, 16);
  const dir = path.join(ROOT, '.cache', 'rpm-md', `rpms-${hash}`);
  if (fs.existsSync(dir)) return dir;
  const top = tmpdir('arbor-rpmbuild-');
  try {
    const out = path.join(top, 'out');
    fs.mkdirSync(out);
    for (const [name, spec] of Object.entries(SPECS)) {
      const file = path.join(top, `${name}.spec`);
      fs.writeFileSync(file, spec);
      run('rpmbuild', ['-bb', '--define', `_topdir ${top}`, '--define', '_binary_payload w19.zstdio', '--define', '_build_id_links none',
        '--define', `_dbpath ${top}/rpmdb`, '--define', '__os_install_post %{nil}', '--define', `_rpmdir ${out}`,
        '--define', '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm', file], { env: { ...process.env, HOME: top } });
    }
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(out, dir);
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
  return dir;
}

/** A directory with copies of the built RPMs and createrepo_c's metadata for them. */
function createrepo(dir: string, extra: string[] = []): string {
  fs.cpSync(builtRpms(), dir, { recursive: true });
  run('createrepo_c', ['-q', '--no-database', ...extra, dir]);
  return dir;
}

async function rejects(p: Promise<unknown>, code: string, ...mentions: string[]): Promise<ArborError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ArborError, `expected an ArborError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const m of mentions) assert.ok(err.message.includes(m), `'${err.message}' mentions '${m}'`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** Serves a directory over HTTP on 127.0.0.1, counting requests. */
async function serve(dir: string): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = path.join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

function dnfResolve(repo: string, pkgs: string[]): string[] {
  const root = tmpdir('arbor-dnf-');
  try {
    const r = run('dnf', ['--installroot', root, '--releasever=1', `--repofrompath=local,file://${repo}`, '--repo=local', '--nogpgcheck',
      '--setopt=reposdir=/dev/null', '--setopt=cachedir=' + path.join(root, 'cache'), '--assumeno', 'install', ...pkgs],
    { allowFail: true, env: { ...process.env, HOME: root } });
    assert.match(r.stdout, /Dependencies resolved/, r.stdout + r.stderr);
    // Rows of the transaction table: " name  arch  version  repo  size".
    return [...r.stdout.matchAll(/^ (\S+)\s+(x86_64|noarch|i686)\s+(\S+)\s+local\s/gm)].map((m) => `${m[1]}-${m[3]}.${m[2]}`).sort();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

describe('rpm-md repositories (loadRepo)', function () {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = tmpdir('arbor-repomd-');
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  describe("createrepo_c's output for real RPMs", function () {
    let repo: string;
    let pkgs: PackageMeta[];
    let hello: PackageMeta;
    let world: PackageMeta;
    before(async function () {
      repo = createrepo(tmp());
      pkgs = (await loadRepo({ id: 'real', baseurl: repo })).packages;
      hello = pkgs.find((p) => p.name === 'hello')!;
      world = pkgs.find((p) => p.name === 'world')!;
    });

    it('reads name, epoch, version, release, arch and the descriptive fields', function () {
      assert.equal(pkgs.length, 2);
      assert.deepEqual([hello.epoch, hello.version, hello.release, hello.arch], [1, '1.2~rc1', '3.fc40', 'x86_64']);
      assert.deepEqual([world.epoch, world.version, world.release, world.arch], [0, '0.7', '1', 'noarch']);
      assert.equal(hello.summary, 'Says hello & <waves>');
      assert.equal(hello.license, 'MIT AND (GPL-2.0-or-later OR BSD-3-Clause)');
      assert.equal(hello.sourcerpm, 'hello-1.2~rc1-3.fc40.src.rpm');
      assert.equal(hello.repo, 'real');
      const rpmTime = Number(run('rpm', ['--dbpath', path.join(repo, '.db'), '-qp', '--qf', '%{BUILDTIME}', path.join(repo, 'hello-1.2~rc1-3.fc40.x86_64.rpm')]).stdout);
      assert.equal(hello.buildtime, rpmTime);
    });

    it('reads location, checksum and size that match the package file', function () {
      for (const p of pkgs) {
        const file = path.join(repo, p.location!);
        const bytes = fs.readFileSync(file);
        assert.equal(p.checksum?.type, 'sha256');
        assert.equal(p.checksum?.value, createHash('sha256').update(bytes).digest('hex'));
        assert.equal(p.packageSize, bytes.length);
        assert.ok(p.installedSize! > 0);
      }
    });

    it('reads versioned and unversioned dependencies of every kind, with pre', function () {
      assert.deepEqual(hello.provides.find((d) => d.name === 'greeter'), { name: 'greeter', op: 'EQ', evr: { epoch: 0, version: '2.0', release: '' } });
      assert.deepEqual(hello.provides.find((d) => d.name === 'hello'), { name: 'hello', op: 'EQ', evr: { epoch: 1, version: '1.2~rc1', release: '3.fc40' } });
      assert.deepEqual(hello.requires.find((d) => d.name === 'world'), { name: 'world', op: 'GE', evr: { epoch: 0, version: '0.5', release: '' } });
      assert.deepEqual(hello.requires.find((d) => d.name === '/bin/sh'), { name: '/bin/sh', pre: true });
      assert.deepEqual(hello.conflicts, [{ name: 'oldhello', op: 'LT', evr: { epoch: 0, version: '1.0', release: '1' } }]);
      assert.deepEqual(hello.obsoletes, [{ name: 'hello-legacy', op: 'LE', evr: { epoch: 1, version: '0.9', release: '' } }]);
      assert.deepEqual(hello.recommends, [{ name: 'cheese' }]);
      assert.deepEqual(hello.suggests, [{ name: '(wine or beer)' }]);
      assert.deepEqual(hello.supplements, [{ name: '(hello-lang and langpacks)' }]);
      assert.deepEqual(hello.enhances, [{ name: 'world' }]);
    });

    it("keeps primary's file subset, and every file with filelists: true", async function () {
      assert.deepEqual(hello.files.sort(), ['/etc/hello.conf', '/usr/bin/hello']);
      assert.deepEqual(world.files, ['/usr/sbin/worldd']);
      const full = (await loadRepo({ id: 'real', baseurl: repo }, { filelists: true })).packages;
      assert.deepEqual(full.find((p) => p.name === 'hello')!.files.sort(), ['/etc/hello.conf', '/usr/bin/hello', '/usr/share/hello', '/usr/share/hello/data']);
      assert.deepEqual(full.find((p) => p.name === 'world')!.files.sort(), ['/usr/sbin/worldd', '/usr/share/world/data']);
    });

    it('loads the same packages from xz-compressed createrepo_c metadata', async function () {
      // createrepo_c 0.17 cannot write zstd; the synthetic repos below cover zst.
      const other = createrepo(tmp(), ['--general-compress-type=xz']);
      assert.match(fs.readFileSync(path.join(other, 'repodata/repomd.xml'), 'utf8'), /primary\.xml\.xz"/);
      const got = (await loadRepo({ id: 'real', baseurl: other }, { filelists: true })).packages;
      const want = (await loadRepo({ id: 'real', baseurl: repo }, { filelists: true })).packages;
      assert.deepEqual(got, want);
    });

    it('the synthetic generator writes metadata that loads to exactly the same fields', async function () {
      for (const filelists of [false, true]) {
        const full = (await loadRepo({ id: 'real', baseurl: repo }, { filelists: true })).packages;
        const synth = tmp();
        writeSyntheticRepo(synth, full, { compress: 'gz' });
        const fromReal = (await loadRepo({ id: 'real', baseurl: repo }, { filelists })).packages;
        const fromSynth = (await loadRepo({ id: 'real', baseurl: synth }, { filelists })).packages;
        assert.deepEqual(fromSynth, fromReal);
      }
    });

    it('loads over http:// the same as from a directory, and file:// the same too', async function () {
      const server = await serve(repo);
      try {
        const viaHttp = await loadRepo({ id: 'real', baseurl: server.url }, { filelists: true });
        const viaFile = await loadRepo({ id: 'real', baseurl: `file://${repo}` }, { filelists: true });
        const viaDir = await loadRepo({ id: 'real', baseurl: repo }, { filelists: true });
        assert.deepEqual(viaHttp.packages, viaDir.packages);
        assert.deepEqual(viaFile.packages, viaDir.packages);
        assert.ok(server.requests.includes('/repodata/repomd.xml'));
        assert.ok(viaHttp.revision && /^\d+$/.test(viaHttp.revision));
      } finally {
        await server.close();
      }
    });
  });

  describe('synthetic repositories', function () {
    const POOL = [
      { name: 'app', version: '2.0', requires: [dep('libfoo >= 1.1'), dep('/usr/bin/tool')] },
      { name: 'libfoo', version: '1.0' },
      { name: 'libfoo', version: '1.2', release: '3' },
      { name: 'libfoo', version: '1.3~beta', release: '1' },
      { name: 'libfoo', version: '1.1~rc1', release: '9' },
      { name: 'tools', epoch: 2, files: ['/usr/bin/tool', '/usr/share/tools/x'] },
      { name: 'other', arch: 'noarch', requires: [dep('/usr/share/tools/x'), dep('(app or tools)')] },
      { name: 'unrelated' },
    ];

    it('dnf resolves them from metadata alone, for gz, xz and zst', function () {
      for (const compress of ['gz', 'xz', 'zst'] as const) {
        const dir = tmp();
        writeSyntheticRepo(dir, POOL, { compress });
        assert.deepEqual(dnfResolve(dir, ['app', 'other']), ['app-2.0-1.x86_64', 'libfoo-1.3~beta-1.x86_64', 'other-1.0-1.noarch', 'tools-2:1.0-1.x86_64'], compress);
      }
    });

    it('gz, xz and zst metadata load to the same packages', async function () {
      const loads = [];
      for (const compress of ['gz', 'xz', 'zst'] as const) {
        const dir = tmp();
        writeSyntheticRepo(dir, POOL, { compress });
        loads.push((await loadRepo({ id: 's', baseurl: dir }, { filelists: true })).packages);
      }
      assert.equal(loads[0].length, POOL.length);
      assert.deepEqual(loads[1], loads[0]);
      assert.deepEqual(loads[2], loads[0]);
      const tools = loads[0].find((p) => p.name === 'tools')!;
      assert.deepEqual(tools.files, ['/usr/bin/tool', '/usr/share/tools/x']);
    });

    it('reports progress and honours an AbortSignal', async function () {
      const dir = tmp();
      writeSyntheticRepo(dir, Array.from({ length: 2500 }, (_, i) => ({ name: `p${i}` })));
      const events: ProgressEvent[] = [];
      const r = await loadRepo({ id: 's', baseurl: dir }, { progress: (e) => events.push(e) });
      assert.equal(r.packages.length, 2500);
      assert.deepEqual(events.map((e) => e.done), [1000, 2000, 2500]);
      assert.ok(events.every((e) => e.phase === 'metadata'));
      const ac = new AbortController();
      ac.abort();
      await rejects(loadRepo({ id: 's', baseurl: dir }, { signal: ac.signal }), 'Cancelled');
    });
  });

  describe('primary.xml details', function () {
    it('resolves a <location xml:base> to an absolute package URL', function () {
      const p = new PrimaryParser({ source: 'test' });
      p.write(Buffer.from(`<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
        <package type="rpm"><name>a</name><arch>noarch</arch><version epoch="" ver="1" rel="1"/>
        <location xml:base="http://mirror.example/os" href="Packages/a.rpm"/></package></metadata>`));
      const [a] = p.end();
      assert.equal(a.location, 'http://mirror.example/os/Packages/a.rpm');
      assert.equal(a.epoch, 0);
    });

    it('parses a document fed one byte at a time, multi-byte characters split across writes', function () {
      const xml = Buffer.from('<metadata><package type="rpm"><name>ü</name><arch>x86_64</arch><version ver="1" rel="1"/><summary>Grüße ✓</summary></package></metadata>');
      const p = new PrimaryParser({ source: 'test' });
      for (let i = 0; i < xml.length; i++) p.write(xml.subarray(i, i + 1));
      const [pkg] = p.end();
      assert.deepEqual([pkg.name, pkg.summary], ['ü', 'Grüße ✓']);
    });
  });

  describe('verification and errors', function () {
    let good: string;
    before(function () {
      good = tmp();
      writeSyntheticRepo(good, [{ name: 'a' }, { name: 'b', requires: [dep('a')] }]);
    });
    const copy = (): string => {
      const d = tmp();
      fs.cpSync(good, d, { recursive: true });
      return d;
    };
    const primaryOf = (dir: string): string => {
      const href = /href="(repodata\/[^"]+-primary[^"]+)"/.exec(fs.readFileSync(path.join(dir, 'repodata/repomd.xml'), 'utf8'))![1];
      return path.join(dir, href);
    };

    it('a missing repomd.xml is NotFound naming the repo and URL', async function () {
      const d = tmp();
      await rejects(loadRepo({ id: 'empty', baseurl: d }), 'NotFound', "repo 'empty'", 'repodata/repomd.xml');
    });

    it('a 404 over http is NotFound naming the repo and URL', async function () {
      const server = await serve(tmp());
      try {
        await rejects(loadRepo({ id: 'web', baseurl: server.url }), 'NotFound', "repo 'web'", `${server.url}repodata/repomd.xml`, '404');
      } finally {
        await server.close();
      }
    });

    it('a primary whose checksum does not match repomd.xml is Corrupted, and nothing is cached', async function () {
      const d = copy();
      const file = primaryOf(d);
      // Same length, still valid gzip of the same XML (only the gzip mtime differs),
      // but not the bytes repomd.xml vouches for.
      const bytes = fs.readFileSync(file);
      bytes[4] ^= 0xff;
      fs.writeFileSync(file, bytes);
      const cacheDir = path.join(d, 'cache');
      await rejects(loadRepo({ id: 'bad', baseurl: d }, { cacheDir }), 'Corrupted', "repo 'bad'", 'checksum', path.basename(file));
      assert.deepEqual(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : [], []);
    });

    it('a primary with other content (and size) than repomd.xml lists is Corrupted', async function () {
      const d = copy();
      const file = primaryOf(d);
      const xml = zlib.gunzipSync(fs.readFileSync(file)).toString().replace('<name>b</name>', '<name>evil-and-longer</name>');
      fs.writeFileSync(file, zlib.gzipSync(xml, { level: 0 }));
      await rejects(loadRepo({ id: 'bad', baseurl: d }), 'Corrupted', "repo 'bad'", 'repomd.xml', path.basename(file));
    });

    it('a truncated primary is Corrupted', async function () {
      const d = copy();
      const file = primaryOf(d);
      fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 100));
      await rejects(loadRepo({ id: 'bad', baseurl: d }), 'Corrupted', "repo 'bad'", 'primary');
    });

    it('a primary listed in repomd.xml but missing is NotFound', async function () {
      const d = copy();
      fs.rmSync(primaryOf(d));
      await rejects(loadRepo({ id: 'gone', baseurl: d }), 'NotFound', "repo 'gone'", 'primary');
    });

    it('a damaged repomd.xml is Corrupted with its location', async function () {
      const d = copy();
      fs.writeFileSync(path.join(d, 'repodata/repomd.xml'), '<repomd><data type="primary"><location href="x"/></data>');
      await rejects(loadRepo({ id: 'r', baseurl: d }), 'Corrupted', "repo 'r'", 'repomd.xml');
      assert.throws(() => parseRepomd('<repomd><data type="primary"><location href="x"/></data></repomd>', 'test'), /no <checksum>/);
    });

    it('filelists that repomd.xml does not list are Corrupted only when asked for', async function () {
      const d = tmp();
      writeSyntheticRepo(d, [{ name: 'a' }], { filelists: false });
      assert.equal((await loadRepo({ id: 'nofl', baseurl: d })).packages.length, 1);
      await rejects(loadRepo({ id: 'nofl', baseurl: d }, { filelists: true }), 'Corrupted', "repo 'nofl'", 'filelists');
    });

    it('an unsupported URL scheme is refused clearly', async function () {
      await rejects(loadRepo({ id: 'ftp', baseurl: 'ftp://example.com/repo' }), 'Unsupported', 'ftp://');
    });
  });

  describe('the parsed-metadata cache', function () {
    it('serves a second load without reading primary, keyed by its checksum', async function () {
      const d = tmp();
      const cacheDir = path.join(d, 'cache');
      writeSyntheticRepo(d, [{ name: 'a', files: ['/usr/bin/a'] }, { name: 'b', requires: [dep('a >= 1')] }]);
      const first = await loadRepo({ id: 'c', baseurl: d }, { cacheDir });
      assert.deepEqual(fs.readdirSync(cacheDir), [`primary-${first.primaryChecksum}.mdc`]);
      for (const f of fs.readdirSync(path.join(d, 'repodata'))) if (f.includes('primary')) fs.rmSync(path.join(d, 'repodata', f));
      const second = await loadRepo({ id: 'other-id', baseurl: d }, { cacheDir });
      assert.deepEqual(second.packages.map((p) => ({ ...p, repo: 'c' })), first.packages);
      assert.ok(second.packages.every((p) => p.repo === 'other-id'));
    });

    it('uses a separate entry for primary + filelists', async function () {
      const d = tmp();
      const cacheDir = path.join(d, 'cache');
      writeSyntheticRepo(d, [{ name: 'a', files: ['/usr/bin/a', '/usr/share/a/x'] }]);
      const slim = await loadRepo({ id: 'c', baseurl: d }, { cacheDir });
      const full = await loadRepo({ id: 'c', baseurl: d }, { cacheDir, filelists: true });
      assert.deepEqual(slim.packages[0].files, ['/usr/bin/a']);
      assert.deepEqual(full.packages[0].files, ['/usr/bin/a', '/usr/share/a/x']);
      assert.equal(fs.readdirSync(cacheDir).length, 2);
      const again = await loadRepo({ id: 'c', baseurl: d }, { cacheDir, filelists: true });
      assert.deepEqual(again.packages, full.packages);
    });

    it('round-trips every field, including sizes above 4 GiB, absent fields and non-ASCII text', function () {
      const pkgs: PackageMeta[] = [
        { ...makePackage({ name: 'big', summary: 'Grüße ✓', installedSize: 6 * 2 ** 30, packageSize: 2 ** 32 - 1, buildtime: 0 }),
          requires: [{ name: 'a', op: 'GE', evr: { epoch: 3, version: '1~rc', release: '' }, pre: true }, { name: '(x or y)' }, { name: 'b', pre: true }] },
        { name: 'bare', arch: 'noarch', epoch: 0, version: '1', release: '', provides: [], requires: [], conflicts: [], obsoletes: [],
          recommends: [], suggests: [], supplements: [], enhances: [], files: [] },
      ];
      assert.deepEqual(decodePackages(encodePackages(pkgs)), pkgs);
    });

    it('treats a damaged cache file as a miss: reparses and rewrites it', async function () {
      const d = tmp();
      const cacheDir = path.join(d, 'cache');
      writeSyntheticRepo(d, [{ name: 'a' }, { name: 'b' }]);
      const first = await loadRepo({ id: 'c', baseurl: d }, { cacheDir });
      const file = path.join(cacheDir, fs.readdirSync(cacheDir)[0]);
      const good = fs.readFileSync(file);
      const flipped = Buffer.from(good);
      flipped[flipped.length - 3] ^= 1; // same length, decodable, wrong: only the CRC can tell
      for (const damaged of [good.subarray(0, good.length - 4), Buffer.from('garbage'), Buffer.concat([good, Buffer.from('x')]), flipped]) {
        fs.writeFileSync(file, damaged);
        const again = await loadRepo({ id: 'c', baseurl: d }, { cacheDir });
        assert.deepEqual(again.packages, first.packages);
        assert.deepEqual(fs.readFileSync(file), good);
      }
    });
  });
});
