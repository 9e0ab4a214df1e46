// Pulling from an OSTree archive repo made by the real `ostree`, served by a small
// HTTP server that logs every request: what is fetched, in which order, what is
// stored where, and how an interrupted or cancelled pull carries on.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ArborError } from '../../src/common/errors';
import { native } from '../../src/common/native';
import { Checksum } from '../../src/ostree/checksum';
import { Fetcher, createFetcher } from '../../src/ostree/fetcher';
import { PullProgressEvent, fetchCommitMetadata, pullRefs } from '../../src/ostree/pull';
import { Repo } from '../../src/ostree/repo';
import { ostree } from '../helpers';
import { TestHttpServer } from '../fixtures/http-server';
import {
  arborRepoWithRemote, assertHealthy, initOstreeRepo, leftovers, makeTree, objectSet, ostreeCommit, pseudoRandom, tempDirs, updateSummary,
} from './pull-fixtures';

const BRANCH = 'os/x86_64';


/** Every path under dir with its type, permissions and content (symlinks not followed). */
function snapshot(dir: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const name of fs.readdirSync(`${dir}/${rel}`).sort()) {
    const r = `${rel}/${name}`;
    const st = fs.lstatSync(`${dir}${r}`);
    const perm = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.set(r, `-> ${fs.readlinkSync(`${dir}${r}`)}`);
    else if (st.isDirectory()) {
      out.set(r, `dir ${perm}`);
      snapshot(dir, r, out);
    } else out.set(r, `file ${perm} ${fs.readFileSync(`${dir}${r}`).toString('base64')}`);
  }
  return out;
}

function objectPaths(paths: string[]): string[] {
  return paths.filter((p) => p.startsWith('objects/'));
}

describe('pull', function () {
  const temp = tempDirs();
  let srv: string;
  let server: TestHttpServer;
  let c1: Checksum;
  let c2: Checksum;

  before(async function () {
    srv = initOstreeRepo(`${temp('arbor-pull-srv-')}/repo`);
    const tree = makeTree(`${temp()}/tree`);
    c1 = ostreeCommit(srv, tree, BRANCH);
    // The upgrade changes one file: a new 200 KiB incompressible blob.
    fs.writeFileSync(`${tree}/blob.bin`, pseudoRandom(200 * 1024, 7));
    c2 = ostreeCommit(srv, tree, BRANCH);
    updateSummary(srv);
    server = await TestHttpServer.start(srv);
  });
  after(async () => server.stop());
  beforeEach(() => {
    server.log.length = 0;
    server.faults = [];
  });

  it('pulls a ref into an archive repo: commit, whole tree, ref under refs/remotes, nothing partial', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'archive', server.url);
    const r = await pullRefs(repo, 'origin', [BRANCH]);
    assert.equal(r.refs[0].checksum, c2);
    assert.equal(r.refs[0].previous, null);
    assert.equal(repo.readRef('origin:os/x86_64'), c2);
    assert.equal(fs.existsSync(`${dst}/refs/heads/os`), false);
    assert.deepEqual(fs.readdirSync(`${dst}/state`), []);
    assert.equal(ostree(['rev-parse', `--repo=${dst}`, `origin:${BRANCH}`]).stdout.trim(), c2);
    // Same objects as the server has for that commit (its parent excluded): ostree's own listing.
    const expected = new Set(ostree(['ls', `--repo=${srv}`, '-R', '-C', c2]).stdout.split('\n').filter(Boolean).flatMap((l) => {
      const f = l.split(/\s+/);
      return f[0].startsWith('d') ? [`${f[4]}.dirtree`, `${f[5]}.dirmeta`] : [`${f[4]}.file`];
    }));
    expected.add(`${c2}.commit`);
    assert.deepEqual([...objectSet(dst)].sort(), [...expected].sort());
    await assertHealthy(dst);
  });

  for (const mode of ['bare-user', 'bare'] as const) {
    it(`pulls into a ${mode} repo, which ostree fsck accepts and checks out like the server's`, async () => {
      const dst = `${temp()}/dst`;
      const repo = arborRepoWithRemote(dst, mode, server.url);
      await pullRefs(repo, 'origin', [BRANCH]);
      await assertHealthy(dst);
      const a = `${temp()}/a`;
      const b = `${temp()}/b`;
      ostree(['checkout', `--repo=${srv}`, '-U', c2, a]);
      ostree(['checkout', `--repo=${dst}`, '-U', c2, b]);
      assert.deepEqual(snapshot(b), snapshot(a));
      assert.match(ostree(['ls', `--repo=${dst}`, '-X', c2, '/xattr.txt']).stdout, /user\.test/);
      assert.equal(fs.readlinkSync(`${b}/link`), 'usr/bin/tool');
      assert.ok(fs.readFileSync(`${b}/blob.bin`).equals(fs.readFileSync(`${a}/blob.bin`)));
    });
  }

  it('asks for summary.sig, config and summary first, then the commit and its detached metadata, then the tree', async () => {
    const repo = arborRepoWithRemote(`${temp()}/dst`, 'archive', server.url);
    await pullRefs(repo, 'origin', [BRANCH]);
    const paths = server.log.map((r) => r.path);
    assert.deepEqual(paths.slice(0, 3).sort(), ['config', 'summary', 'summary.sig']);
    const prefix = `objects/${c2.slice(0, 2)}/${c2.slice(2)}`;
    assert.deepEqual(paths.slice(3, 5).sort(), [`${prefix}.commit`, `${prefix}.commitmeta`]);
    assert.ok(paths.slice(5).every((p) => /\.(dirtree|dirmeta|filez)$/.test(p)), 'then only tree objects');
    assert.equal(new Set(paths).size, paths.length, 'nothing is asked for twice');
    assert.ok(!paths.some((p) => p.includes('deltas')), 'static deltas are not used');
  });

  it('revalidates the cached summary with its ETag instead of downloading it again', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'archive', server.url);
    await pullRefs(repo, 'origin', [BRANCH], { commitMetadataOnly: true });
    const cached = `${dst}/tmp/cache/summaries/origin`;
    assert.ok(fs.readFileSync(cached).equals(fs.readFileSync(`${srv}/summary`)));
    assert.match(native.getxattr(cached, 'user.etag')!.toString(), /^".+"$/);
    server.log.length = 0;
    await pullRefs(repo, 'origin', [BRANCH]);
    assert.deepEqual(server.log.find((r) => r.path === 'summary'), { path: 'summary', status: 304, bytes: 0 });
  });

  it('resolves refs through refs/heads/ when the remote has no summary', async () => {
    server.faults = [{ match: /^summary$/, kind: 'status', status: 404 }];
    const repo = arborRepoWithRemote(`${temp()}/dst`, 'archive', server.url);
    const r = await pullRefs(repo, 'origin', [BRANCH]);
    assert.equal(r.refs[0].checksum, c2);
    assert.ok(server.fetched().includes(`refs/heads/${BRANCH}`));
  });

  it('names the known refs when the remote lacks the one asked for', async () => {
    const repo = arborRepoWithRemote(`${temp()}/dst`, 'archive', server.url);
    await assert.rejects(pullRefs(repo, 'origin', ['os/nope']), (e: ArborError) =>
      e.code === 'NotFound' && e.message.includes("'os/nope'") && e.message.includes(BRANCH));
  });

  it('--commit-metadata-only fetches only the commit, leaves it partial, and a later pull completes it', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'bare-user', server.url);
    const m = await fetchCommitMetadata(repo, 'origin', BRANCH);
    assert.equal(m.checksum, c2);
    assert.equal(m.changed, true);
    assert.match(m.commit.subject, /commit of tree/);
    assert.deepEqual(objectPaths(server.fetched()).map((p) => p.split('.').pop()).sort(), ['commit']);
    assert.deepEqual([...objectSet(dst)], [`${c2}.commit`]);
    assert.ok(fs.existsSync(`${dst}/state/${c2}.commitpartial`));
    assert.equal(repo.readRef('origin:os/x86_64'), c2);
    await assertHealthy(dst);
    await pullRefs(repo, 'origin', [BRANCH]);
    assert.equal(fs.existsSync(`${dst}/state/${c2}.commitpartial`), false);
    await assertHealthy(dst);
  });

  it('--depth=1 also fetches the parent commit and its tree; depth 0 does not', async () => {
    const d0 = `${temp()}/d0`;
    await pullRefs(arborRepoWithRemote(d0, 'archive', server.url), 'origin', [BRANCH]);
    assert.equal(objectSet(d0).has(`${c1}.commit`), false);
    const d1 = `${temp()}/d1`;
    await pullRefs(arborRepoWithRemote(d1, 'archive', server.url), 'origin', [BRANCH], { depth: 1 });
    assert.ok(objectSet(d1).has(`${c1}.commit`));
    assert.equal(ostree(['fsck', `--repo=${d1}`]).stdout.includes('2 commits'), true);
    assert.deepEqual(fs.readdirSync(`${d1}/state`), []);
  });

  it('an upgrade that changes one file fetches only the changed objects', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'bare-user', server.url);
    await pullRefs(repo, 'origin', [c1]);
    const before = objectSet(dst);
    server.log.length = 0;
    const r = await pullRefs(repo, 'origin', [BRANCH]);
    const added = [...objectSet(dst)].filter((o) => !before.has(o));
    const onServer = added.reduce((n, o) => {
      const [csum, kind] = o.split('.');
      return n + fs.statSync(`${srv}/objects/${csum.slice(0, 2)}/${csum.slice(2)}.${kind === 'file' ? 'filez' : kind}`).size;
    }, 0);
    const total = server.bytesServed();
    assert.ok(total <= 1.2 * onServer, `fetched ${total} bytes for ${onServer} bytes of changed objects`);
    // The blob, the commit, and the root dirtree that lists the blob: nothing else changed.
    assert.deepEqual(added.map((o) => o.split('.')[1]).sort(), ['commit', 'dirtree', 'file']);
    assert.equal(r.refs[0].objectsFetched, 3);
  });

  it('pulls a commit by checksum without writing a ref', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'archive', server.url);
    const r = await pullRefs(repo, 'origin', [c1]);
    assert.equal(r.refs[0].checksum, c1);
    assert.deepEqual([...repo.listRefs().keys()], []);
    await assertHealthy(dst);
  });

  it('resumes an interrupted pull without fetching again what it stored', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'archive', server.url);
    // A file deep in the tree: with one request at a time, most of the tree comes first.
    const deep = ostree(['ls', `--repo=${srv}`, '-C', c2, '/d6/s2/f20.txt']).stdout.trim().split(/\s+/)[4];
    server.faults = [{ match: new RegExp(`${deep.slice(2)}\\.filez$`), kind: 'status', status: 503, times: 1 }];
    await assert.rejects(pullRefs(repo, 'origin', [BRANCH], { retries: 0, concurrency: 1 }), /HTTP 503/);
    assert.ok(fs.existsSync(`${dst}/state/${c2}.commitpartial`), 'the commit stays partial');
    await assertHealthy(dst);
    // What the first pull stored (an answer that arrived after the failure is dropped, not stored).
    const stored = new Set([...objectSet(dst)].map((o) => `objects/${o.slice(0, 2)}/${o.slice(2).replace(/\.file$/, '.filez')}`));
    assert.ok(stored.size > 3, 'some objects were stored');
    server.log.length = 0;
    server.faults = [];
    await pullRefs(repo, 'origin', [BRANCH]);
    const again = objectPaths(server.fetched()).filter((p) => stored.has(p) && !p.endsWith('.commitmeta'));
    assert.deepEqual(again, []);
    assert.deepEqual(fs.readdirSync(`${dst}/state`), []);
    await assertHealthy(dst);
  });

  it('a cancelled pull stores only whole objects, and the next pull completes', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'bare-user', server.url);
    const ac = new AbortController();
    // Cancel from inside the transfer: after the 20th response.
    const real = createFetcher(server.url, { concurrency: 2 });
    let n = 0;
    const fetcher: Fetcher = {
      url: real.url,
      close: () => real.close(),
      fetch: async (req) => {
        const res = await real.fetch(req);
        if (++n === 20) ac.abort();
        return res;
      },
    };
    await assert.rejects(pullRefs(repo, 'origin', [BRANCH], { signal: ac.signal, fetcher }), (e: ArborError) => e.code === 'Cancelled');
    assert.ok(objectSet(dst).size > 0 && objectSet(dst).size < 50);
    await assertHealthy(dst);
    await pullRefs(repo, 'origin', [BRANCH]);
    await assertHealthy(dst);
    assert.equal(repo.readRef('origin:os/x86_64'), c2);
  });

  it('reports progress: objects and bytes fetched, outstanding, rate', async () => {
    const events: PullProgressEvent[] = [];
    const repo = arborRepoWithRemote(`${temp()}/dst`, 'archive', server.url);
    const r = await pullRefs(repo, 'origin', [BRANCH], { progress: (e) => events.push(e as PullProgressEvent) });
    assert.ok(events.length >= 1);
    const last = events[events.length - 1];
    assert.equal(last.phase, 'pull');
    assert.equal(last.done, r.objectsFetched);
    assert.equal(last.total, last.done);
    assert.equal(last.outstanding, 0);
    assert.equal(last.metadataFetched + last.contentFetched, last.done);
    assert.ok(last.bytes > 200 * 1024 && last.bytesPerSecond > 0);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].done >= events[i - 1].done && events[i].bytes >= events[i - 1].bytes);
  });

  it('refuses a commit whose ref binding does not list the ref asked for (unless bindings are not verified)', async () => {
    const other = initOstreeRepo(`${temp()}/srv2`);
    const c = ostreeCommit(other, makeTree(`${temp()}/t`, 5), 'os/testing');
    ostree(['refs', `--repo=${other}`, `--create=os/stable`, c]);
    updateSummary(other);
    const s2 = await TestHttpServer.start(other);
    try {
      const dst = `${temp()}/dst`;
      const repo = arborRepoWithRemote(dst, 'archive', s2.url);
      await assert.rejects(pullRefs(repo, 'origin', ['os/stable']), (e: ArborError) =>
        e.code === 'Corrupted' && e.message.includes('os/testing') && e.message.includes("'os/stable'"));
      assert.deepEqual([...objectSet(dst)], [], 'nothing of it was stored');
      await pullRefs(repo, 'origin', ['os/testing']);
      await pullRefs(repo, 'origin', ['os/stable'], { disableVerifyBindings: true });
      assert.equal(repo.readRef('origin:os/stable'), c);
    } finally {
      await s2.stop();
    }
  });

  it('refuses a remote whose config says it is not an archive repository', async () => {
    const bare = initOstreeRepo(`${temp()}/bare`, 'bare-user');
    ostreeCommit(bare, makeTree(`${temp()}/t`, 3), 'os/x');
    const s2 = await TestHttpServer.start(bare);
    try {
      const repo = arborRepoWithRemote(`${temp()}/dst`, 'archive', s2.url);
      await assert.rejects(pullRefs(repo, 'origin', ['os/x']), (e: ArborError) => e.code === 'Unsupported' && /'bare-user' repository/.test(e.message));
    } finally {
      await s2.stop();
    }
  });

  it('refuses a remote that requires GPG signatures, which Arbor cannot check', async () => {
    const repo = Repo.init(`${temp()}/dst`, 'archive');
    repo.config.set('remote "origin"', 'url', server.url);
    repo.saveConfig();
    await assert.rejects(pullRefs(repo, 'origin', [BRANCH]), (e: ArborError) => e.code === 'Unsupported' && /gpg-verify/.test(e.message));
    assert.equal(server.log.length, 0, 'before any request');
  });

  it('completes when almost nothing may wait in memory for the workers (maxBufferedBytes)', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'bare-user', server.url);
    const r = await pullRefs(repo, 'origin', [BRANCH], { maxBufferedBytes: 1, concurrency: 4 });
    assert.equal(r.refs[0].checksum, c2);
    await assertHealthy(dst);
  });

  it('pulls over file:// as well', async () => {
    const dst = `${temp()}/dst`;
    const repo = arborRepoWithRemote(dst, 'bare-user', `file://${srv}`);
    const r = await pullRefs(repo, 'origin', [BRANCH], { depth: -1 });
    assert.equal(r.refs[0].checksum, c2);
    assert.ok(objectSet(dst).has(`${c1}.commit`));
    await assertHealthy(dst);
  });
});
