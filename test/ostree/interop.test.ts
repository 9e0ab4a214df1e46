// Arbor and the real `ostree` (2022.7) on the same repositories: the same tree gives
// the same commit, each tool reads, verifies, checks out and prunes what the other
// wrote, and summaries pass between them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { native } from '../../src/common/native';
import { Variant } from '../../src/gvariant';
import { Checksum } from '../../src/ostree/checksum';
import { checkout } from '../../src/ostree/checkout';
import { CommitOptions, commitTree } from '../../src/ostree/commit';
import { fsck } from '../../src/ostree/fsck';
import { prune } from '../../src/ostree/prune';
import { Repo } from '../../src/ostree/repo';
import { readSummary } from '../../src/ostree/summary';
import { VECTORS, VECTOR_COMMIT, arbor, makeVectorTree, ostree, run, tmpdir, tempDirs } from '../helpers';
import { pseudoRandom } from './pull-fixtures';

const JAN_1_2024 = 1704067200;

/** The same commit, spelled for `ostree commit` and for Arbor: metadata keys deliberately unsorted. */
const OSTREE_COMMIT_FLAGS = [
  '-b', 'rich/x86_64', '--timestamp=2024-01-01T00:00:00Z', '-s', 'Rich subject', '-m', 'Rich body\nsecond line',
  '--add-metadata-string=version=2.0', '--add-metadata-string=alpha=first', '--owner-uid=0', '--owner-gid=0',
];
const ARBOR_COMMIT_OPTS: CommitOptions = {
  branch: 'rich/x86_64',
  timestamp: JAN_1_2024,
  subject: 'Rich subject',
  body: 'Rich body\nsecond line',
  metadata: [['version', new Variant('s', '2.0')], ['alpha', new Variant('s', 'first')]],
  ownerUid: 0,
  ownerGid: 0,
};



/** A tree with what trips up reimplementations: odd modes, setuid, empty and big files, every kind of symlink, xattrs, awkward names. */
function makeRichTree(dir: string): string {
  const file = (rel: string, content: string | Buffer, mode: number): void => {
    fs.mkdirSync(path.dirname(`${dir}/${rel}`), { recursive: true });
    fs.writeFileSync(`${dir}/${rel}`, content);
    fs.chmodSync(`${dir}/${rel}`, mode);
  };
  file('etc/secret.conf', 'password=hunter2\n', 0o600);
  file('etc/empty', '', 0o644);
  file('usr/bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  file('usr/bin/su-helper', '#!/bin/sh\necho root\n', 0o4755);
  file('usr/share/blob.bin', pseudoRandom(1536 * 1024 + 7), 0o644);
  file('usr/share/doc/with space.txt', 'spaces\n', 0o644);
  file('usr/share/doc/ünïcødé-名前.txt', 'utf-8\n', 0o644);
  fs.mkdirSync(`${dir}/var/empty-dir`, { recursive: true });
  fs.mkdirSync(`${dir}/root`, { mode: 0o700 });
  fs.chmodSync(`${dir}/root`, 0o700);
  fs.mkdirSync(`${dir}/links`);
  fs.symlinkSync('/usr/bin/tool', `${dir}/links/absolute`);
  fs.symlinkSync('../usr/bin/tool', `${dir}/links/relative`);
  fs.symlinkSync('does/not/exist', `${dir}/links/dangling`);
  fs.symlinkSync('doc/with space.txt', `${dir}/usr/share/space link`);
  // Set out of order: both tools must sort them.
  native.setxattr(`${dir}/etc/secret.conf`, 'user.zz', Buffer.from('last'));
  native.setxattr(`${dir}/etc/secret.conf`, 'user.aa', Buffer.from('first\0'));
  native.setxattr(`${dir}/usr`, 'user.dir', Buffer.from('on a directory'));
  for (const d of [dir, `${dir}/etc`, `${dir}/usr`, `${dir}/usr/bin`, `${dir}/usr/share`, `${dir}/usr/share/doc`, `${dir}/var`, `${dir}/var/empty-dir`, `${dir}/links`]) {
    fs.chmodSync(d, 0o755);
  }
  return dir;
}

interface Entry { type: string; mode: number; uid: number; gid: number; sha256?: string; target?: string; xattrs?: Record<string, string> }

/**
 * Every path under root (lstat, never following symlinks) with its type, mode,
 * owner, content hash, symlink target and user.* xattrs. `user` compares as a
 * user-mode checkout can reproduce: setuid/setgid dropped, xattrs ignored.
 */
function snapshot(root: string, opts: { user?: boolean } = {}): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const walk = (abs: string, rel: string): void => {
    const st = fs.lstatSync(abs);
    const e: Entry = {
      type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other',
      mode: st.mode & (opts.user ? 0o1777 : 0o7777),
      uid: st.uid,
      gid: st.gid,
    };
    if (!opts.user) {
      e.xattrs = Object.fromEntries(native.listxattrs(abs).filter(([n]) => n.startsWith('user.')).map(([n, v]) => [n, v.toString('hex')]));
    }
    if (st.isSymbolicLink()) {
      e.target = fs.readlinkSync(abs, 'utf8');
      e.mode = 0o777;
    } else if (st.isFile()) {
      e.sha256 = createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    }
    out[rel] = e;
    if (st.isDirectory()) for (const n of fs.readdirSync(abs).sort()) walk(`${abs}/${n}`, rel === '/' ? `/${n}` : `${rel}/${n}`);
  };
  walk(root, '/');
  return out;
}

function assertSameTree(actual: string, expected: string, opts: { user?: boolean } = {}): void {
  assert.deepEqual(snapshot(actual, opts), snapshot(expected, opts));
}

/** `objects/XX/rest.ext` → `XXrest.ext`, for every object file in a repo. */
function objectFiles(repoPath: string): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(`${repoPath}/objects`)) {
    for (const f of fs.readdirSync(`${repoPath}/objects/${d}`)) out.push(d + f);
  }
  return out.sort();
}

function objectFile(repoPath: string, name: string): string {
  return `${repoPath}/objects/${name.slice(0, 2)}/${name.slice(2)}`;
}

/** The paths `ostree ls -R` prints, from lines like `-00644 0 0 12 { … } /a b -> target`. */
function lsPaths(text: string): string[] {
  return text.split('\n').filter(Boolean).map((l) => {
    const m = /^[-dl]\d{5} \d+ \d+ +\d+ (?:\{ .* \} )?(\/.*?)(?: -> .*)?$/.exec(l);
    assert.ok(m, `unexpected ls line: ${l}`);
    return m[1];
  });
}

describe('interoperation with ostree 2022.7', function () {
  this.timeout(60_000);
  const tmp = tempDirs();
  let src: string;

  before(() => {
    src = makeRichTree(`${tmp()}/tree`);
  });

  for (const mode of ['archive', 'bare-user'] as const) {
    describe(`${mode} repositories`, () => {
      let ours: Repo;
      let ourCommit: Checksum;
      let theirs: string;
      let theirCommit: string;

      before(async () => {
        const d = tmp();
        ours = Repo.init(`${d}/arbor`, mode);
        ourCommit = (await commitTree(ours, src, ARBOR_COMMIT_OPTS)).checksum;
        theirs = `${d}/ostree`;
        ostree([`--repo=${theirs}`, 'init', `--mode=${mode}`]);
        theirCommit = ostree([`--repo=${theirs}`, 'commit', ...OSTREE_COMMIT_FLAGS, src]).stdout.trim();
      });

      it('gives the same commit checksum as `ostree commit` with the same options', () => {
        assert.match(theirCommit, /^[0-9a-f]{64}$/);
        assert.equal(ourCommit, theirCommit);
      });

      it('keeps the metadata keys in the order given, then the ref binding', () => {
        assert.deepEqual(ours.loadCommit(ourCommit).metadata.map(([k]) => k), ['version', 'alpha', 'ostree.ref-binding']);
      });

      it('gives that checksum through `arbor repo commit` with ostree\'s flags', () => {
        const repoPath = `${tmp()}/cli`;
        arbor(['repo', '--repo', repoPath, 'init', '--mode', mode]);
        const out = arbor(['repo', '--repo', repoPath, 'commit', ...OSTREE_COMMIT_FLAGS, src]).stdout.trim();
        assert.equal(out, theirCommit);
      });

      if (mode === 'archive') {
        it('writes the objects ostree writes: metadata byte for byte, .filez headers and inflated content equal', () => {
          // Node's zlib (Chromium's fork) deflates large inputs differently from the
          // system zlib, so .filez bytes may differ; objects are named by their
          // uncompressed content, so that does not affect compatibility.
          const names = objectFiles(ours.path);
          assert.deepEqual(names, objectFiles(theirs));
          for (const name of names) {
            const a = fs.readFileSync(objectFile(ours.path, name));
            const b = fs.readFileSync(objectFile(theirs, name));
            if (!name.endsWith('.filez')) {
              assert.deepEqual(a, b, name);
              continue;
            }
            const headerEnd = 8 + b.readUInt32BE(0);
            assert.deepEqual(a.subarray(0, headerEnd), b.subarray(0, headerEnd), `${name} header`);
            const inflate = (x: Buffer): Buffer => (x.length > headerEnd ? zlib.inflateRawSync(x.subarray(headerEnd)) : Buffer.alloc(0));
            assert.deepEqual(inflate(a), inflate(b), `${name} content`);
          }
        });
      } else {
        it('writes the objects ostree writes: metadata byte for byte, content files with equal bytes, modes and user.ostreemeta', () => {
          const names = objectFiles(ours.path);
          assert.deepEqual(names, objectFiles(theirs));
          for (const name of names) {
            const [a, b] = [objectFile(ours.path, name), objectFile(theirs, name)];
            assert.deepEqual(fs.readFileSync(a), fs.readFileSync(b), name);
            if (!name.endsWith('.file')) continue;
            assert.equal(fs.lstatSync(a).mode, fs.lstatSync(b).mode, `${name} mode`);
            assert.deepEqual(native.getxattr(a, 'user.ostreemeta'), native.getxattr(b, 'user.ostreemeta'), `${name} user.ostreemeta`);
          }
        });
      }

      describe('ostree reading the repository Arbor wrote', () => {
        it('finds no errors with `ostree fsck`', () => {
          const r = ostree([`--repo=${ours.path}`, 'fsck']);
          assert.match(r.stdout, /no errors found/);
        });

        it('lists every path of the tree with `ostree ls -R -X`, exactly as `arbor repo ls -R -X` does', () => {
          const theirsLs = ostree([`--repo=${ours.path}`, 'ls', '-R', '-X', 'rich/x86_64']).stdout;
          assert.deepEqual(lsPaths(theirsLs).sort(), Object.keys(snapshot(src)).sort());
          assert.equal(arbor(['repo', '--repo', ours.path, 'ls', '-R', '-X', 'rich/x86_64']).stdout, theirsLs);
        });

        if (mode === 'archive') {
          it('checks out with `ostree checkout` to a copy of the source tree', () => {
            const dest = `${tmp()}/co`;
            ostree([`--repo=${ours.path}`, 'checkout', 'rich/x86_64', dest]);
            assertSameTree(dest, src);
          });
        } else {
          it('checks out with `ostree checkout -U` to the source tree, less setuid bits and xattrs', () => {
            const dest = `${tmp()}/co`;
            ostree([`--repo=${ours.path}`, 'checkout', '-U', 'rich/x86_64', dest]);
            assertSameTree(dest, src, { user: true });
            assert.equal(fs.statSync(`${dest}/usr/bin/su-helper`).mode & 0o7777, 0o755);
          });

          it('checks out with `ostree checkout` as root to a copy of the source tree, xattrs and setuid included', () => {
            const dest = `${tmp()}/co`;
            ostree([`--repo=${ours.path}`, 'checkout', 'rich/x86_64', dest]);
            assertSameTree(dest, src);
          });
        }

        it('updates and views the summary with `ostree summary -u` and `--view`', () => {
          ostree([`--repo=${ours.path}`, 'summary', '-u']);
          const view = ostree([`--repo=${ours.path}`, 'summary', '--view']).stdout;
          assert.match(view, new RegExp(`\\* rich/x86_64\\n    Latest Commit \\(\\d+ bytes\\):\\n      ${ourCommit}\\n`));
          assert.match(view, /Version \(ostree\.commit\.version\): 2\.0/);
        });
      });

      describe('Arbor reading the repository ostree wrote', () => {
        it('finds no errors with fsck', async () => {
          const r = await fsck(Repo.open(theirs));
          assert.deepEqual(r.errors, []);
          assert.equal(r.commits, 1);
        });

        it('lists the tree with `arbor repo ls -R -X` exactly as `ostree ls -R -X` does', () => {
          const expected = ostree([`--repo=${theirs}`, 'ls', '-R', '-X', 'rich/x86_64']).stdout;
          assert.equal(arbor(['repo', '--repo', theirs, 'ls', '-R', '-X', 'rich/x86_64']).stdout, expected);
        });

        it('checks out a copy of the source tree', async () => {
          const repo = Repo.open(theirs);
          const dest = `${tmp()}/co`;
          await checkout(repo, repo.resolveRev('rich/x86_64'), dest);
          assertSameTree(dest, src);
        });
      });
    });
  }

  describe('the recorded HTTP source repository (signed commit, commitmeta, static deltas)', () => {
    let repo: Repo;

    before(() => {
      const d = tmp();
      run('tar', ['xzf', `${VECTORS}/http-src-repo.tar.gz`, '-C', d]);
      const found = run('find', [d, '-name', 'config', '-type', 'f']).stdout.split('\n').filter(Boolean)
        .map((p) => path.dirname(p)).filter((p) => fs.existsSync(`${p}/objects`));
      assert.equal(found.length, 1, `one repository in the tarball: ${found.join(', ')}`);
      repo = Repo.open(found[0]);
      assert.ok(fs.existsSync(`${repo.path}/deltas`), 'the repository has static deltas');
    });

    it('passes Arbor fsck, which leaves deltas/ alone', async () => {
      const r = await fsck(repo);
      assert.deepEqual(r.errors, []);
      assert.equal(r.commits, 2);
    });

    it('lists the refs `ostree refs` lists', () => {
      const expected = ostree([`--repo=${repo.path}`, 'refs']).stdout.split('\n').filter(Boolean).sort();
      assert.deepEqual([...repo.listRefs().keys()], expected);
      for (const ref of expected) {
        assert.equal(repo.readRef(ref), ostree([`--repo=${repo.path}`, 'rev-parse', ref]).stdout.trim());
      }
    });

    it('reads the GPG signature in the head commit\'s detached metadata', () => {
      const [head] = [...repo.listRefs().values()];
      const meta = repo.loadCommitMeta(head);
      assert.ok(meta, 'the head commit has a .commitmeta');
      assert.ok(meta.some(([k]) => k === 'ostree.gpgsigs'));
    });

    it('checks out every commit as `ostree checkout` does', async () => {
      const commits = repo.listObjects().filter((o) => o.type === 'commit').map((o) => o.csum);
      for (const [, head] of repo.listRefs()) assert.ok(commits.includes(head));
      const d = tmp();
      for (const c of commits) {
        await checkout(repo, c, `${d}/arbor-${c}`);
        ostree([`--repo=${repo.path}`, 'checkout', c, `${d}/ostree-${c}`]);
        assertSameTree(`${d}/arbor-${c}`, `${d}/ostree-${c}`);
      }
    });

    it('decodes the signed summary ostree wrote', () => {
      const s = readSummary(repo)!;
      assert.deepEqual(new Map([...s.refs].map(([n, r]) => [n, r.checksum])), repo.listRefs());
      for (const [, r] of s.refs) assert.equal(r.size, fs.statSync(repo.objectPath('commit', r.checksum)).size);
    });
  });

  describe('summary files', () => {
    it('`arbor repo summary -u` writes a summary `ostree summary --view` reads', async () => {
      const d = tmp();
      const repo = Repo.init(`${d}/repo`, 'archive');
      await commitTree(repo, makeVectorTree(`${d}/tree`), {
        branch: 'test/x86_64', timestamp: JAN_1_2024, subject: 'Test subject', body: 'Test body',
        metadata: [['version', new Variant('s', '1.0')]], ownerUid: 0, ownerGid: 0,
      });
      await commitTree(repo, `${d}/tree`, { branch: 'test/owned', timestamp: JAN_1_2024, subject: 'owned', ownerUid: 1000, ownerGid: 1001, noBindings: true });
      arbor(['repo', '--repo', repo.path, 'summary', '-u']);
      const view = ostree([`--repo=${repo.path}`, 'summary', '--view']).stdout;
      assert.match(view, new RegExp(`\\* test/x86_64\\n    Latest Commit \\(166 bytes\\):\\n      ${VECTOR_COMMIT}\\n    Version \\(ostree.commit.version\\): 1.0\\n    Timestamp \\(ostree.commit.timestamp\\): 2024-01-01T00:00:00\\+00\\n`));
      assert.match(view, /\* test\/owned\n    Latest Commit \(86 bytes\):\n      bc11429cd79690f31c705e0fe8e9261054ee90f998399d05cdd7455538c93b9c\n/);
      assert.match(view, /Repository Mode \(ostree.summary.mode\): archive-z2/);
    });

    it('`ostree summary -u` writes a summary Arbor decodes', () => {
      const d = tmp();
      makeVectorTree(`${d}/tree`);
      ostree([`--repo=${d}/repo`, 'init', '--mode=archive']);
      ostree([`--repo=${d}/repo`, 'commit', '-b', 'test/x86_64', '--timestamp=2024-01-01T00:00:00Z', '-s', 'Test subject', '-m', 'Test body',
        '--add-metadata-string=version=1.0', '--owner-uid=0', '--owner-gid=0', `${d}/tree`]);
      ostree([`--repo=${d}/repo`, 'summary', '-u']);
      const s = readSummary(Repo.open(`${d}/repo`))!;
      assert.deepEqual([...s.refs.keys()], ['test/x86_64']);
      const r = s.refs.get('test/x86_64')!;
      assert.deepEqual({ checksum: r.checksum, size: r.size, timestamp: r.timestamp, version: r.version }, { checksum: VECTOR_COMMIT, size: 166, timestamp: JAN_1_2024, version: '1.0' });
      const mode = s.metadata.find(([k]) => k === 'ostree.summary.mode');
      assert.equal(mode?.[1].value, 'archive-z2');
    });
  });

  describe('prune across tools', () => {
    /** An archive repo with the vector commit on `keep` and an unrelated commit whose ref was deleted. */
    async function repoWithDeadBranch(d: string): Promise<{ repo: Repo; live: string[] }> {
      const repo = Repo.init(`${d}/repo`, 'archive');
      const tree = makeVectorTree(`${d}/tree`);
      await commitTree(repo, tree, { branch: 'keep', timestamp: JAN_1_2024, ownerUid: 0, ownerGid: 0 });
      const live = objectFiles(repo.path);
      fs.writeFileSync(`${tree}/sub/a.txt`, 'changed\n');
      fs.writeFileSync(`${tree}/added.txt`, 'added\n');
      await commitTree(repo, tree, { branch: 'dead', parent: null, timestamp: JAN_1_2024, ownerUid: 0, ownerGid: 0 });
      arbor(['repo', '--repo', repo.path, 'refs', '--delete', 'dead']);
      return { repo, live };
    }

    it('`ostree prune --refs-only` after Arbor commits leaves a repository both tools find sound', async () => {
      const { repo, live } = await repoWithDeadBranch(tmp());
      ostree([`--repo=${repo.path}`, 'prune', '--refs-only']);
      assert.deepEqual(objectFiles(repo.path), live);
      ostree([`--repo=${repo.path}`, 'fsck']);
      assert.deepEqual((await fsck(repo)).errors, []);
    });

    it('Arbor prune deletes the objects `ostree prune --refs-only` deletes and leaves a repository `ostree fsck` accepts', async () => {
      const d = tmp();
      const { repo, live } = await repoWithDeadBranch(d);
      run('cp', ['-a', repo.path, `${d}/copy`]);
      prune(repo, { refsOnly: true });
      ostree([`--repo=${d}/copy`, 'prune', '--refs-only']);
      assert.deepEqual(objectFiles(repo.path), objectFiles(`${d}/copy`));
      assert.deepEqual(objectFiles(repo.path), live);
      assert.match(ostree([`--repo=${repo.path}`, 'fsck']).stdout, /no errors found/);
    });
  });
});
