// Arbor's sysroots against `ostree admin` (2022.7) as the oracle: twin sysroots
// built by the two tools from the same commits and the same sequence of commands
// compare equal (trees, symlinks, BLS entries, origins; mtimes excluded); each
// tool's status reads the other's sysroot; ostree's config-diff agrees.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { arbor, ostree, tmpdir } from '../helpers';
import { Sysroot, renderStatus, sysrootStatus } from '../../src/sysroot';
import { assertSameTree, commitOs, entries, makeOsTree, read, refs, tmpfsSuite } from './support';

const DEP = (root: string, os: string, id: string): string => `${root}/ostree/deploy/${os}/deploy/${id}`;

/** Repo internals that differ by tool but not by meaning (lock files, caches). */
const EXCLUDE = [/^ostree\/repo\/tmp\//, /^ostree\/repo\/\.lock$/];

describe('sysroot interop with ostree admin', function () {
  const mnt = tmpfsSuite('512m');
  let A = '';
  let O = '';
  let C1 = '';
  let C2 = '';

  /** Runs the same admin command on both sysroots. */
  function both(args: string[]): void {
    arbor(['admin', '--sysroot', A, ...args]);
    ostree(['admin', `--sysroot=${O}`, ...args]);
  }

  before(() => {
    A = `${mnt()}/arbor`;
    O = `${mnt()}/ostree`;
    fs.mkdirSync(O);
    arbor(['admin', '--sysroot', A, 'init-fs']);
    arbor(['admin', '--sysroot', A, 'os-init', 'testos']);
    ostree(['admin', 'init-fs', O]);
    ostree(['admin', `--sysroot=${O}`, 'os-init', 'testos']);
    const t1 = makeOsTree(`${mnt()}/tree1`, { version: '1' });
    const t2 = makeOsTree(`${mnt()}/tree2`, { version: '2', etc: { 'a.conf': 'default-a\n', 'b.conf': 'default-b 2\n', 'd.conf': 'new default d\n', 'sub/x.conf': 'x\n' } });
    for (const root of [A, O]) {
      C1 = commitOs(`${root}/ostree/repo`, t1, 'testos/stable', '1');
      // The same commit on a second ref keeps C1 from being pruned once undeployed.
      ostree([`--repo=${root}/ostree/repo`, 'refs', `--create=testos/one`, C1]);
      C2 = commitOs(`${root}/ostree/repo`, t2, 'testos/stable', '2');
    }
  });

  it('init-fs and os-init lay out the same tree as ostree admin', () => {
    assertSameTree(A, O, EXCLUDE);
  });

  it('a first deploy by checksum with kernel arguments gives the same tree, entry and origin', () => {
    both(['deploy', '--os=testos', '--karg=root=LABEL=root', '--karg=quiet', C1]);
    assertSameTree(A, O, EXCLUDE);
    assert.deepEqual(entries(A), entries(O));
    assert.equal(read(`${DEP(A, 'testos', `${C1}.0`)}.origin`), `[origin]\nrefspec=${C1}\n`);
  });

  it('a second deploy after local /etc edits merges /etc as ostree does', () => {
    for (const root of [A, O]) {
      const etc = `${DEP(root, 'testos', `${C1}.0`)}/etc`;
      fs.writeFileSync(`${etc}/a.conf`, 'local edit\n');
      fs.rmSync(`${etc}/c.conf`);
      fs.writeFileSync(`${etc}/local.conf`, 'added locally\n');
      fs.mkdirSync(`${etc}/localdir`);
      fs.writeFileSync(`${etc}/localdir/inner.conf`, 'inner\n');
      fs.symlinkSync('/ENOENT', `${etc}/broken-link`);
    }
    both(['deploy', '--os=testos', 'testos/stable']);
    assertSameTree(A, O, EXCLUDE);
    assert.deepEqual(entries(A), entries(O));
    const etc = `${DEP(A, 'testos', `${C2}.0`)}/etc`;
    assert.equal(read(`${etc}/a.conf`), 'local edit\n');
    assert.equal(read(`${etc}/b.conf`), 'default-b 2\n');
    assert.equal(fs.existsSync(`${etc}/c.conf`), false);
    assert.equal(read(`${etc}/d.conf`), 'new default d\n');
    assert.equal(read(`${etc}/localdir/inner.conf`), 'inner\n');
    assert.equal(fs.readlinkSync(`${etc}/broken-link`), '/ENOENT');
  });

  it('config-diff prints what ostree admin config-diff prints', () => {
    const a = arbor(['admin', '--sysroot', A, 'config-diff', '--os=testos']).stdout;
    const o = ostree(['admin', `--sysroot=${O}`, 'config-diff', '--os=testos']).stdout;
    assert.equal(a, o);
    assert.match(a, /^M {4}a\.conf$/m);
  });

  it('pin, then deploying the same commit again, keeps the pinned deployment like ostree', () => {
    both(['pin', '1']);
    assert.equal(read(`${DEP(A, 'testos', `${C1}.0`)}.origin`), `[origin]\nrefspec=${C1}\n\n[libostree-transient]\npinned=true\n`);
    both(['deploy', '--os=testos', 'testos/stable']);
    assertSameTree(A, O, EXCLUDE);
    assert.deepEqual(entries(A), entries(O));
    assert.deepEqual(refs(A), refs(O));
  });

  it('undeploy of a pinned deployment and a deploy with --karg-append match', () => {
    both(['undeploy', '2']);
    both(['deploy', '--os=testos', '--karg-append=console=ttyS0', 'testos/stable']);
    assertSameTree(A, O, EXCLUDE);
    assert.deepEqual(entries(A), entries(O));
  });

  it('a second stateroot, --retain and --not-as-default match', () => {
    both(['os-init', 'otheros']);
    both(['deploy', '--os=otheros', '--retain', C1]);
    both(['deploy', '--os=otheros', '--not-as-default', '--karg-none', 'testos/stable']);
    assertSameTree(A, O, EXCLUDE);
    assert.deepEqual(entries(A), entries(O));
    assert.deepEqual(refs(A), refs(O));
  });

  it('ostree admin status lists Arbor\'s deployments in Arbor\'s order, and Arbor\'s status prints ostree\'s text', () => {
    const o = ostree(['admin', `--sysroot=${A}`, 'status']).stdout;
    assert.equal(arbor(['admin', '--sysroot', A, 'status']).stdout, o);
    assert.equal(renderStatus(sysrootStatus(Sysroot.load(O, { booted: null }))), ostree(['admin', `--sysroot=${O}`, 'status']).stdout);
  });

  it('ostree admin status shows an Arbor rollback in the new order', () => {
    const before = Sysroot.load(A, { booted: null }).deployments.map((d) => `${d.csum}.${d.deployserial}`);
    arbor(['admin', '--sysroot', A, 'rollback']);
    const lines = ostree(['admin', `--sysroot=${A}`, 'status']).stdout.split('\n').filter((l) => /^[ *] \S+ [0-9a-f]{64}\.\d+/.test(l)).map((l) => l.split(' ')[3]);
    assert.deepEqual(lines.slice(0, 2), [before[1], before[0]]);
    assert.deepEqual(lines.slice(2), before.slice(2));
  });

  it('ostree admin deploy accepts a sysroot Arbor wrote, and Arbor reads the result', () => {
    ostree(['admin', `--sysroot=${A}`, 'deploy', '--os=testos', C1]);
    const st = sysrootStatus(Sysroot.load(A, { booted: null }));
    assert.equal(st.deployments[0].checksum, C1);
    assert.equal(arbor(['admin', '--sysroot', A, 'status']).stdout, ostree(['admin', `--sysroot=${A}`, 'status']).stdout);
  });
});

describe('upstream admin-test.sh layout assertions, run against Arbor', function () {
  const mnt = tmpfsSuite('256m');
  let S = '';
  let rev = '';
  let bootcsum = '';
  const admin = (...args: string[]): string => arbor(['admin', '--sysroot', S, ...args]).stdout;

  before(() => {
    S = `${mnt()}/sysroot`;
    admin('init-fs');
    admin('os-init', 'testos');
    // libtest.sh's setup_os_repository, in short.
    const t = makeOsTree(`${mnt()}/osdata`, { version: '1.0.9', kernel: 'a kernel\n', prettyName: 'TestOS 42', etc: { 'os-release': 'NAME=TestOS\n', aconfigfile: 'a config file\n', 'testdirectory/test': 'a default daemon file\n' } });
    rev = commitOs(`${S}/ostree/repo`, t, 'testos/buildmain/x86_64-runtime', '1.0.9');
    bootcsum = require('node:crypto').createHash('sha256').update('a kernel\ninitramfs\n').digest('hex');
  });

  const has = (p: string): boolean => fs.existsSync(`${S}/${p}`);
  const assertRefs = (...want: string[]): void => assert.deepEqual(refs(S), want.sort());

  it('deploy command: entries, kargs, boot files and refs (ok layout)', () => {
    admin('deploy', '--karg=root=LABEL=MOO', '--karg=quiet', '--os=testos', 'testos/buildmain/x86_64-runtime');
    assert.ok(!has('boot/loader.0'));
    assert.ok(has('boot/loader.1'));
    assert.ok(has('ostree/boot.1.1'));
    const e = read(`${S}/boot/loader/entries/ostree-1-testos.conf`);
    assert.match(e, /^options.* root=LABEL=MOO/m);
    assert.match(e, /^options.* quiet/m);
    assert.match(e, new RegExp(`^options .*ostree=/ostree/boot\\.1/testos/${bootcsum}/0$`, 'm'));
    assert.match(read(`${S}/boot/ostree/testos-${bootcsum}/vmlinuz-6.1.0-test`), /a kernel/);
    assert.match(read(`${S}/ostree/deploy/testos/deploy/${rev}.0/etc/os-release`), /NAME=TestOS/);
    assert.match(read(`${S}/ostree/boot.1/testos/${bootcsum}/0/etc/os-release`), /NAME=TestOS/);
    assertRefs('1/1/0');
    assert.doesNotMatch(admin('status'), /pending|rollback/);
  });

  it('staging does not work when not booted', () => {
    const r = arbor(['admin', '--sysroot', S, 'deploy', '--stage', '--os=testos', 'testos/buildmain/x86_64-runtime'], { allowFail: true });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cannot stage a deployment: not booted/);
  });

  it('second deploy: new bootversion, kargs propagated from the merge deployment', () => {
    admin('deploy', '--os=testos', 'testos/buildmain/x86_64-runtime');
    assert.ok(has('boot/loader.0'));
    assert.ok(!has('boot/loader.1'));
    assert.ok(has('ostree/boot.0.1'));
    for (const p of ['ostree/boot.0.0', 'ostree/boot.1.0', 'ostree/boot.1.1']) assert.ok(!has(p), p);
    assert.match(read(`${S}/boot/loader/entries/ostree-2-testos.conf`), /^options.* root=LABEL=MOO/m);
    assert.match(read(`${S}/ostree/deploy/testos/deploy/${rev}.1/etc/os-release`), /NAME=TestOS/);
    assert.match(read(`${S}/ostree/boot.0/testos/${bootcsum}/0/etc/os-release`), /NAME=TestOS/);
    assertRefs('0/1/0', '0/1/1');
  });

  it('third deploy (swap): same bootversion, sub-bootversion flips', () => {
    admin('deploy', '--os=testos', 'testos/buildmain/x86_64-runtime');
    assert.ok(has('boot/loader.0'));
    assert.ok(!has('boot/loader.1'));
    assert.ok(has('ostree/boot.0.0'));
    assert.ok(!has('ostree/boot.0.1'));
    assertRefs('0/0/0', '0/0/1');
  });

  it('independent deploy into a second stateroot', () => {
    admin('os-init', 'otheros');
    admin('deploy', '--os=otheros', 'testos/buildmain/x86_64-runtime');
    assert.ok(!has('boot/loader.0'));
    assert.ok(has('boot/loader.1'));
    assert.ok(has('boot/loader/entries/ostree-2-testos.conf'));
    assert.ok(has('boot/loader/entries/ostree-3-otheros.conf'));
    assert.match(read(`${S}/ostree/deploy/testos/deploy/${rev}.1/etc/os-release`), /NAME=TestOS/);
    assert.match(read(`${S}/ostree/deploy/otheros/deploy/${rev}.0/etc/os-release`), /NAME=TestOS/);
    assertRefs('1/1/0', '1/1/1', '1/1/2');
  });

  it('fourth deploy (retain)', () => {
    admin('deploy', '--retain', '--os=testos', 'testos/buildmain/x86_64-runtime');
    assert.ok(has('boot/loader.0'));
    assert.ok(!has('boot/loader.1'));
    assert.ok(has('boot/loader/entries/ostree-4-testos.conf'));
    assert.ok(has('boot/loader/entries/ostree-2-testos.conf'));
    assert.match(read(`${S}/ostree/deploy/testos/deploy/${rev}.2/etc/os-release`), /NAME=TestOS/);
    assert.match(read(`${S}/ostree/deploy/testos/deploy/${rev}.3/etc/os-release`), /NAME=TestOS/);
    assertRefs('0/1/0', '0/1/1', '0/1/2', '0/1/3');
  });

  it('deploy with modified /etc carries a new file, a deletion and a broken symlink', () => {
    const etc = `${S}/ostree/deploy/testos/deploy/${rev}.3/etc`;
    fs.writeFileSync(`${etc}/a-new-config-file`, 'a new local config file\n');
    fs.rmSync(`${etc}/testdirectory`, { recursive: true });
    fs.rmSync(`${etc}/aconfigfile`);
    fs.symlinkSync('/ENOENT', `${etc}/a-new-broken-symlink`);
    admin('deploy', '--retain', '--os=testos', 'testos/buildmain/x86_64-runtime');
    const n = `${S}/ostree/deploy/testos/deploy/${rev}.4/etc`;
    assert.equal(fs.readlinkSync(`${n}/a-new-broken-symlink`), '/ENOENT');
    assert.match(read(`${n}/a-new-config-file`), /a new local config file/);
    assert.ok(!fs.existsSync(`${n}/aconfigfile`));
    assert.ok(!fs.existsSync(`${n}/testdirectory`));
  });

  it('undeploy 0 four times leaves one entry; --not-as-default goes after it', () => {
    for (let i = 0; i < 4; i++) admin('undeploy', '0');
    assert.ok(has('boot/loader/entries/ostree-1-testos.conf'));
    assert.ok(!has('boot/loader/entries/ostree-2-testos.conf'));
    assert.ok(!has('boot/loader/entries/ostree-3-otheros.conf'));
    admin('deploy', '--not-as-default', '--os=otheros', 'testos/buildmain/x86_64-runtime');
    assert.ok(has('boot/loader/entries/ostree-2-testos.conf'));
    assert.ok(has('boot/loader/entries/ostree-1-otheros.conf'));
  });

  it('deploy --retain-rollback', () => {
    admin('deploy', '--retain-rollback', '--os=otheros', 'testos/buildmain/x86_64-runtime');
    assert.ok(has('boot/loader/entries/ostree-3-otheros.conf'));
    assert.ok(has('boot/loader/entries/ostree-2-testos.conf'));
    assert.ok(has('boot/loader/entries/ostree-1-otheros.conf'));
  });

  it('deploy into an unknown stateroot fails', () => {
    const r = arbor(['admin', '--sysroot', S, 'deploy', '--os=unknown', 'testos/buildmain/x86_64-runtime'], { allowFail: true });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /stateroot 'unknown' does not exist/);
  });

  it('multiple --karg-append arguments keep their order through later deploys', () => {
    admin('deploy', '--os=testos', '--karg-append=console=/dev/foo', '--karg-append=console=/dev/bar', 'testos/buildmain/x86_64-runtime');
    admin('deploy', '--os=testos', 'testos/buildmain/x86_64-runtime');
    const list = fs.readdirSync(`${S}/boot/loader/entries`).filter((n) => n.endsWith('-testos.conf'));
    const top = list.sort().pop()!;
    assert.match(read(`${S}/boot/loader/entries/${top}`), /console=\/dev\/foo.*console=\/dev\/bar/);
  });

  it('titles do not repeat a version already in PRETTY_NAME', () => {
    const t = makeOsTree(tmpdir('arbor-os42-'), { version: '42', kernel: 'a kernel\n', prettyName: 'TestOS 42' });
    commitOs(`${S}/ostree/repo`, t, 'testos/buildmain/x86_64-runtime', '42');
    fs.rmSync(t, { recursive: true, force: true });
    admin('deploy', '--os=testos', 'testos/buildmain/x86_64-runtime');
    const e = Object.values(entries(S)).find((x) => /^version 4$/m.test(x))!;
    assert.match(e, /^title TestOS 42 \(ostree:testos:0\)$/m);
  });
});
