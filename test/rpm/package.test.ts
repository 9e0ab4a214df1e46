// Reading RPM files, checked against rpm itself (`rpm -qp --qf`) on packages built by
// rpmbuild: every tag a composer needs, digests, and clean errors for damaged files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../../src/common/errors';
import { readRpm, RpmPackage, DEP_KINDS } from '../../src/rpm/package';
import { TAG } from '../../src/rpm/tags';
import zlib from 'node:zlib';
import { PackageSpec, buildRepo, buildRpm, standardFixtures } from '../fixtures/rpmbuild';
import { run, tmpdir } from '../helpers';

let DB = '';
/** rpm -qp with a query format; --dbpath keeps Debian's rpm out of ~/.rpmdb. */
function qf(file: string, fmt: string): string {
  return run('rpm', ['-qp', '--dbpath', DB, '--nosignature', '--nodigest', '--qf', fmt, file], { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } }).stdout;
}
function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

const DEP_TAG: Record<string, string> = {
  provides: 'PROVIDE', requires: 'REQUIRE', conflicts: 'CONFLICT', obsoletes: 'OBSOLETE',
  recommends: 'RECOMMEND', suggests: 'SUGGEST', supplements: 'SUPPLEMENT', enhances: 'ENHANCE',
};

describe('rpm package reading', function () {
  const specs = standardFixtures();
  const files: Record<string, string> = {};
  const pkgs: Record<string, RpmPackage> = {};
  let tmp: string;

  before(async function () {
    this.timeout(300000);
    for (const [k, s] of Object.entries(specs)) files[k] = await buildRpm(s);
    for (const [k, f] of Object.entries(files)) pkgs[k] = await readRpm(f);
    tmp = tmpdir();
    DB = tmpdir('arbor-rpmdb-');
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(DB, { recursive: true, force: true });
  });

  it('reads name, epoch, version, release, arch, summary, license and sizes as rpm does', () => {
    for (const [k, f] of Object.entries(files)) {
      const m = pkgs[k].meta();
      const want = qf(f, '%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}|%{SUMMARY}|%{LICENSE}|%{LONGSIZE}|%{SOURCERPM}|%{BUILDTIME}');
      const got = [m.name, m.epoch, m.version, m.release, m.arch, m.summary, m.license, m.installedSize, m.sourcerpm, m.buildtime].join('|');
      assert.equal(got, want, k);
      assert.equal(m.packageSize, fs.statSync(f).size);
    }
    assert.equal(pkgs.base.meta().epoch, 1);
    assert.equal(pkgs.busybox.meta().arch, 'x86_64');
  });

  it('reads dependencies of every kind with their flags and versions', () => {
    for (const [k, f] of Object.entries(files)) {
      for (const kind of DEP_KINDS) {
        const t = DEP_TAG[kind];
        const want = lines(qf(f, `[%{${t}NAME}|%{${t}FLAGS}|%{${t}VERSION}\n]`));
        // The raw header arrays, rpmlib() requires included, in header order.
        const h = pkgs[k].header;
        const names = h.getStrings((TAG as Record<string, number>)[`${t}NAME`]) ?? [];
        const flags = h.getNumbers((TAG as Record<string, number>)[`${t}FLAGS`]) ?? [];
        const vers = h.getStrings((TAG as Record<string, number>)[`${t}VERSION`]) ?? [];
        assert.deepEqual(names.map((n, i) => `${n}|${flags[i]}|${vers[i]}`), want, `${k} ${kind}`);
      }
    }
    const m = pkgs.base.meta();
    assert.deepEqual(m.conflicts, [{ name: 'arbor-old', op: 'LT', evr: { epoch: 0, version: '1.0', release: '' } }]);
    assert.deepEqual(m.obsoletes, [{ name: 'arbor-legacy', op: 'LE', evr: { epoch: 0, version: '0.9', release: '' } }]);
    assert.deepEqual(m.recommends, [{ name: 'arbor-docs' }]);
    assert.deepEqual(m.suggests, [{ name: 'arbor-extra', op: 'GT', evr: { epoch: 0, version: '1', release: '' } }]);
    assert.deepEqual(m.supplements, [{ name: '(arbor-lib and arbor-tools)' }]);
    assert.deepEqual(m.enhances, [{ name: 'arbor-tools' }]);
    assert.ok(m.provides.some((d) => d.name === 'arbor-base' && d.op === 'EQ' && d.evr?.epoch === 1 && d.evr.version === '2.1' && d.evr.release === '3.fc40'));
    assert.ok(m.requires.some((d) => d.name === '(arbor-tools or arbor-extra)'));
    assert.ok(m.requires.some((d) => d.name === 'arbor-lib' && d.op === 'GE' && d.evr?.version === '1.0'));
  });

  it('gives the dependencies createrepo_c writes to primary.xml, for every kind', async function () {
    this.timeout(120000);
    const repo = await buildRepo(Object.values(specs));
    const primary = zlib.gunzipSync(fs.readFileSync(path.join(repo, 'repodata', fs.readdirSync(path.join(repo, 'repodata')).find((f) => f.endsWith('primary.xml.gz')) as string))).toString();
    const attr = (s: string, a: string): string | undefined => new RegExp(`\\b${a}="([^"]*)"`).exec(s)?.[1];
    const unxml = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    for (const pkgXml of primary.split('<package ').slice(1)) {
      const name = /<name>([^<]*)<\/name>/.exec(pkgXml)?.[1] as string;
      const pkg = Object.values(pkgs).find((p) => p.meta().name === name) as RpmPackage;
      const m = pkg.meta();
      for (const kind of DEP_KINDS) {
        const block = new RegExp(`<rpm:${kind}>([\\s\\S]*?)</rpm:${kind}>`).exec(pkgXml)?.[1] ?? '';
        const want = [...block.matchAll(/<rpm:entry [^>]*\/>/g)].map(([e]) => {
          const flags = attr(e, 'flags');
          const evr = flags ? `${attr(e, 'epoch') ?? 0}:${unxml(attr(e, 'ver') ?? '')}-${attr(e, 'rel') ?? ''}` : '';
          return `${unxml(attr(e, 'name') as string)}|${flags ?? ''}|${evr}|${attr(e, 'pre') === '1'}`;
        });
        const got = m[kind].map((d) => `${d.name}|${d.op ?? ''}|${d.evr ? `${d.evr.epoch}:${d.evr.version}-${d.evr.release}` : ''}|${!!d.pre}`);
        assert.deepEqual(got, want, `${name} ${kind}`);
      }
    }
  });

  it('marks Requires(pre) and leaves rpmlib() requires out of the shared model', () => {
    const m = pkgs.base.meta();
    assert.ok(m.requires.some((d) => d.name === 'busybox-sh' && d.pre), 'Requires(pre): busybox-sh');
    assert.ok(m.requires.some((d) => d.name === 'busybox-sh' && !d.pre), 'plain Requires: busybox-sh');
    assert.ok(!m.requires.some((d) => d.name.startsWith('rpmlib(')));
    assert.ok(pkgs.base.deps('requires', { keepRpmlib: true }).some((d) => d.name.startsWith('rpmlib(')));
    assert.deepEqual(pkgs.tools.meta().requires.find((d) => d.name === 'arbor-lib'), { name: 'arbor-lib', op: 'EQ', evr: { epoch: 0, version: '1.2', release: '1' } });
  });

  it('reads the file list: paths, modes, owners, sizes, digests, link targets, flags, inodes, mtimes', () => {
    for (const [k, f] of Object.entries(files)) {
      const want = lines(qf(f, '[%{FILENAMES}|%{FILEMODES}|%{FILEUSERNAME}|%{FILEGROUPNAME}|%{FILESIZES}|%{FILEDIGESTS}|%{FILELINKTOS}|%{FILEFLAGS}|%{FILEINODES}|%{FILEDEVICES}|%{FILEMTIMES}\n]'));
      const got = pkgs[k].files().map((x) => [x.path, x.mode, x.user, x.group, x.size, x.digest, x.linkTo, x.flags, x.inode, x.device, x.mtime].join('|'));
      assert.deepEqual(got, want, k);
      assert.deepEqual(pkgs[k].meta().files, lines(qf(f, '[%{FILENAMES}\n]')));
    }
    const byPath = new Map(pkgs.base.files().map((x) => [x.path, x]));
    const conf = byPath.get('/etc/arbor/base.conf');
    assert.ok(conf?.config && conf.noreplace && !conf.ghost);
    const replace = byPath.get('/etc/arbor/replace.conf');
    assert.ok(replace?.config && !replace.noreplace);
    assert.ok(byPath.get('/var/log/arbor.log')?.ghost);
    assert.ok(byPath.get('/usr/share/doc/arbor-base/README')?.doc);
    assert.equal(byPath.get('/usr/bin/arbor-hi')?.type, 'symlink');
    assert.equal(byPath.get('/usr/bin/arbor-hi')?.linkTo, 'arbor-hello');
    assert.equal(byPath.get('/usr/lib/arbor/sticky')?.mode, 0o41777);
    assert.equal(byPath.get('/usr/lib/arbor/suid')?.mode, 0o104755);
    assert.equal(byPath.get('/usr/share/arbor/owned-by-bin')?.user, 'bin');
    assert.equal(byPath.get('/usr/share/arbor/owned-by-bin')?.group, 'daemon');
    assert.ok(byPath.has('/usr/share/arbor/name with space'));
  });

  it('groups hardlinks into sets by device and inode', () => {
    const sets = pkgs.base.hardlinkSets().map((s) => s.map((i) => pkgs.base.files()[i].path));
    assert.deepEqual(sets, [['/usr/lib/arbor/one', '/usr/lib/arbor/three', '/usr/lib/arbor/two']]);
    const bb = pkgs.busybox.hardlinkSets().map((s) => s.map((i) => pkgs.busybox.files()[i].path));
    assert.deepEqual(bb, [['/bin/busybox', '/bin/sh']]);
  });

  it('reads the file digest algorithm', () => {
    assert.equal(qf(files.base, '%{FILEDIGESTALGO}'), String(pkgs.base.header.getNumber(TAG.FILEDIGESTALGO)));
    const hello = pkgs.base.files().find((x) => x.path === '/usr/bin/arbor-hello');
    assert.equal(hello?.digest.length, 64, 'sha256 file digests');
  });

  it('reads scriptlets with their interpreters', () => {
    const got = pkgs.base.scriptlets().map((s) => `${s.kind}|${s.prog.join(' ')}|${s.body}`);
    const want = lines(qf(files.base, '%|PRETRANS?{pretrans|%{PRETRANSPROG}|%{PRETRANS}\n}|%|PREIN?{prein|%{PREINPROG}|%{PREIN}\n}|%|POSTIN?{postin|%{POSTINPROG}|%{POSTIN}\n}|%|PREUN?{preun|%{PREUNPROG}|%{PREUN}\n}|%|POSTUN?{postun|%{POSTUNPROG}|%{POSTUN}\n}|%|POSTTRANS?{posttrans|%{POSTTRANSPROG}|%{POSTTRANS}\n}|'));
    assert.deepEqual(got, want);
    assert.deepEqual(got.map((g) => g.split('|')[0]), ['pretrans', 'prein', 'postin', 'preun', 'postun', 'posttrans']);
    assert.deepEqual(pkgs.lib.scriptlets().map((s) => [s.kind, s.prog, s.body]), [['postin', ['/sbin/ldconfig'], '']]);
    assert.deepEqual(pkgs.big.scriptlets(), []);
  });

  it('reads triggers with their conditions, interpreters and scripts', () => {
    const want = run('rpm', ['-qp', '--dbpath', DB, '--triggers', files.tools]).stdout;
    const got = pkgs.tools.triggers().map((t) => `${t.kind} scriptlet (using ${t.prog.join(' ')}) -- ${t.conditions.map((c) => (c.op ? `${c.name} ${{ GE: '>=', LE: '<=', EQ: '=', LT: '<', GT: '>' }[c.op]} ${c.evr?.version}` : c.name)).join(', ')}\n${t.body}\n`).join('');
    assert.equal(got, want);
    assert.deepEqual(pkgs.base.triggers(), []);
  });

  it('reads the payload format, compressor and flags', () => {
    const want: Record<string, string> = { base: 'zstd', lib: 'xz', tools: 'gzip', big: 'zstd', plain: 'none', bz: 'bzip2', busybox: 'zstd' };
    for (const [k, f] of Object.entries(files)) {
      const p = pkgs[k].payloadInfo();
      assert.equal(p.compressor, want[k], k);
      assert.equal(p.format, 'cpio');
      assert.equal(p.flags, qf(f, '%{PAYLOADFLAGS}').replace('(none)', ''));
      assert.equal(p.digest, qf(f, '%{PAYLOADDIGEST}'));
      assert.equal(p.digestAlgo, 'sha256');
      assert.equal(p.offset + p.size, fs.statSync(f).size);
    }
  });

  it('reads the changelog', () => {
    const want = lines(qf(files.base, '[%{CHANGELOGTIME}|%{CHANGELOGNAME}|%{CHANGELOGTEXT}\n]'));
    assert.deepEqual(pkgs.base.changelog().map((c) => `${c.time}|${c.author}|${c.text.split('\n')[0]}`), want.filter((l) => l.includes('|')));
    assert.equal(pkgs.base.changelog()[0].text, '- first build\n- second line');
  });

  it('reads the I18N summary and a STRING_ARRAY as rpm stores them', () => {
    const h = pkgs.base.header;
    assert.equal(h.entry(TAG.SUMMARY)?.type, 9);
    assert.deepEqual(h.getStrings(TAG.HEADERI18NTABLE), ['C']);
    assert.equal(h.getString(TAG.SUMMARY), 'Base files with config, /var and links');
    assert.ok(h.tags().includes(TAG.NAME));
    assert.deepEqual(h.getStrings(TAG.NAME), ['arbor-base']);
  });

  it('verifies the SHA256 and SHA1 header digests from the signature header', async () => {
    const bytes = fs.readFileSync(files.tools);
    const pkg = pkgs.tools;
    // Flip a byte inside the main header's data (the summary text).
    const at = bytes.indexOf(Buffer.from('The arbor-tools test package'), pkg.headerOffset);
    assert.ok(at > 0);
    const bad = Buffer.from(bytes);
    bad[at] ^= 0x20;
    const f = path.join(tmp, 'bad-header.rpm');
    fs.writeFileSync(f, bad);
    await assert.rejects(readRpm(f), (e: ArborError) => e.code === 'Corrupted' && e.message.includes(f) && /header sha256 digest mismatch/.test(e.message));
    // rpm agrees that the package is damaged.
    assert.notEqual(run('rpm', ['-K', '--dbpath', DB, f], { allowFail: true }).status, 0);
    // Without verification the damaged header still reads.
    assert.equal((await readRpm(f, { verify: false })).meta().summary, 'the arbor-tools test package');
  });

  it('refuses truncated files, padded files and files that are not RPMs, naming the file', async () => {
    const bytes = fs.readFileSync(files.tools);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['empty.rpm', Buffer.alloc(0), /not an RPM file/],
      ['text.rpm', Buffer.from('hello world, this is not an rpm at all'.repeat(5)), /not an RPM file \(magic/],
      ['lead-only.rpm', bytes.subarray(0, 96), /file ends inside the signature header/],
      ['half-header.rpm', bytes.subarray(0, pkgs.tools.headerOffset + 200), /file ends inside the header/],
      ['no-payload.rpm', bytes.subarray(0, pkgs.tools.payloadOffset + 10), /truncated or padded/],
      ['padded.rpm', Buffer.concat([bytes, Buffer.alloc(5)]), /truncated or padded/],
    ];
    for (const [name, data, re] of cases) {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, data);
      await assert.rejects(readRpm(f), (e: ArborError) => e instanceof ArborError && e.code === 'Corrupted' && e.message.startsWith(f) && re.test(e.message), name);
    }
    await assert.rejects(readRpm(path.join(tmp, 'missing.rpm')), (e: ArborError) => e.code === 'NotFound' && e.message.includes('missing.rpm'));
  });

  it('reads a package with many files and long paths quickly', async function () {
    const spec: PackageSpec = {
      name: 'arbor-many',
      compression: 'gzip',
      files: Array.from({ length: 400 }, (_, i) => ({ path: `/usr/share/arbor-many/${'d'.repeat(i % 50)}/f${i}`, content: `${i}\n` })),
    };
    const f = await buildRpm(spec);
    const t0 = process.hrtime.bigint();
    const pkg = await readRpm(f);
    const paths = pkg.meta().files;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.deepEqual(paths, lines(qf(f, '[%{FILENAMES}\n]')));
    assert.ok(ms < 200, `${ms} ms`);
  });
});
