// Extracting RPM payloads into a target root, checked against `rpm2cpio | cpio -idm`
// and rpm's own file list; and the safety rules: nothing lands outside the root, and
// nothing is written through a symlink.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../../src/common/errors';
import { EntryInput } from '../../src/rpm/header';
import { extractRpm } from '../../src/rpm/extract';
import { readRpm, RpmPackage } from '../../src/rpm/package';
import { TAG } from '../../src/rpm/tags';
import { PackageSpec, buildRpm, parseNewc, rewriteRpm, standardFixtures, toStrippedCpio } from '../fixtures/rpmbuild';
import { writeCpio } from '../../src/rpm/cpio';
import { TOOL_THRESHOLD } from '../../src/rpm/payload';
import { run, tmpdir } from '../helpers';

interface Node {
  type: string;
  mode: number;
  size: number;
  sha?: string;
  link?: string;
  mtime: number;
  ino: number;
  nlink: number;
  uid: number;
  gid: number;
}

/** Everything below `dir` that a comparison cares about, by root-relative path. */
function snapshot(dir: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (rel: string): void => {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs);
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other';
    const n: Node = { type, mode: st.mode, size: type === 'dir' ? 0 : st.size, mtime: st.mtimeMs / 1000, ino: st.ino, nlink: st.nlink, uid: st.uid, gid: st.gid };
    if (type === 'file') n.sha = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    if (type === 'symlink') n.link = fs.readlinkSync(abs);
    if (rel) out.set(`/${rel}`, n);
    if (type === 'dir') for (const c of fs.readdirSync(abs).sort()) walk(rel ? `${rel}/${c}` : c);
  };
  walk('');
  return out;
}

function cpioExtract(rpmFile: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  run('sh', ['-c', `rpm2cpio '${rpmFile}' | cpio -idm --quiet --no-absolute-filenames`], { cwd: dir });
}

/** Every regular file and directory of `root`, outside `allowed`: must stay empty. */
function listAll(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('rpm payload extraction', function () {
  const specs = standardFixtures();
  const files: Record<string, string> = {};
  const pkgs: Record<string, RpmPackage> = {};
  let tmp: string;
  let n = 0;
  const fresh = (name = 'root'): string => {
    const d = path.join(tmp, `${name}-${n++}`);
    fs.mkdirSync(d);
    return d;
  };

  before(async function () {
    this.timeout(300000);
    for (const [k, s] of Object.entries(specs)) files[k] = await buildRpm(s);
    for (const [k, f] of Object.entries(files)) pkgs[k] = await readRpm(f);
    tmp = tmpdir();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('extracts every fixture package as rpm2cpio | cpio -idm does (gzip, xz, zstd, bzip2, none)', async () => {
    for (const [k, f] of Object.entries(files)) {
      const ours = fresh(`ours-${k}`);
      const theirs = fresh(`cpio-${k}`);
      await extractRpm(pkgs[k], ours);
      cpioExtract(f, theirs);
      const a = snapshot(ours);
      const b = snapshot(theirs);
      assert.deepEqual([...a.keys()], [...b.keys()], k);
      for (const [p, x] of b) {
        const y = a.get(p) as Node;
        assert.equal(y.type, x.type, `${k} ${p}`);
        assert.equal(y.sha, x.sha, `${k} ${p} content`);
        assert.equal(y.link, x.link, `${k} ${p} link`);
        assert.equal(y.nlink, x.nlink, `${k} ${p} nlink`);
        if (x.type !== 'symlink') assert.equal((y.mode & 0o7777).toString(8), (x.mode & 0o7777).toString(8), `${k} ${p} mode`);
        if (x.type === 'file') assert.equal(y.mtime, x.mtime, `${k} ${p} mtime`);
      }
    }
  });

  it('takes modes, mtimes and symlink targets from the header file list', async () => {
    const root = fresh();
    await extractRpm(pkgs.base, root);
    const snap = snapshot(root);
    for (const f of pkgs.base.files()) {
      if (f.ghost) continue;
      const s = snap.get(f.path);
      assert.ok(s, f.path);
      if (f.type !== 'symlink') assert.equal(s.mode & 0o7777, f.mode & 0o7777, f.path);
      assert.equal(s.mtime, f.mtime, `${f.path} mtime`);
      if (f.type === 'symlink') assert.equal(s.link, f.linkTo);
    }
    assert.equal((snap.get('/usr/lib/arbor/suid') as Node).mode & 0o7777, 0o4755);
    assert.equal((snap.get('/usr/lib/arbor/sticky') as Node).mode & 0o7777, 0o1777);
    assert.equal((snap.get('/var/lib/arbor') as Node).mode & 0o7777, 0o750);
  });

  it('creates directories the package does not list with mode 0755', async () => {
    const root = fresh();
    await extractRpm(pkgs.tools, root);
    for (const d of ['/usr', '/usr/bin', '/usr/share', '/usr/share/arbor-tools']) {
      const st = fs.lstatSync(path.join(root, d));
      assert.ok(st.isDirectory());
      assert.equal(st.mode & 0o7777, 0o755, d);
    }
  });

  it('does not write ghost files', async () => {
    const root = fresh();
    await extractRpm(pkgs.base, root);
    assert.ok(pkgs.base.files().some((f) => f.ghost && f.path === '/var/log/arbor.log'));
    assert.equal(fs.existsSync(path.join(root, 'var/log/arbor.log')), false);
  });

  it('writes a hardlink set once: one inode, the content, every name', async () => {
    const root = fresh();
    await extractRpm(pkgs.base, root);
    const st = ['one', 'two', 'three'].map((x) => fs.statSync(path.join(root, 'usr/lib/arbor', x)));
    assert.equal(new Set(st.map((s) => s.ino)).size, 1);
    assert.equal(st[0].nlink, 3);
    assert.equal(fs.readFileSync(path.join(root, 'usr/lib/arbor/two'), 'utf8'), 'same inode\n');
    const bb = fresh();
    await extractRpm(pkgs.busybox, bb);
    assert.equal(fs.statSync(path.join(bb, 'bin/sh')).ino, fs.statSync(path.join(bb, 'bin/busybox')).ino);
    assert.match(run(path.join(bb, 'bin/sh'), ['-c', 'echo $((6*7))']).stdout, /42/);
  });

  it("maps owners through the root's etc/passwd and etc/group; unknown names become root", async () => {
    const root = fresh();
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nbin:x:1:1::/:/sbin/nologin\n');
    fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\ndaemon:x:2:\n');
    const r = await extractRpm(pkgs.base, root, { chown: true });
    const st = fs.lstatSync(path.join(root, 'usr/share/arbor/owned-by-bin'));
    assert.deepEqual([st.uid, st.gid], [1, 2]);
    assert.deepEqual(r.unknownOwners, []);
    const bare = fresh();
    const r2 = await extractRpm(pkgs.base, bare, { chown: true });
    const st2 = fs.lstatSync(path.join(bare, 'usr/share/arbor/owned-by-bin'));
    assert.deepEqual([st2.uid, st2.gid], [0, 0]);
    assert.deepEqual(r2.unknownOwners, ['group daemon', 'user bin']);
  });

  it('reads owners from usr/lib/passwd when etc/passwd does not name them', async () => {
    const root = fresh();
    fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/lib/passwd'), 'bin:x:7:7::/:/sbin/nologin\n');
    fs.writeFileSync(path.join(root, 'usr/lib/group'), 'daemon:x:8:\n');
    await extractRpm(pkgs.base, root, { chown: true });
    const st = fs.lstatSync(path.join(root, 'usr/share/arbor/owned-by-bin'));
    assert.deepEqual([st.uid, st.gid], [7, 8]);
  });

  it('extracts over an earlier extraction of the same package', async () => {
    const root = fresh();
    await extractRpm(pkgs.base, root);
    fs.writeFileSync(path.join(root, 'etc/arbor/base.conf'), 'edited\n');
    await extractRpm(pkgs.base, root);
    assert.equal(fs.readFileSync(path.join(root, 'etc/arbor/base.conf'), 'utf8'), 'key=value\n');
    assert.equal(fs.statSync(path.join(root, 'usr/lib/arbor/one')).nlink, 3);
  });

  it("extracts rpm's stripped cpio form (07070X), which rpm itself installs", async () => {
    const stripped = path.join(tmp, 'stripped.rpm');
    await rewriteRpm(files.base, stripped, { cpio: (c, p) => toStrippedCpio(c, p.files().map((f) => f.path)) });
    const pkg = await readRpm(stripped);
    const a = fresh();
    const b = fresh();
    await extractRpm(pkg, a);
    await extractRpm(pkgs.base, b);
    assert.deepEqual(snapshot(a).size, snapshot(b).size);
    const listed = new Set(pkg.files().map((f) => f.path));
    for (const [p, x] of snapshot(b)) {
      const y = snapshot(a).get(p) as Node;
      assert.deepEqual([y.type, y.sha, y.link, y.mode, y.nlink], [x.type, x.sha, x.link, x.mode, x.nlink], p);
      if (listed.has(p)) assert.equal(y.mtime, x.mtime, p);
    }
    // rpm installs the same stripped package to the same tree.
    const r = fresh('rpm-root');
    run('rpm', ['--root', r, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', '--noscripts', '--nosignature', stripped], { env: { ...process.env, LC_ALL: 'C' } });
    const viaRpm = snapshot(r);
    for (const [p, x] of snapshot(a)) assert.equal(viaRpm.get(p)?.sha, x.sha, p);
  });

  it('detects a payload digest mismatch and names the file', async () => {
    // An uncompressed payload: a flipped content byte still decompresses, only the digest sees it.
    const bytes = Buffer.from(fs.readFileSync(files.plain));
    const at = bytes.indexOf(Buffer.from('lorem'), pkgs.plain.payloadOffset);
    assert.ok(at > 0);
    bytes[at] ^= 1;
    const f = path.join(tmp, 'bad-payload.rpm');
    fs.writeFileSync(f, bytes);
    const pkg = await readRpm(f);
    await assert.rejects(extractRpm(pkg, fresh()), (e: ArborError) => e.code === 'Corrupted' && e.message.startsWith(f) && /payload digest mismatch/.test(e.message));
  });

  it('reports a damaged compressed payload as Corrupted', async () => {
    for (const k of ['tools', 'lib', 'base']) {
      const bytes = Buffer.from(fs.readFileSync(files[k]));
      const mid = pkgs[k].payloadOffset + Math.floor((bytes.length - pkgs[k].payloadOffset) / 2);
      for (let i = 0; i < 16; i++) bytes[mid + i] ^= 0x5a;
      const f = path.join(tmp, `damaged-${k}.rpm`);
      fs.writeFileSync(f, bytes);
      const pkg = await readRpm(f);
      await assert.rejects(extractRpm(pkg, fresh()), (e: ArborError) => e instanceof ArborError && e.code === 'Corrupted' && e.message.includes(f), k);
    }
  });

  it('leaves out filtered files, and gives a hardlink set its content on the first member kept', async () => {
    const root = fresh();
    const keep = (f: { doc: boolean; path: string }): boolean => !f.doc && f.path !== '/usr/lib/arbor/one';
    await extractRpm(pkgs.base, root, { filter: keep });
    assert.equal(fs.existsSync(path.join(root, 'usr/share/doc/arbor-base/README')), false);
    assert.equal(fs.existsSync(path.join(root, 'usr/lib/arbor/one')), false);
    assert.equal(fs.readFileSync(path.join(root, 'usr/lib/arbor/two'), 'utf8'), 'same inode\n');
    assert.equal(fs.statSync(path.join(root, 'usr/lib/arbor/three')).ino, fs.statSync(path.join(root, 'usr/lib/arbor/two')).ino);
    assert.equal(fs.statSync(path.join(root, 'usr/lib/arbor/two')).nlink, 2);
  });

  it('decodes large payloads through the xz/zstd programs and small ones in-process, to the same tree', async function () {
    this.timeout(120000);
    const bigXz = await readRpm(await buildRpm({ ...specs.big, name: 'arbor-big-xz', compression: 'xz', compressionLevel: 1 }));
    for (const pkg of [pkgs.big, bigXz]) {
      assert.ok(pkg.payloadInfo().size >= TOOL_THRESHOLD, `${pkg.path} takes the tool path`);
      const viaTool = fresh();
      await extractRpm(pkg, viaTool);
      process.env.ARBOR_PAYLOAD_INPROCESS = '1';
      const inProcess = fresh();
      try {
        await extractRpm(pkg, inProcess);
      } finally {
        delete process.env.ARBOR_PAYLOAD_INPROCESS;
      }
      const a = snapshot(viaTool);
      const b = snapshot(inProcess);
      assert.deepEqual([...a].map(([p, x]) => [p, x.sha, x.mode]), [...b].map(([p, x]) => [p, x.sha, x.mode]));
    }
  });

  it('stops with Cancelled when the signal fires', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(extractRpm(pkgs.big, fresh(), { signal: ac.signal }), (e: ArborError) => e.code === 'Cancelled');
  });

  it('reports progress', async () => {
    const events: number[] = [];
    await extractRpm(pkgs.base, fresh(), { progress: (e) => events.push(e.done) });
    assert.ok(events.length >= 1);
    assert.equal(events[events.length - 1], pkgs.base.files().filter((f) => !f.ghost).length, 'one step per payload entry');
  });

  describe('untrusted paths', () => {
    /** A copy of the tools package whose file `from` is renamed `to` in header and payload. */
    async function renamed(from: string, to: string, extra?: (e: EntryInput[]) => EntryInput[]): Promise<string> {
      const out = path.join(tmp, `renamed-${n++}.rpm`);
      await rewriteRpm(files.tools, out, {
        header: (entries) => {
          const pkg = pkgs.tools;
          const paths = pkg.files().map((f) => (f.path === from ? to : f.path));
          const drop = new Set<number>([TAG.BASENAMES, TAG.DIRNAMES, TAG.DIRINDEXES]);
          const e = entries.filter((x) => !drop.has(x.tag));
          e.push({ tag: TAG.OLDFILENAMES, type: 8, value: paths });
          return extra ? extra(e) : e;
        },
        cpio: (c) => writeCpio(parseNewc(c).map((x) => ({ name: x.name === `.${from}` ? `.${to}` : x.name, mode: x.fields[1], nlink: x.fields[4], ino: x.fields[0], data: x.data }))),
      });
      return out;
    }

    it('refuses a path that climbs out of the root, naming package and path', async () => {
      const box = fresh('box');
      const root = path.join(box, 'root');
      fs.mkdirSync(root);
      const f = await renamed('/usr/bin/arbor-tool', '/usr/../../escaped');
      await assert.rejects(extractRpm(await readRpm(f), root), (e: ArborError) => e.code === 'Unsafe' && e.message.includes(f) && e.message.includes('/usr/../../escaped'));
      assert.deepEqual(fs.readdirSync(box), ['root']);
    });

    it('keeps absolute and dot-laden paths inside the root', async () => {
      const root = fresh();
      const f = await renamed('/usr/bin/arbor-tool', '/./usr//bin/../bin/tool2');
      await extractRpm(await readRpm(f), root);
      assert.ok(fs.existsSync(path.join(root, 'usr/bin/tool2')));
    });

    it('refuses to write through a symlink that is already in the target root', async () => {
      const box = fresh('box');
      const root = path.join(box, 'root');
      const outside = path.join(box, 'outside');
      fs.mkdirSync(path.join(root, 'usr'), { recursive: true });
      fs.mkdirSync(outside);
      fs.symlinkSync(outside, path.join(root, 'usr/bin'));
      await assert.rejects(extractRpm(pkgs.tools, root), (e: ArborError) => e.code === 'Unsafe' && e.message.includes(files.tools) && /\/usr\/bin' is a symlink/.test(e.message));
      assert.deepEqual(listAll(outside), []);
    });

    it("refuses to write below a symlink the package itself ships", async () => {
      const box = fresh('box');
      const root = path.join(box, 'root');
      fs.mkdirSync(root);
      const outside = path.join(box, 'outside');
      fs.mkdirSync(outside);
      const spec: PackageSpec = {
        name: 'arbor-evil-link',
        files: [
          { path: '/opt/link', symlink: outside },
          { path: '/opt/zz', content: 'x' },
        ],
      };
      const built = await buildRpm(spec);
      // Rename /opt/zz to /opt/link/pwned (sorted after the symlink, as an attacker would).
      const out = path.join(tmp, 'evil-link.rpm');
      await rewriteRpm(built, out, {
        header: (entries) => {
          const drop = new Set<number>([TAG.BASENAMES, TAG.DIRNAMES, TAG.DIRINDEXES]);
          return [...entries.filter((x) => !drop.has(x.tag)), { tag: TAG.OLDFILENAMES, type: 8, value: ['/opt/link', '/opt/link/pwned'] }];
        },
        cpio: (c) => writeCpio(parseNewc(c).map((x) => ({ name: x.name === './opt/zz' ? './opt/link/pwned' : x.name, mode: x.fields[1], nlink: x.fields[4], data: x.data }))),
      });
      await assert.rejects(extractRpm(await readRpm(out), root), (e: ArborError) => e.code === 'Unsafe' && e.message.includes('/opt/link/pwned'));
      assert.deepEqual(listAll(outside), []);
      assert.equal(fs.readlinkSync(path.join(root, 'opt/link')), outside, 'the symlink itself is fine');
    });

    it('allows a symlink to a directory alongside files below its real path', async () => {
      const spec: PackageSpec = {
        name: 'arbor-usrmerge',
        files: [
          { path: '/lib', symlink: 'usr/lib' },
          { path: '/usr/lib/arbor-merged', content: 'merged\n' },
        ],
      };
      const root = fresh();
      await extractRpm(await readRpm(await buildRpm(spec)), root);
      assert.equal(fs.readFileSync(path.join(root, 'lib/arbor-merged'), 'utf8'), 'merged\n');
      assert.equal(fs.readlinkSync(path.join(root, 'lib')), 'usr/lib');
    });

    it('refuses a payload entry that the header does not list', async () => {
      const out = path.join(tmp, 'unlisted.rpm');
      await rewriteRpm(files.tools, out, {
        cpio: (c) => writeCpio([...parseNewc(c).map((x) => ({ name: x.name, mode: x.fields[1], data: x.data })), { name: './etc/shadow', mode: 0o100644, data: Buffer.from('x') }]),
      });
      const root = fresh();
      await assert.rejects(extractRpm(await readRpm(out), root), (e: ArborError) => e.code === 'Corrupted' && /"\.\/etc\/shadow" is not in the header/.test(e.message));
      assert.equal(fs.existsSync(path.join(root, 'etc/shadow')), false);
    });
  });
});
