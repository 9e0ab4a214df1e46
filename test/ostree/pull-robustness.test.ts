// A pull against a server that lies, breaks or stalls, and onto a disk that fills:
// each failure is a clear error naming the fault, nothing bad is stored (both fscks
// pass, every stored object has its right content), and the next pull with a good
// server (or a disk with room) completes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { ArborError } from '../../src/common/errors';
import { Checksum } from '../../src/ostree/checksum';
import { fsck } from '../../src/ostree/fsck';
import { pullRefs } from '../../src/ostree/pull';
import { Repo } from '../../src/ostree/repo';
import { ROOT, ostree, run, tmpdir } from '../helpers';
import { Fault, TestHttpServer } from '../fixtures/http-server';
import {
  arborRepoWithRemote, assertHealthy, initOstreeRepo, leftovers, makeTree, objectSet, ostreeCommit, pseudoRandom, tempDirs, updateSummary,
} from './pull-fixtures';

const BRANCH = 'os/x86_64';


function objectRe(csum: string, ext: string): RegExp {
  return new RegExp(`^objects/${csum.slice(0, 2)}/${csum.slice(2)}\\.${ext}$`);
}

describe('pull from a misbehaving server', function () {
  const temp = tempDirs();
  let srv: string;
  let server: TestHttpServer;
  let commit: Checksum;
  let blob: Checksum;
  let rootTree: Checksum;

  before(async function () {
    srv = initOstreeRepo(`${temp('arbor-pullrob-srv-')}/repo`);
    commit = ostreeCommit(srv, makeTree(`${temp()}/tree`, 30), BRANCH);
    updateSummary(srv);
    const ls = (p: string): string[] => ostree(['ls', `--repo=${srv}`, '-C', '-d', commit, p]).stdout.trim().split(/\s+/);
    blob = ls('/blob.bin')[4] as Checksum;
    rootTree = ls('/')[4] as Checksum;
    server = await TestHttpServer.start(srv);
  });
  after(async () => server.stop());
  beforeEach(() => {
    server.faults = [];
    server.log.length = 0;
  });

  /** Pulls with the fault, checks the error and the repo, then pulls again from the healed server. */
  async function failsCleanly(faults: Fault[], expect: (e: ArborError) => boolean, opts: { timeoutMs?: number; maxContentSize?: number } = {}): Promise<void> {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'archive', server.url);
    server.faults = faults;
    await assert.rejects(pullRefs(repo, 'origin', [BRANCH], { retries: 1, ...opts }), (e: unknown) => {
      assert.ok(e instanceof ArborError, `an ArborError, not ${String(e)}`);
      assert.ok(expect(e), `unexpected error: ${e.code}: ${e.message}`);
      return true;
    });
    await assertHealthy(dst);
    assert.equal(repo.readRef(`origin:${BRANCH}`), null, 'no ref moved');
    server.faults = [];
    await pullRefs(repo, 'origin', [BRANCH]);
    assert.equal(repo.readRef(`origin:${BRANCH}`), commit);
    await assertHealthy(dst);
  }

  it('refuses a corrupted content object', async () => {
    await failsCleanly([{ match: objectRe(blob, 'filez'), kind: 'corrupt' }], (e) =>
      e.code === 'Corrupted' && e.message.includes(blob) && /damaged|checksum mismatch/.test(e.message));
  });

  it('refuses a corrupted dirtree', async () => {
    await failsCleanly([{ match: objectRe(rootTree, 'dirtree'), kind: 'corrupt' }], (e) =>
      e.code === 'Corrupted' && e.message.includes(`dirtree ${rootTree}`) && e.message.includes('checksum mismatch'));
  });

  it('refuses a truncated object (after retrying it)', async () => {
    await failsCleanly([{ match: objectRe(blob, 'filez'), kind: 'truncate' }], (e) =>
      e.code === 'Io' && e.message.includes(blob) && /cut short|closed|broke/.test(e.message) && e.message.includes('2 attempts'));
  });

  it('refuses a commit object larger than the summary says', async () => {
    await failsCleanly([{ match: objectRe(commit, 'commit'), kind: 'oversize', extra: 100 }], (e) =>
      e.code === 'Corrupted' && e.message.includes(commit) && /more than the \d+ allowed/.test(e.message));
  });

  it('refuses a content object larger than the limit', async () => {
    await failsCleanly([{ match: objectRe(blob, 'filez'), kind: 'oversize', extra: 512 * 1024 }], (e) =>
      e.code === 'Corrupted' && e.message.includes(blob) && e.message.includes('allowed'), { maxContentSize: 256 * 1024 });
  });

  it('refuses a summary that is not a summary', async () => {
    await failsCleanly([{ match: /^summary$/, kind: 'replace', body: pseudoRandom(300, 3) }], (e) =>
      e.code === 'Corrupted' && e.message.includes("summary of remote 'origin'"));
  });

  it('refuses a summary that points the ref at a different commit than the server sends', async () => {
    // The commit the summary names comes back as another commit's bytes.
    const other = initOstreeRepo(`${temp()}/other`);
    const oc = ostreeCommit(other, makeTree(`${temp()}/t`, 2), BRANCH);
    const bytes = fs.readFileSync(`${other}/objects/${oc.slice(0, 2)}/${oc.slice(2)}.commit`);
    await failsCleanly([{ match: objectRe(commit, 'commit'), kind: 'replace', body: bytes }], (e) =>
      e.code === 'Corrupted' && e.message.includes(`commit ${commit}`) && e.message.includes(oc));
  });

  it('gives up on a server that stops answering, after the timeout', async () => {
    const t0 = Date.now();
    await failsCleanly([{ match: objectRe(blob, 'filez'), kind: 'hang' }], (e) =>
      e.code === 'Io' && e.message.includes(blob) && /timed out/.test(e.message), { timeoutMs: 300 });
    assert.ok(Date.now() - t0 < 20_000);
  });

  it('refuses a server error status without storing anything of that object', async () => {
    await failsCleanly([{ match: objectRe(blob, 'filez'), kind: 'status', status: 500 }], (e) =>
      e.code === 'Io' && e.message.includes('HTTP 500'));
  });
});

describe('a pull killed mid-way', function () {
  const temp = tempDirs();

  it('resumes from its last checkpoint without fetching again what it made durable', async () => {
    const srv = initOstreeRepo(`${temp('arbor-pullkill-srv-')}/repo`);
    const commit = ostreeCommit(srv, makeTree(`${temp()}/tree`, 40), BRANCH);
    updateSummary(srv);
    const server = await TestHttpServer.start(srv);
    try {
      const dst = `${temp()}/dst`;
      arborRepoWithRemote(dst, 'archive', server.url);
      server.faults = [{ match: /\.filez$/, kind: 'delay', ms: 25 }];
      const script = `const { Repo } = require(${JSON.stringify(`${ROOT}/dist/src/ostree/repo.js`)});
        require(${JSON.stringify(`${ROOT}/dist/src/ostree/pull.js`)}).pullRefs(Repo.open(${JSON.stringify(dst)}), 'origin', ['${BRANCH}'], { checkpointObjects: 5, concurrency: 1 });`;
      const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      while (objectSet(dst).size < 15) await new Promise((r) => setTimeout(r, 10));
      child.kill('SIGKILL');
      await exited;
      const stored = objectSet(dst);
      assert.ok(fs.existsSync(`${dst}/state/${commit}.commitpartial`));
      ostree(['fsck', `--repo=${dst}`]);
      assert.deepEqual((await fsck(Repo.open(dst))).errors, []);

      server.faults = [];
      server.log.length = 0;
      await pullRefs(Repo.open(dst), 'origin', [BRANCH]);
      const refetched = server.fetched(/^objects\//).filter((p) => !p.endsWith('.commitmeta')).map((p) => p.slice(8).replace('/', '').replace('.filez', '.file'));
      assert.deepEqual(refetched.filter((o) => stored.has(o)), []);
      await assertHealthy(dst);
    } finally {
      await server.stop();
    }
  });
});

describe('pull onto a full disk', function () {
  const temp = tempDirs();
  let mnt = '';
  let server: TestHttpServer;

  before(async function () {
    const srv = initOstreeRepo(`${temp('arbor-pullfull-srv-')}/repo`);
    // About 3 MiB of incompressible content for a 1 MiB filesystem.
    const tree = makeTree(`${temp()}/tree`, 10, 1024 * 1024);
    for (let i = 0; i < 2; i++) fs.writeFileSync(`${tree}/big${i}.bin`, pseudoRandom(1024 * 1024, 100 + i));
    ostreeCommit(srv, tree, BRANCH);
    updateSummary(srv);
    server = await TestHttpServer.start(srv);
    // Not a temp() dir: it must be unmounted before it is removed.
    mnt = tmpdir('arbor-pullfull-mnt-');
    run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'arbor-test-full', mnt]);
  });
  after(async () => {
    await server.stop();
    if (mnt) {
      run('umount', [mnt], { allowFail: true });
      fs.rmdirSync(mnt);
    }
  });

  it('fails with a clear error, leaves a repo that passes fsck, and a later pull with room completes', async () => {
    const dst = `${mnt}/repo`;
    const repo = arborRepoWithRemote(dst, 'bare-user', server.url);
    await assert.rejects(pullRefs(repo, 'origin', [BRANCH]), (e: ArborError) =>
      e instanceof ArborError && e.code === 'Io' && /no space left/.test(e.message) && e.message.includes(dst));
    await assertHealthy(dst);
    assert.equal(repo.readRef(`origin:${BRANCH}`), null);
    const stored = objectSet(dst);

    // Into another repo with room.
    const other = `${temp()}/other`;
    await pullRefs(arborRepoWithRemote(other, 'bare-user', server.url), 'origin', [BRANCH]);
    await assertHealthy(other);

    // And into the same one once the disk grows: only what is missing is fetched.
    run('mount', ['-o', 'remount,size=16m', mnt]);
    server.log.length = 0;
    await pullRefs(repo, 'origin', [BRANCH]);
    await assertHealthy(dst);
    const refetched = server.fetched(/^objects\//).filter((p) => !p.endsWith('.commitmeta')).map((p) => p.slice(8).replace('/', '').replace('.filez', '.file'));
    assert.deepEqual(refetched.filter((o) => stored.has(o)), []);
  });
});
