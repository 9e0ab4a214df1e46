// Arbor's pull and `ostree pull` side by side, both from nginx on loopback: the same
// objects land in twin repos, the golden http-src-repo (GPG-signed commit, deltas,
// signed summary) pulls like ostree pulls it, and ostree can pull from what Arbor pulled.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Checksum } from '../../src/ostree/checksum';
import { pullRefs } from '../../src/ostree/pull';
import { VECTORS, ostree, run } from '../helpers';
import { Nginx } from '../fixtures/http-server';
import { arborRepoWithRemote, initOstreeRepo, makeTree, objectSet, ostreeCommit, tempDirs, updateSummary } from './pull-fixtures';

const BRANCH = 'os/x86_64';

function ostreePull(dst: string, mode: string, url: string, args: string[]): void {
  initOstreeRepo(dst, mode as 'archive');
  ostree(['remote', 'add', `--repo=${dst}`, '--no-gpg-verify', 'origin', url]);
  ostree(['pull', `--repo=${dst}`, '--disable-static-deltas', ...args]);
}

function sorted(s: Set<string>): string[] {
  return [...s].sort();
}

describe('pull interop with ostree (nginx)', function () {
  const temp = tempDirs();
  let srv: string;
  let nginx: Nginx;
  let head: Checksum;

  before(async function () {
    srv = initOstreeRepo(`${temp('arbor-pullio-srv-')}/repo`);
    const tree = makeTree(`${temp()}/tree`, 200);
    ostreeCommit(srv, tree, BRANCH, ['--add-metadata-string=version=1']);
    fs.writeFileSync(`${tree}/d1/s1/new.txt`, 'new in 2\n');
    fs.rmSync(`${tree}/d2`, { recursive: true });
    head = ostreeCommit(srv, tree, BRANCH, ['--add-metadata-string=version=2']);
    updateSummary(srv);
    nginx = await Nginx.start(srv);
  });
  after(async () => nginx?.stop());

  for (const mode of ['archive', 'bare-user'] as const) {
    it(`fetches the same objects as ostree pull into ${mode} repos, and ostree fsck accepts Arbor's`, async () => {
      const o = `${temp()}/ostree`;
      ostreePull(o, mode, nginx.url, ['--depth=1', 'origin', BRANCH]);
      const a = `${temp()}/arbor`;
      await pullRefs(arborRepoWithRemote(a, mode, nginx.url), 'origin', [BRANCH], { depth: 1 });
      assert.deepEqual(sorted(objectSet(a)), sorted(objectSet(o)));
      assert.match(ostree(['fsck', `--repo=${a}`]).stdout, /2 commits/);
      assert.equal(ostree(['rev-parse', `--repo=${a}`, `origin:${BRANCH}`]).stdout.trim(), head);
      assert.equal(ostree(['show', `--repo=${a}`, '--print-metadata-key=version', head]).stdout.trim(), "'2'");
    });
  }

  it('ostree pulls from an archive repo that Arbor pulled into (the .filez kept as received are valid)', async () => {
    const a = `${temp()}/arbor`;
    await pullRefs(arborRepoWithRemote(a, 'archive', nginx.url), 'origin', [BRANCH]);
    const n2 = await Nginx.start(a);
    try {
      const o = `${temp()}/ostree`;
      ostreePull(o, 'bare-user', n2.url, ['origin', head]);
      assert.match(ostree(['fsck', `--repo=${o}`]).stdout, /1 commits/);
      assert.deepEqual(sorted(objectSet(o)), sorted(objectSet(a)));
    } finally {
      await n2.stop();
    }
  });

  it('pulls the golden http-src-repo (signed commit, deltas, signed summary) like ostree, detached metadata byte for byte', async () => {
    const dir = temp();
    run('tar', ['-xzf', `${VECTORS}/http-src-repo.tar.gz`, '-C', dir]);
    const n2 = await Nginx.start(`${dir}/srv`);
    try {
      const o = `${temp()}/ostree`;
      ostreePull(o, 'archive', n2.url, ['--depth=-1', 'origin', 'test/x86_64']);
      const a = `${temp()}/arbor`;
      const r = await pullRefs(arborRepoWithRemote(a, 'archive', n2.url), 'origin', ['test/x86_64'], { depth: -1 });
      const c2 = '5a4588c0c862cf637f81933941550871dc431bdfe5d2c051047ab18a9f891731';
      assert.equal(r.refs[0].checksum, c2);
      assert.deepEqual(sorted(objectSet(a)), sorted(objectSet(o)));
      const meta = `objects/5a/${c2.slice(2)}.commitmeta`;
      assert.ok(fs.readFileSync(`${a}/${meta}`).equals(fs.readFileSync(`${dir}/srv/${meta}`)), 'ostree.gpgsigs kept intact');
      assert.match(ostree(['fsck', `--repo=${a}`]).stdout, /2 commits/);
      assert.ok(!nginx.accessLog().concat(n2.accessLog()).some((l) => l.path.startsWith('deltas/')), 'no static deltas fetched');
    } finally {
      await n2.stop();
    }
  });
});
