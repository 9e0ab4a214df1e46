// The client use cases end to end: a fake OS with real rpmdbs, published over HTTP
// from an archive repo, and a sysroot booted into its first version. Each `it`
// continues the story of the one before (as an admin would run them in order).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ArborError } from '../../src/common/errors';
import { fsck } from '../../src/ostree/fsck';
import { addReachable } from '../../src/ostree/reachable';
import { Repo } from '../../src/ostree/repo';
import { Checksum } from '../../src/ostree/checksum';
import { Sysroot, deploy as sysrootDeploy, initFs, isPinned, originRefspec, osInit, sysrootStatus } from '../../src/sysroot';
import { localSource } from '../../src/ops/object-source';
import { commitPackages } from '../../src/ops/package-list';
import { check, cleanup, deployRevision, kargs, pinDeployment, rebase, rollback, upgrade } from '../../src/ops';
import { PackageDiff } from '../../src/ops/package-diff';
import { TestHttpServer } from '../fixtures/http-server';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ROOT, RunResult, ostree } from '../helpers';

/** The CLI, run without blocking the event loop (the test HTTP server lives in this process). */
function arbor(args: string[], opts: { allowFail?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/arbor.js'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (status !== 0 && !opts.allowFail) reject(new Error(`arbor ${args.join(' ')} exited ${status}\n${stderr}${stdout}`));
      else resolve({ status, stdout, stderr });
    });
  });
}
import { tempDirs } from '../ostree/pull-fixtures';
import { commitOs, makeOsTree, tmpfsSuite } from '../sysroot/support';
import { commitServer, deployedSysroot, makePackagedTree, pkg } from './fixtures';

const A1 = pkg('arbor-a', '1.0');
const A11 = pkg('arbor-a', '1.1', 200 * 1024);
const A11N = pkg('arbor-a', '1.1', 200 * 1024, 2);
const B = pkg('arbor-b', '1.0');
const C = pkg('arbor-c', '1.0');
const D = pkg('arbor-d', '1.0');
const E2 = pkg('arbor-e', '2.0');
const E15 = pkg('arbor-e', '1.5');

const names = (d: PackageDiff): Record<string, string[]> => ({
  added: d.added.map((p) => `${p.name}-${p.version}`),
  removed: d.removed.map((p) => `${p.name}-${p.version}`),
  upgraded: d.upgraded.map((c) => `${c.name} ${c.from.version}->${c.to.version}`),
  downgraded: d.downgraded.map((c) => `${c.name} ${c.from.version}->${c.to.version}`),
});

/** What status shows, without paths: the thing a cancelled operation must leave alone. */
const statusOf = (s: Sysroot): string => JSON.stringify(sysrootStatus(s.reload()).deployments.map((d) => [d.id, d.booted, d.staged, d.pinned, d.kargs, d.origin]));

async function assertFsckClean(s: Sysroot): Promise<void> {
  const r = await fsck(s.repo());
  assert.deepEqual(r.errors, []);
}

/** Objects the server has for `to` but not for `from`, with their total size there. */
function changedOnServer(repoPath: string, from: string, to: string): { objects: number; bytes: number } {
  const repo = Repo.open(repoPath);
  const a = new Set<string>();
  const b = new Set<string>();
  addReachable(repo, from as Checksum, 0, a);
  addReachable(repo, to as Checksum, 0, b);
  let bytes = 0;
  let objects = 0;
  for (const key of b) {
    if (a.has(key)) continue;
    const [csum, type] = key.split('.');
    const p = repo.objectPath(type as never, csum as Checksum);
    if (!fs.existsSync(p)) continue; // commitmeta: none here
    bytes += fs.statSync(p).size;
    objects++;
  }
  return { objects, bytes };
}

describe('client use cases (src/ops) on a booted sysroot', function () {
  this.timeout(120_000);
  const mnt = tmpfsSuite('512m');
  const temp = tempDirs();
  let server: TestHttpServer;
  let SRV = '';
  let S = '';
  let booted = '';
  const C_ = { s0: '', v1: '', v2: '', z: '', n1: '', n2: '' };
  const load = (): Sysroot => Sysroot.load(S, { booted });
  let checked: Awaited<ReturnType<typeof check>>;

  before(async () => {
    const work = temp('arbor-ops-');
    SRV = `${work}/srv`;
    ostree(['init', `--repo=${SRV}`, '--mode=archive']);
    C_.s0 = commitServer(SRV, await makePackagedTree(`${work}/s0`, '0.9', [A1, B, E2]), 'testos/stable', { version: '0.9', time: '2023-12-01T00:00:00Z' });
    C_.v1 = commitServer(SRV, await makePackagedTree(`${work}/v1`, '1.0', [A1, B, C, E2]), 'testos/stable', { version: '1.0', time: '2024-01-01T00:00:00Z' });
    const nPkgs = [A1, B, C, E2];
    C_.n1 = commitServer(SRV, await makePackagedTree(`${work}/n1`, '10.0', nPkgs), 'testos/next', { version: '10.0', time: '2024-03-01T00:00:00Z', pkglist: nPkgs, sizes: true });
    server = await TestHttpServer.start(SRV);
    S = `${mnt()}/sysroot`;
    booted = (await deployedSysroot(S, server.url, 'testos/stable')).booted;
    // A local edit the upgrades must carry over.
    const etc = `${load().deploymentDir(load().booted!)}/etc`;
    fs.writeFileSync(`${etc}/a.conf`, 'edited-a\n');
    fs.writeFileSync(`${etc}/local.conf`, 'mine\n');
    // The server publishes 2.0: arbor-a upgraded, arbor-c removed, arbor-d added, arbor-e downgraded.
    C_.v2 = commitServer(SRV, await makePackagedTree(`${work}/v2`, '2.0', [A11, B, D, E15]), 'testos/stable', { version: '2.0', time: '2024-02-01T00:00:00Z' });
    await makePackagedTree(`${work}/n2`, '10.1', [A11N, B, C, E2]);
  });
  after(async () => {
    await server?.stop();
  });

  it('check reads the package diff from the new tree\'s rpmdb and sizes the download, changing nothing', async () => {
    const before = statusOf(load());
    checked = await check(load());
    assert.equal(checked.available, true);
    assert.equal(checked.from.checksum, C_.v1);
    assert.equal(checked.to.checksum, C_.v2);
    assert.equal(checked.to.version, '2.0');
    assert.equal(checked.downgrade, false);
    assert.deepEqual(checked.packageSource, { from: 'rpmdb', to: 'rpmdb' });
    assert.deepEqual(names(checked.packageDiff!), {
      added: ['arbor-d-1.0'], removed: ['arbor-c-1.0'], upgraded: ['arbor-a 1.0->1.1'], downgraded: ['arbor-e 2.0->1.5'],
    });
    const d = checked.download!;
    assert.equal(d.method, 'tree-walk');
    assert.equal(d.exact, false);
    // The changed files all have a predecessor at the same path except the new package's.
    assert.ok(d.objects > 4 && d.estimatedObjects > 0 && d.bytes > 200 * 1024, JSON.stringify(d));
    assert.equal(statusOf(load()), before);
    // Only the commit, the rpmdb and directory objects came over: far less than the upgrade.
    const server2 = changedOnServer(SRV, C_.v1, C_.v2);
    assert.ok(checked.bytesFetched < server2.bytes / 2, `${checked.bytesFetched} vs ${server2.bytes}`);
    assert.equal(d.objects, server2.objects - 1, 'every changed object but the (already fetched) commit');
  });

  it('upgrade cancelled during the pull leaves status as it was and the repo fsck-clean', async () => {
    const before = statusOf(load());
    const ac = new AbortController();
    await assert.rejects(
      upgrade(load(), { signal: ac.signal, progress: (e) => { if (e.phase === 'pull' && e.done >= 1) ac.abort(); } }),
      (e: ArborError) => e.code === 'Cancelled',
    );
    assert.equal(statusOf(load()), before);
    await assertFsckClean(load());
  });

  it('upgrade cancelled during the deploy leaves status as it was, no deployment directory behind', async () => {
    const before = statusOf(load());
    const dirs = fs.readdirSync(`${S}/ostree/deploy/testos/deploy`).sort();
    const ac = new AbortController();
    await assert.rejects(
      upgrade(load(), { signal: ac.signal, progress: (e) => { if (e.phase === 'checkout') ac.abort(); } }),
      (e: ArborError) => e.code === 'Cancelled',
    );
    assert.equal(statusOf(load()), before);
    assert.deepEqual(fs.readdirSync(`${S}/ostree/deploy/testos/deploy`).sort(), dirs);
    await assertFsckClean(load());
  });

  it('upgrade deploys the new commit first, keeps the booted one as rollback and carries /etc edits', async () => {
    const r = await upgrade(load());
    assert.equal(r.changed, true);
    assert.equal(r.to.checksum, C_.v2);
    assert.deepEqual(names(r.packageDiff!), names(checked.packageDiff!));
    const s = load();
    assert.deepEqual(s.deployments.map((d) => d.csum), [C_.v2, C_.v1]);
    assert.equal(s.deployments[1].csum, s.booted!.csum);
    const st = sysrootStatus(s);
    assert.equal(st.deployments[0].pending, true);
    const etc = `${s.deploymentDir(s.deployments[0])}/etc`;
    assert.equal(fs.readFileSync(`${etc}/a.conf`, 'utf8'), 'edited-a\n');
    assert.equal(fs.readFileSync(`${etc}/local.conf`, 'utf8'), 'mine\n');
    assert.equal(fs.readFileSync(`${etc}/b.conf`, 'utf8'), 'default-b 2.0\n');
    assert.equal(originRefspec(s.deployments[0]), 'origin:testos/stable');
    assert.match(s.deployments[0].options, /\bquiet\b/);
    assert.ok(fs.existsSync(`${s.deploymentDir(s.deployments[0])}/usr/share/arbor-d/data`));
    await assertFsckClean(s);
  });

  it('upgrade again finds no upgrade available: a result, not an error, and nothing changes', async () => {
    const before = statusOf(load());
    const r = await upgrade(load());
    assert.equal(r.changed, false);
    assert.equal(r.deployment, null);
    assert.equal(statusOf(load()), before);
    assert.equal((await check(load())).available, false);
  });

  it('refuses a downgrade (a newer commit with an older timestamp) unless allowed', async () => {
    C_.z = commitServer(SRV, `${SRV}/../v1`, 'testos/stable', { version: '2.1', time: '2024-01-15T00:00:00Z' });
    const before = statusOf(load());
    const c = await check(load());
    assert.equal(c.available, true);
    assert.equal(c.downgrade, true);
    await assert.rejects(upgrade(load()), (e: ArborError) => e.code === 'InvalidArgument' && /older than the current .*allow-downgrade/.test(e.message));
    assert.equal(statusOf(load()), before);
    const r = await upgrade(load(), { allowDowngrade: true });
    assert.equal(r.deployment?.csum, C_.z);
    // Back to 2.0 on the server for the rest of the story.
    ostree([`--repo=${SRV}`, 'reset', 'testos/stable', C_.v2]);
    ostree([`--repo=${SRV}`, 'summary', '-u']);
  });

  it('deploy by version walks the ref\'s history on the server, pulling commit objects only', async () => {
    const local = Repo.open(`${S}/ostree/repo`);
    assert.equal(local.hasObject('commit', C_.s0 as Checksum), false);
    const r = await deployRevision(load(), { revision: '0.9' });
    assert.equal(r.changed, true);
    assert.equal(r.to.checksum, C_.s0);
    const s = load();
    assert.equal(s.deployments[0].csum, C_.s0);
    assert.equal(s.deployments[0].origin?.get('origin', 'override-commit'), C_.s0);
    assert.equal(originRefspec(s.deployments[0]), 'origin:testos/stable');
    assert.deepEqual(names(r.packageDiff!).removed, ['arbor-c-1.0']);
  });

  it('deploy by checksum, and a version that is not in the history is NotFound naming the versions seen', async () => {
    const r = await deployRevision(load(), { revision: C_.v2 });
    assert.equal(load().deployments[0].csum, C_.v2);
    assert.equal(r.deployment?.origin?.get('origin', 'override-commit'), C_.v2);
    await assert.rejects(deployRevision(load(), { revision: '7.7' }), (e: ArborError) => e.code === 'NotFound' && /'7\.7'.*2\.0, 1\.0, 0\.9/.test(e.message));
  });

  it('rebase switches the origin to another ref, reading packages from its pkglist metadata', async () => {
    const r = await rebase(load(), { refspec: 'testos/next' });
    assert.equal(r.toRefspec, 'origin:testos/next');
    assert.equal(r.to.checksum, C_.n1);
    const s = load();
    assert.equal(s.deployments[0].csum, C_.n1);
    assert.equal(originRefspec(s.deployments[0]), 'origin:testos/next');
    assert.equal(s.deployments[0].origin?.get('origin', 'override-commit'), undefined);
    // The booted deployment still follows the old ref: it stays.
    assert.equal(r.purgedRef, null);
    assert.deepEqual(names(r.packageDiff!), { added: ['arbor-c-1.0'], removed: ['arbor-d-1.0'], upgraded: ['arbor-e 1.5->2.0'], downgraded: ['arbor-a 1.1->1.0'] });
    await assert.rejects(rebase(load(), { refspec: 'nosuch:x' }), (e: ArborError) => e.code === 'NotFound');
  });

  it('with ostree.sizes the download size is exact, and a one-package upgrade fetches only changed objects (≤ 1.2×)', async () => {
    C_.n2 = commitServer(SRV, `${SRV}/../n2`, 'testos/next', { version: '10.1', time: '2024-04-01T00:00:00Z', pkglist: [A11N, B, C, E2], sizes: true });
    const c = await check(load());
    assert.equal(c.to.checksum, C_.n2);
    assert.deepEqual(c.packageSource.to, 'pkglist');
    // Against the booted tree (1.0): only arbor-a changed.
    assert.deepEqual(names(c.packageDiff!), { added: [], removed: [], upgraded: ['arbor-a 1.0->1.1'], downgraded: [] });
    assert.equal(c.download!.exact, true);
    assert.equal(c.download!.method, 'ostree.sizes');
    const changed = changedOnServer(SRV, C_.n1, C_.n2);
    server.log.length = 0;
    const r = await upgrade(load(), { stage: true });
    const objectBytes = server.log.filter((x) => x.status === 200 && x.path.startsWith('objects/')).reduce((n, x) => n + x.bytes, 0);
    assert.equal(objectBytes, c.download!.bytes, 'exact means exact');
    assert.equal(r.objectsFetched, c.download!.objects);
    assert.ok(r.bytesFetched <= 1.2 * changed.bytes, `fetched ${r.bytesFetched} bytes for ${changed.bytes} bytes of changed objects`);
    assert.ok(changed.bytes > 200 * 1024);
    assert.equal(r.staged, true);
    const s = load();
    assert.equal(s.staged?.csum, C_.n2);
    assert.equal(sysrootStatus(s).deployments[0].staged, true);
  });

  it('cleanup -p drops the staged and pending deployments, keeping the booted one', async () => {
    const r = await cleanup(load(), { pending: true });
    assert.equal(r.removed.length, 2);
    const s = load();
    assert.equal(s.staged, null);
    assert.deepEqual(s.deployments.map((d) => d.csum), [C_.v1]);
    assert.equal(fs.existsSync(s.stagedFile), false);
  });

  it('kargs makes a new deployment of the same commit with edited arguments; the booted one keeps its own', async () => {
    const shown = await kargs(load());
    assert.equal(shown.changed, false);
    assert.deepEqual(shown.after, ['quiet']);
    const r = await kargs(load(), { append: ['console=ttyS0'], delete: ['quiet'] });
    assert.equal(r.changed, true);
    assert.deepEqual(r.after, ['console=ttyS0']);
    const s = load();
    assert.deepEqual(s.deployments.map((d) => d.csum), [C_.v1, C_.v1]);
    assert.match(s.deployments[0].options, /^console=ttyS0 ostree=/);
    assert.match(s.booted!.options, /\bquiet\b/);
    await assert.rejects(kargs(load(), { delete: ['nosuch'] }), (e: ArborError) => e.code === 'NotFound');
  });

  it('rollback makes the booted deployment the default again', async () => {
    const pending = load().deployments[0];
    const r = await rollback(load());
    assert.equal(r.to.checksum, C_.v1);
    const s = load();
    assert.equal(s.deployments[0].deployserial, s.booted!.deployserial);
    assert.equal(s.deployments[1].deployserial, pending.deployserial);
  });

  it('pin keeps a deployment through cleanup -r; unpinned, cleanup -r -b removes it and prunes', async () => {
    const p = await pinDeployment(load(), { index: 1 });
    assert.equal(p.changed, true);
    assert.equal(isPinned(load().deployments[1]), true);
    let r = await cleanup(load(), { rollback: true });
    assert.deepEqual(r.removed, []);
    assert.equal(r.keptPinned.length, 1);
    assert.equal(load().deployments.length, 2);
    await pinDeployment(load(), { index: 1, pinned: false });
    r = await cleanup(load(), { rollback: true, base: true });
    assert.equal(r.removed.length, 1);
    assert.deepEqual(load().deployments.map((d) => d.csum), [C_.v1]);
    await assertFsckClean(load());
    assert.equal(ostree([`--repo=${S}/ostree/repo`, 'fsck']).status, 0);
  });

  it('arbor admin upgrade --preview / check / upgrade / rebase / deploy-rev run the use cases on --sysroot', async () => {
    const base = ['admin', '--sysroot', S, '--booted', booted];
    const preview = (await arbor([...base, 'upgrade', '--preview'])).stdout;
    assert.match(preview, /AvailableUpdate: 2\.0/);
    assert.match(preview, /Upgraded:\n {4}arbor-a 1\.0-1 -> 1\.1-1/);
    assert.match(preview, /Removed:\n {4}arbor-c-1\.0-1\.noarch/);
    assert.match((await arbor([...base, 'check'])).stdout, /Download: ~/);
    const json = JSON.parse((await arbor([...base, 'check', '--json'])).stdout);
    assert.equal(json.to.checksum, C_.v2);
    assert.match((await arbor([...base, 'upgrade'])).stdout, /Deployed [0-9a-f]{64}\.\d+; reboot/);
    assert.equal((await arbor([...base, 'upgrade', '--unchanged-exit-77'], { allowFail: true })).status, 77);
    assert.match((await arbor([...base, 'deploy-rev', '1.0'])).stdout, /To: 1\.0/);
    assert.match((await arbor([...base, 'rebase', 'origin:testos/next'])).stdout, /Rebased origin:testos\/stable -> origin:testos\/next/);
    const bad = await arbor([...base, 'rebase', 'origin:no/such'], { allowFail: true });
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /ref 'no\/such' not found in remote 'origin'/);
    // The ostree-style deploy still takes any refspec.
    assert.match((await arbor([...base, 'deploy', 'origin:testos/stable'])).stdout, /Bootloader updated/);
  });
});

describe('client use cases: package lists and refusals', function () {
  this.timeout(60_000);
  const mnt = tmpfsSuite('128m');
  const temp = tempDirs();

  it('a tree\'s rpmdb and its pkglist metadata give the same package list', async () => {
    const work = temp('arbor-ops-');
    const repoPath = `${work}/repo`;
    ostree(['init', `--repo=${repoPath}`, '--mode=bare-user']);
    const specs = [B, A1, E2];
    const csum = commitServer(repoPath, await makePackagedTree(`${work}/t`, '1', specs), 'x', { version: '1', time: '2024-01-01T00:00:00Z', pkglist: specs });
    const repo = Repo.open(repoPath);
    const commit = repo.loadCommit(csum as Checksum);
    const fromMeta = await commitPackages(commit, localSource(repo), 'x');
    const fromDb = await commitPackages({ ...commit, metadata: commit.metadata.filter(([k]) => k !== 'rpmostree.rpmdb.pkglist') }, localSource(repo), 'x');
    assert.equal(fromMeta?.source, 'pkglist');
    assert.equal(fromDb?.source, 'rpmdb');
    const key = (l: typeof fromDb): string[] => l!.packages.map((n) => `${n.name}-${n.epoch}:${n.version}-${n.release}.${n.arch}`).sort();
    assert.deepEqual(key(fromDb), key(fromMeta));
    assert.equal(key(fromDb).length, 3);
  });

  it('refuses to upgrade without deployments, or when the origin names a commit rather than a ref', async () => {
    const S = `${mnt()}/sysroot`;
    initFs(S);
    osInit(S, 'testos');
    await assert.rejects(upgrade(Sysroot.load(S)), (e: ArborError) => e.code === 'NotFound' && /no deployments/.test(e.message));
    const csum = commitOs(`${S}/ostree/repo`, makeOsTree(`${mnt()}/t`, { version: '1' }), 'os/1', '1');
    await sysrootDeploy(Sysroot.load(S), { osname: 'testos', revision: csum });
    await assert.rejects(upgrade(Sysroot.load(S)), (e: ArborError) => e.code === 'InvalidArgument' && /names commit .*rebase/.test(e.message));
    await assert.rejects(cleanup(Sysroot.load(S)), (e: ArborError) => e.code === 'InvalidArgument');
  });

  it('follows a local ref: no remote, nothing fetched', async () => {
    const S = `${mnt()}/sysroot`;
    await sysrootDeploy(Sysroot.load(S), { osname: 'testos', revision: 'os/1' });
    let r = await upgrade(Sysroot.load(S));
    assert.equal(r.changed, false);
    const c2 = commitOs(`${S}/ostree/repo`, makeOsTree(`${mnt()}/t2`, { version: '2' }), 'os/1', '2', ['--timestamp=2024-02-01T00:00:00Z']);
    const c = await check(Sysroot.load(S));
    assert.equal(c.available, true);
    assert.equal(c.bytesFetched, 0);
    assert.equal(c.packageDiff, null);
    assert.equal(c.download?.bytes, 0);
    r = await upgrade(Sysroot.load(S));
    assert.equal(r.to.checksum, c2);
    assert.equal(r.bytesFetched, 0);
  });
});
