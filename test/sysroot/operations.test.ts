// The sysroot library's operations on their own: kernel-argument editing, BLS
// entries, the /etc merge corner cases, booted-aware policy, rollback, pin,
// kargs, staging and finalization, cleanup, sealing, and errors on bad input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { arbor, tmpdir } from '../helpers';
import { Sysroot, deploy, finalizeStaged, initFs, osInit, pin, rollback, setKargs, sysrootStatus, undeploy, cleanup } from '../../src/sysroot';
import { KernelArgs } from '../../src/sysroot/kargs';
import { BootEntry, strverscmp } from '../../src/sysroot/boot-entry';
import { diffEtc, mergeEtc, prepareEtc } from '../../src/sysroot/etc-merge';
import { isImmutable } from '../../src/sysroot/immutable';
import { ArborError } from '../../src/common/errors';
import { commitOs, entries, makeOsTree, read, tmpfsSuite } from './support';

describe('kernel arguments', () => {
  it('replace keeps the first position of a key and drops its other values', () => {
    const k = KernelArgs.parse('a=1 console=tty0 b console=ttyS0');
    k.replace('console=ttyS1');
    assert.equal(k.toString(), 'a=1 console=ttyS1 b');
  });
  it('replace KEY=OLD=NEW changes only that value', () => {
    const k = KernelArgs.parse('console=tty0 console=ttyS0');
    k.replace('console=ttyS0=ttyS1', true);
    assert.equal(k.toString(), 'console=tty0 console=ttyS1');
  });
  it('delete of a key with several values asks for the value', () => {
    const k = KernelArgs.parse('console=tty0 console=ttyS0');
    assert.throws(() => k.delete('console'), (e: ArborError) => e.code === 'InvalidArgument');
    k.delete('console=tty0');
    assert.equal(k.toString(), 'console=ttyS0');
  });
  it('append-if-missing adds only absent keys', () => {
    const k = KernelArgs.parse('quiet');
    k.appendIfMissing('quiet');
    k.appendIfMissing('rhgb');
    assert.equal(k.toString(), 'quiet rhgb');
  });
  it('keeps double-quoted values with spaces whole', () => {
    assert.deepEqual(KernelArgs.parse('a="b c" d').toArray(), ['a="b c"', 'd']);
  });
});

describe('BLS entries', () => {
  it('write keys in libostree order whatever the insertion order', () => {
    const e = new BootEntry();
    e.set('initrd', '/i');
    e.set('linux', '/l');
    e.set('options', 'o');
    e.set('title', 't');
    e.set('version', '1');
    assert.equal(e.toString(), 'title t\nversion 1\noptions o\nlinux /l\ninitrd /i\n');
    assert.equal(BootEntry.parse(e.toString()).get('options'), 'o');
  });
  it('sort versions as strverscmp does', () => {
    assert.ok(strverscmp('10', '9') > 0);
    assert.ok(strverscmp('2', '2') === 0);
    assert.ok(strverscmp('1.10', '1.9') > 0);
  });
});

describe('/etc merge corner cases', () => {
  let dir = '';
  before(() => { dir = tmpdir('arbor-etc-'); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function tree(name: string, defaults: Record<string, string>): string {
    const root = `${dir}/${name}`;
    for (const [k, v] of Object.entries(defaults)) {
      fs.mkdirSync(`${root}/usr/etc/${k}`.replace(/\/[^/]+$/, ''), { recursive: true });
      fs.writeFileSync(`${root}/usr/etc/${k}`, v);
    }
    prepareEtc(root);
    return root;
  }

  it('copies a file that locally became a directory recursively', () => {
    const old = tree('o1', { 'x.d': 'file\n', 'keep.conf': 'k\n' });
    fs.rmSync(`${old}/etc/x.d`);
    fs.mkdirSync(`${old}/etc/x.d/deeper`, { recursive: true });
    fs.writeFileSync(`${old}/etc/x.d/deeper/y.conf`, 'y\n');
    const neu = tree('n1', { 'x.d': 'file v2\n', 'keep.conf': 'k2\n' });
    const diff = mergeEtc(old, neu);
    assert.deepEqual(diff.modified, ['x.d']);
    assert.equal(read(`${neu}/etc/x.d/deeper/y.conf`), 'y\n');
    assert.equal(read(`${neu}/etc/keep.conf`), 'k2\n');
  });

  it('keeps a local permission change as a modification', () => {
    const old = tree('o2', { 'secret.conf': 's\n' });
    fs.chmodSync(`${old}/etc/secret.conf`, 0o600);
    const neu = tree('n2', { 'secret.conf': 's\n' });
    mergeEtc(old, neu);
    assert.equal(fs.statSync(`${neu}/etc/secret.conf`).mode & 0o777, 0o600);
  });

  it('refuses a modified file whose new default is a directory', () => {
    const old = tree('o3', { 'z.conf': 'file\n' });
    fs.writeFileSync(`${old}/etc/z.conf`, 'edited\n');
    const neu = tree('n3', { 'z.conf/inner': 'now a dir\n' });
    assert.throws(() => mergeEtc(old, neu), /newly defaults|is a directory/);
  });

  it('reports nothing for an untouched etc', () => {
    assert.deepEqual(diffEtc(tree('o4', { 'a.conf': 'a\n', 'd/b.conf': 'b\n' })), { modified: [], added: [], removed: [] });
  });
});

describe('sysroot operations', function () {
  const mnt = tmpfsSuite('256m');
  let S = '';
  let C1 = '';
  let C2 = '';
  let C3 = '';
  const id = (s: Sysroot): string[] => s.deployments.map((d) => `${d.csum.slice(0, 6)}.${d.deployserial}${d.staged ? 's' : ''}`);
  const short = (c: string, n = 0): string => `${c.slice(0, 6)}.${n}`;

  before(() => {
    S = `${mnt()}/sysroot`;
    initFs(S);
    osInit(S, 'testos');
    const repo = `${S}/ostree/repo`;
    C1 = commitOs(repo, makeOsTree(`${mnt()}/t1`, { version: '1' }), 'os/1', '1');
    C2 = commitOs(repo, makeOsTree(`${mnt()}/t2`, { version: '2' }), 'os/2', '2');
    C3 = commitOs(repo, makeOsTree(`${mnt()}/t3`, { version: '3', kernel: 'kernel 3\n' }), 'os/3', '3');
  });

  it('seals deployment roots immutable, and cleanup still deletes them', async () => {
    let r = await deploy(Sysroot.load(S), { osname: 'testos', revision: 'os/1', kargs: { replace: ['root=/dev/sda1'] } });
    const dir = r.sysroot.deploymentDir(r.deployment);
    assert.equal(isImmutable(dir), true);
    assert.throws(() => fs.writeFileSync(`${dir}/new-file`, 'x'), /EPERM|EACCES/);
    r = await deploy(r.sysroot, { osname: 'testos', revision: 'os/2' });
    r = await deploy(r.sysroot, { osname: 'testos', revision: 'os/3' });
    assert.equal(fs.existsSync(dir), false);
    assert.deepEqual(id(r.sysroot), [short(C3), short(C2)]);
  });

  it('leaves roots mutable under OSTREE_SYSROOT_DEBUG=mutable-deployments', async () => {
    process.env.OSTREE_SYSROOT_DEBUG = 'mutable-deployments';
    try {
      const r = await deploy(Sysroot.load(S), { osname: 'testos', revision: 'os/1', retain: true });
      assert.equal(isImmutable(r.sysroot.deploymentDir(r.deployment)), false);
    } finally {
      delete process.env.OSTREE_SYSROOT_DEBUG;
    }
  });

  it('status --json renders the model with versions, origins and kargs', () => {
    const st = JSON.parse(arbor(['admin', '--sysroot', S, 'status', '--json']).stdout);
    assert.equal(st.deployments.length, 3);
    assert.equal(st.deployments[0].version, '1');
    assert.equal(st.deployments[0].origin.refspec, 'os/1');
    assert.match(st.deployments[0].kargs, /^root=\/dev\/sda1 ostree=\/ostree\/boot\.\d\/testos\//);
  });

  it('rollback without a booted deployment swaps the first two', async () => {
    const before = id(Sysroot.load(S));
    const r = await rollback(Sysroot.load(S));
    assert.deepEqual(id(r.sysroot), [before[1], before[0], before[2]]);
  });

  it('rollback when booted first moves the rollback deployment to the front, and shows it as pending', async () => {
    const s = Sysroot.load(S);
    const booted = `testos:${s.deployments[0].csum}.${s.deployments[0].deployserial}`;
    const r = await rollback(Sysroot.load(S, { booted }));
    const st = sysrootStatus(r.sysroot);
    assert.equal(st.deployments[1].booted, true);
    assert.equal(st.deployments[0].pending, true);
    assert.match(arbor(['admin', '--sysroot', S, '--booted', booted, 'status']).stdout, /^ {2}testos \S+ \(pending\)\n[\s\S]*^\* testos/m);
  });

  it('the default policy keeps the booted deployment and drops the rest', async () => {
    const s = Sysroot.load(S);
    const b = s.deployments[2];
    const booted = `testos:${b.csum}.${b.deployserial}`;
    const r = await deploy(Sysroot.load(S, { booted }), { revision: 'os/2' });
    assert.deepEqual(id(r.sysroot), [short(C2, 1), `${b.csum.slice(0, 6)}.${b.deployserial}`]);
    assert.equal(r.sysroot.booted?.csum, b.csum);
  });

  it('refuses to undeploy the booted deployment', async () => {
    const s = Sysroot.load(S);
    const b = s.deployments[1];
    await assert.rejects(undeploy(Sysroot.load(S, { booted: `testos:${b.csum}.${b.deployserial}` }), 1), /cannot undeploy the booted/);
  });

  it('pin keeps a deployment through a default deploy; unpin lets it go', async () => {
    let s = await pin(Sysroot.load(S), 1, true);
    assert.match(read(s.originPath(s.deployments[1])), /\[libostree-transient\]\npinned=true/);
    let r = await deploy(s, { osname: 'testos', revision: 'os/3' });
    r = await deploy(r.sysroot, { osname: 'testos', revision: 'os/1' });
    assert.equal(r.sysroot.deployments.length, 3);
    assert.equal(sysrootStatus(r.sysroot).deployments[2].pinned, true);
    s = await pin(r.sysroot, 2, false);
    r = await deploy(s, { osname: 'testos', revision: 'os/2' });
    assert.equal(r.sysroot.deployments.length, 2);
  });

  it('kargs edits rewrite the entry of one deployment only', async () => {
    const before = Sysroot.load(S);
    const other = before.deployments[1].options;
    const r = await setKargs(before, 0, { append: ['console=ttyS0'], replace: ['root=/dev/sdb1'], appendIfMissing: ['quiet', 'console=tty0'] });
    assert.match(r.kargs, /^root=\/dev\/sdb1 ostree=\S+ console=ttyS0 quiet$/);
    assert.equal(r.sysroot.deployments[1].options.replace(/ostree=\S+/, ''), other.replace(/ostree=\S+/, ''));
    const out = arbor(['admin', '--sysroot', S, 'kargs', '--deployment', '0', '--delete', 'quiet']).stdout;
    assert.doesNotMatch(out, /quiet/);
    const e = Object.values(entries(S)).find((x) => /console=ttyS0/.test(x));
    assert.ok(e && !/quiet/.test(e));
  });

  it('a kargs delete of an absent argument fails cleanly and changes nothing', () => {
    const before = entries(S);
    const r = arbor(['admin', '--sysroot', S, 'kargs', '--delete', 'nosuchkarg'], { allowFail: true });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /^error: kernel argument 'nosuchkarg' is not set/);
    assert.deepEqual(entries(S), before);
  });

  it('stage writes the deployment but not the boot entries; finalize-staged makes it the default with the /etc of that moment', async () => {
    const s = Sysroot.load(S);
    const b = s.deployments[0];
    const booted = `testos:${b.csum}.${b.deployserial}`;
    const before = entries(S);
    const r = await deploy(Sysroot.load(S, { booted }), { revision: 'os/3', stage: true });
    assert.deepEqual(entries(S), before);
    assert.ok(fs.existsSync(`${S}/run/ostree/staged-deployment`));
    const st = sysrootStatus(r.sysroot);
    assert.equal(st.deployments[0].staged, true);
    assert.match(arbor(['admin', '--sysroot', S, '--booted', booted, 'status']).stdout, /^ {2}testos \S+ \(staged\)$/m);
    // An /etc edit after staging still reaches the new deployment.
    fs.writeFileSync(`${s.deploymentDir(b)}/etc/after-stage.conf`, 'late edit\n');
    const f = await finalizeStaged(Sysroot.load(S, { booted }));
    assert.equal(f.outcome, 'finalized');
    assert.equal(fs.existsSync(`${S}/run/ostree/staged-deployment`), false);
    const top = f.sysroot.deployments[0];
    assert.equal(top.csum, C3);
    assert.equal(top.staged, false);
    assert.equal(read(`${f.sysroot.deploymentDir(top)}/etc/after-stage.conf`), 'late edit\n');
    assert.equal(isImmutable(f.sysroot.deploymentDir(top)), true);
    assert.match(top.options, /console=ttyS0/);
  });

  it('finalize-staged does nothing while staged-deployment-locked exists', async () => {
    const s = Sysroot.load(S);
    const b = s.deployments[0];
    const booted = `testos:${b.csum}.${b.deployserial}`;
    await deploy(Sysroot.load(S, { booted }), { revision: 'os/1', stage: true });
    fs.writeFileSync(`${S}/run/ostree/staged-deployment-locked`, '');
    const before = entries(S);
    assert.equal(arbor(['admin', '--sysroot', S, '--booted', booted, 'finalize-staged']).stdout, 'Not finalizing; found staged-deployment-locked\n');
    assert.deepEqual(entries(S), before);
    fs.rmSync(`${S}/run/ostree/staged-deployment-locked`);
    arbor(['admin', '--sysroot', S, '--booted', booted, 'finalize-staged']);
    assert.equal(Sysroot.load(S).deployments[0].csum, C1);
  });

  it('cleanup removes leftovers of an interrupted deploy and stale kernels', () => {
    const stray = `${S}/ostree/deploy/testos/deploy/${C2}.99`;
    fs.mkdirSync(`${stray}/usr`, { recursive: true });
    fs.mkdirSync(`${S}/boot/ostree/testos-${'0'.repeat(64)}`, { recursive: true });
    const r = cleanup(Sysroot.load(S));
    assert.ok(r.deletedDeployments.includes(`testos/${C2}.99`));
    assert.equal(fs.existsSync(stray), false);
    assert.equal(fs.existsSync(`${S}/boot/ostree/testos-${'0'.repeat(64)}`), false);
  });

  it('bad input gets one clear error line and an exit status, no stack trace', () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['deploy', '--os=testos', 'no/such/ref'], 3, /'no\/such\/ref' is neither a ref nor a commit/],
      [['undeploy', '7'], 3, /no deployment with index 7/],
      [['pin', 'x'], 2, /'x' is not a deployment index/],
      [['os-init', 'testos'], 4, /stateroot 'testos' already exists/],
      [['os-init', '../evil'], 2, /stateroot name '..\/evil' is invalid/],
      [['--booted', 'nonsense', 'status'], 2, /is not OSNAME:COMMIT.SERIAL/],
    ];
    for (const [args, status, re] of cases) {
      const r = arbor(['admin', '--sysroot', S, ...args], { allowFail: true });
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    const r = arbor(['admin', '--sysroot', `${S}/nope`, 'status'], { allowFail: true });
    assert.match(r.stderr, /not a sysroot/);
  });

  it('a second writer is refused while the sysroot lock is held', async () => {
    const unlock = Sysroot.load(S).lock();
    try {
      const r = arbor(['admin', '--sysroot', S, 'rollback'], { allowFail: true });
      assert.equal(r.status, 8);
      assert.match(r.stderr, /another process is changing this sysroot/);
    } finally {
      unlock();
    }
  });
});
