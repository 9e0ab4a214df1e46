// `arbor remote` and `arbor repo pull` on the command line: remotes are written into
// the repo config as `ostree remote add` writes them (ostree reads Arbor's and the
// other way round), listed, shown and deleted with ostree's output and flags.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { KeyFile } from '../../src/common/keyfile';
import { Repo } from '../../src/ostree/repo';
import { getRemote } from '../../src/ostree/remotes';
import { generateKeyPair } from '../../src/ostree/sign';
import { arbor, ostree } from '../helpers';
import { Nginx } from '../fixtures/http-server';
import { initOstreeRepo, makeTree, ostreeCommit, tempDirs, updateSummary } from './pull-fixtures';

function group(repoPath: string, name: string): Array<[string, string]> {
  const kf = KeyFile.parse(fs.readFileSync(`${repoPath}/config`, 'utf8'));
  const g = `remote "${name}"`;
  return kf.keys(g).map((k) => [k, kf.get(g, k)!]);
}

describe('arbor remote', function () {
  const temp = tempDirs();

  function twins(): { a: string; o: string } {
    const d = temp();
    arbor(['repo', '--repo', `${d}/a`, 'init', '--mode=archive']);
    initOstreeRepo(`${d}/o`);
    return { a: `${d}/a`, o: `${d}/o` };
  }

  it('add writes the same [remote "NAME"] group as ostree remote add', () => {
    const { a, o } = twins();
    const args = ['--no-gpg-verify', '--set=foo=bar', '--set=gpg-verify-summary=false', 'main', 'https://example.com/repo/', 'os/a', 'os/b'];
    ostree(['remote', 'add', `--repo=${o}`, ...args]);
    arbor(['remote', '--repo', a, 'add', ...args]);
    assert.deepEqual(group(a, 'main'), group(o, 'main'));
    assert.deepEqual(group(a, 'main')[1], ['branches', 'os/a;os/b;']);
    // ostree reads what Arbor wrote.
    assert.equal(ostree(['remote', 'show-url', `--repo=${a}`, 'main']).stdout.trim(), 'https://example.com/repo/');
    assert.equal(ostree(['remote', 'list', `--repo=${a}`]).stdout, 'main\n');
  });

  it('--sign-verify=ed25519=inline:KEY and file:PATH write sign-verify and the verification keys', () => {
    const { a } = twins();
    const k = generateKeyPair();
    const f = `${temp()}/trusted`;
    fs.writeFileSync(f, `${k.publicKey}\n`);
    arbor(['remote', '--repo', a, 'add', '--no-gpg-verify', `--sign-verify=ed25519=inline:${k.publicKey}`, 's1', 'http://127.0.0.1:1/']);
    arbor(['remote', '--repo', a, 'add', '--no-gpg-verify', '--sign-verify', `ed25519=file:${f}`, 's2', 'http://127.0.0.1:1/']);
    assert.deepEqual(group(a, 's1'), [['url', 'http://127.0.0.1:1/'], ['gpg-verify', 'false'], ['sign-verify', 'true'], ['verification-ed25519-key', k.publicKey]]);
    assert.deepEqual(getRemote(Repo.open(a), 's2').ed25519File, f);
    assert.deepEqual(getRemote(Repo.open(a), 's2').signVerify, ['ed25519']);
    const bad = arbor(['remote', '--repo', a, 'add', '--sign-verify=rsa=inline:AAAA', 's3', 'http://x/'], { allowFail: true });
    assert.equal(bad.status, 7);
    assert.match(bad.stderr, /'rsa' is not supported/);
  });

  it('list and list -u print what ostree prints; show-url prints the URL', () => {
    const { a, o } = twins();
    for (const r of [a, o]) {
      ostree(['remote', 'add', `--repo=${r}`, '--no-gpg-verify', 'origin', 'http://127.0.0.1:8080/repo']);
      ostree(['remote', 'add', `--repo=${r}`, 'fedora-iot', 'file:///srv/repo']);
    }
    for (const args of [['list'], ['list', '-u']]) {
      assert.equal(arbor(['remote', '--repo', a, ...args]).stdout, ostree(['remote', ...args, `--repo=${o}`]).stdout);
    }
    assert.equal(arbor(['remote', '--repo', a, 'show-url', 'fedora-iot']).stdout, 'file:///srv/repo\n');
  });

  it('delete removes the remote; an unknown one is an error naming the known remotes, unless --if-exists', () => {
    const { a } = twins();
    arbor(['remote', '--repo', a, 'add', '--no-gpg-verify', 'one', 'http://x/']);
    arbor(['remote', '--repo', a, 'add', '--no-gpg-verify', 'two', 'http://y/']);
    arbor(['remote', '--repo', a, 'delete', 'one']);
    assert.equal(arbor(['remote', '--repo', a, 'list']).stdout, 'two\n');
    const r = arbor(['remote', '--repo', a, 'delete', 'one'], { allowFail: true });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /remote 'one' is not configured.*known remotes: two/);
    arbor(['remote', '--repo', a, 'delete', '--if-exists', 'one']);
    assert.equal(ostree(['remote', 'list', `--repo=${a}`]).stdout, 'two\n');
  });

  it('add refuses an existing remote unless --force or --if-not-exists, and refuses URLs it cannot fetch', () => {
    const { a } = twins();
    arbor(['remote', '--repo', a, 'add', '--no-gpg-verify', 'r', 'http://x/']);
    const again = arbor(['remote', '--repo', a, 'add', 'r', 'http://y/'], { allowFail: true });
    assert.equal(again.status, 4);
    arbor(['remote', '--repo', a, 'add', '--if-not-exists', 'r', 'http://y/']);
    assert.equal(arbor(['remote', '--repo', a, 'show-url', 'r']).stdout, 'http://x/\n');
    arbor(['remote', '--repo', a, 'add', '--force', '--no-gpg-verify', 'r', 'http://z/']);
    assert.equal(arbor(['remote', '--repo', a, 'show-url', 'r']).stdout, 'http://z/\n');
    assert.equal(arbor(['remote', '--repo', a, 'add', 'f', 'ftp://x/'], { allowFail: true }).status, 7);
  });

  it('arbor repo pull REMOTE:REF and REMOTE REF… pull like ostree pull and print a summary line', async () => {
    const srv = initOstreeRepo(`${temp()}/srv`);
    const c = ostreeCommit(srv, makeTree(`${temp()}/t`, 8), 'os/x86_64');
    ostreeCommit(srv, makeTree(`${temp()}/t2`, 3), 'os/other');
    updateSummary(srv);
    // nginx, not the in-process server: the CLI runs synchronously and would block it.
    const server = await Nginx.start(srv);
    try {
      const { a } = twins();
      arbor(['remote', '--repo', a, 'add', '--no-gpg-verify', 'origin', server.url]);
      const r = arbor(['repo', '--repo', a, 'pull', 'origin:os/x86_64']);
      assert.match(r.stdout, /^\d+ metadata, \d+ content objects fetched; .* transferred in \d+ seconds\n$/);
      assert.equal(ostree(['rev-parse', `--repo=${a}`, 'origin:os/x86_64']).stdout.trim(), c);
      arbor(['repo', '--repo', a, 'pull', 'origin', 'os/x86_64', 'os/other', '--commit-metadata-only']);
      assert.equal(ostree(['refs', `--repo=${a}`]).stdout, 'origin:os/other\norigin:os/x86_64\n');
      const bad = arbor(['repo', '--repo', a, 'pull', 'origin', 'os/none'], { allowFail: true });
      assert.equal(bad.status, 3);
      assert.match(bad.stderr, /^error: ref 'os\/none' not found in remote 'origin'; known refs: os\/other, os\/x86_64\n$/);
    } finally {
      await server.stop();
    }
  });
});
