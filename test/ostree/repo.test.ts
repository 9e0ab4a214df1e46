// Arbor's OSTree repository on its own: init, commit (checked against the golden
// vectors ostree 2022.7 wrote), checkout, the inspection commands, rev parsing,
// prune, summary and fsck. Interoperation with the real ostree is in interop.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../../src/common/errors';
import { native } from '../../src/common/native';
import { Variant } from '../../src/gvariant';
import { Checksum } from '../../src/ostree/checksum';
import { checkout } from '../../src/ostree/checkout';
import { CommitOptions, commitTree } from '../../src/ostree/commit';
import { diffCommits } from '../../src/ostree/diff';
import { fsck } from '../../src/ostree/fsck';
import { prune } from '../../src/ostree/prune';
import { Repo, RepoMode } from '../../src/ostree/repo';
import { decodeSummary, readSummary, updateSummary } from '../../src/ostree/summary';
import { lookupPath } from '../../src/ostree/tree';
import { VECTORS, VECTOR_COMMIT, arbor, makeVectorTree, tmpdir } from '../helpers';

const OWNED_COMMIT = 'bc11429cd79690f31c705e0fe8e9261054ee90f998399d05cdd7455538c93b9c';
const JAN_1_2024 = 1704067200;

/** `ostree commit -b test/x86_64 --timestamp=2024-01-01T00:00:00Z -s "Test subject" -m "Test body" --add-metadata-string=version=1.0 --owner-uid=0 --owner-gid=0` */
const VECTOR_OPTS: CommitOptions = {
  timestamp: JAN_1_2024,
  subject: 'Test subject',
  body: 'Test body',
  metadata: [['version', new Variant('s', '1.0')]],
  branch: 'test/x86_64',
  ownerUid: 0,
  ownerGid: 0,
};

/** `ostree commit -b test/owned --timestamp=… -s owned --owner-uid=1000 --owner-gid=1001 --no-bindings` */
const OWNED_OPTS: CommitOptions = {
  timestamp: JAN_1_2024, subject: 'owned', branch: 'test/owned', ownerUid: 1000, ownerGid: 1001, noBindings: true,
};

/** The objects of commit 826368e8… as ostree's archive repo holds them (VECTORS/objects). */
const VECTOR_OBJECTS = [
  '826368e897a3abd05d80e749818919512c9f5f46c5f85c9305b36c2f10e8baf6.commit',
  '0eeb302d88715365905fca2e6a5fc58ff749d824f4faee140442b51849c2e695.dirtree',
  '7f8e5bd4ff89d7c3ade93fc766e5c369f0bdc9dd53d5168e00d969572e1724ec.dirtree',
  '446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488.dirmeta',
  '81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6.filez',
  'f12d34daf37b016a2ee52a0b47e9ff1cc2f66404f9771e508a914024e3224781.filez',
  'f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35.filez',
];
const HELLO = '81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6' as Checksum;
const A_TXT = 'f12d34daf37b016a2ee52a0b47e9ff1cc2f66404f9771e508a914024e3224781' as Checksum;
const LINK = 'f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35' as Checksum;
const ROOT_DIRTREE = '0eeb302d88715365905fca2e6a5fc58ff749d824f4faee140442b51849c2e695' as Checksum;

/** Temp dirs made through the returned function are removed by the enclosing suite's hook. */
function tempDirs(hook: typeof after = after): (prefix?: string) => string {
  const made: string[] = [];
  hook(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return (prefix = 'arbor-repo-test-') => {
    const d = tmpdir(prefix);
    made.push(d);
    return d;
  };
}

/** `objects/XX/rest.ext` → `XXrest.ext`, for every object file in a repo. */
function objectFiles(repoPath: string): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(`${repoPath}/objects`)) {
    for (const f of fs.readdirSync(`${repoPath}/objects/${d}`)) out.push(d + f);
  }
  return out.sort();
}

function golden(name: string): Buffer {
  return fs.readFileSync(path.join(VECTORS, 'objects', name));
}

function objectFile(repoPath: string, name: string): string {
  return `${repoPath}/objects/${name.slice(0, 2)}/${name.slice(2)}`;
}

async function vectorRepo(dir: string, mode: RepoMode): Promise<Repo> {
  const repo = Repo.init(`${dir}/repo`, mode);
  await commitTree(repo, makeVectorTree(`${dir}/tree`), VECTOR_OPTS);
  return repo;
}

interface Entry { type: string; mode: number; uid: number; gid: number; sha256?: string; target?: string; xattrs: Record<string, string> }

/** Every path under root with what a checkout must reproduce: type, mode, owner, content, target, user xattrs. */
function snapshot(root: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const walk = (abs: string, rel: string): void => {
    const st = fs.lstatSync(abs);
    const xattrs = Object.fromEntries(native.listxattrs(abs).filter(([n]) => n.startsWith('user.')).map(([n, v]) => [n, v.toString('hex')]));
    const e: Entry = { type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, xattrs };
    if (st.isSymbolicLink()) e.target = fs.readlinkSync(abs, 'utf8');
    else if (st.isFile()) e.sha256 = createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    out[rel] = e;
    if (st.isDirectory()) for (const n of fs.readdirSync(abs).sort()) walk(`${abs}/${n}`, rel === '/' ? `/${n}` : `${rel}/${n}`);
  };
  walk(root, '/');
  return out;
}

function isArborError(code: string, pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof ArborError, `expected an ArborError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  };
}

/** How ostree log and show print the golden vector commit. */
const VECTOR_LOG_ENTRY = [
  `commit ${VECTOR_COMMIT}`,
  'ContentChecksum:  20ca90800aa295db6e3b011fd0edac4a977cf1280cdd1cc1b8790ce28e6ae7ac',
  'Date:  2024-01-01 00:00:00 +0000',
  'Version: 1.0',
  '',
  '    Test subject',
  '',
  '    Test body',
  '',
  '',
].join('\n');

describe('ostree repository', () => {
  describe('init', () => {
    const tmp = tempDirs();

    it('writes the config ostree init writes for an archive repo (mode=archive-z2)', () => {
      const d = tmp();
      Repo.init(`${d}/repo`, 'archive');
      const expected = fs.readFileSync(`${VECTORS}/config.archive`, 'utf8').replace('indexed-deltas=true\n', '');
      assert.equal(fs.readFileSync(`${d}/repo/config`, 'utf8'), expected);
    });

    it('writes the config ostree init writes for a bare-user repo', () => {
      const d = tmp();
      Repo.init(`${d}/repo`, 'bare-user');
      assert.equal(fs.readFileSync(`${d}/repo/config`, 'utf8'), fs.readFileSync(`${VECTORS}/config.bare-user`, 'utf8'));
    });

    it('creates the directories of the repository layout', () => {
      const d = tmp();
      Repo.init(`${d}/repo`, 'bare');
      for (const sub of ['objects', 'refs/heads', 'refs/remotes', 'refs/mirrors', 'tmp', 'state', 'extensions']) {
        assert.ok(fs.statSync(`${d}/repo/${sub}`).isDirectory(), sub);
      }
    });

    it('refuses a directory that already holds a repository, naming it', () => {
      const d = tmp();
      Repo.init(`${d}/repo`, 'archive');
      assert.throws(() => Repo.init(`${d}/repo`, 'bare'), isArborError('Exists', new RegExp(`${d}/repo.*already exists`)));
      assert.match(fs.readFileSync(`${d}/repo/config`, 'utf8'), /mode=archive-z2/);
    });

    it('makes `arbor repo init` on an existing repo fail with one error line', () => {
      const d = tmp();
      arbor(['repo', '--repo', `${d}/repo`, 'init', '--mode', 'archive']);
      const r = arbor(['repo', '--repo', `${d}/repo`, 'init', '--mode', 'archive'], { allowFail: true });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /^error: [^\n]*already exists[^\n]*\n$/);
    });
  });

  describe('commit of the golden-vector tree', () => {
    const tmp = tempDirs();

    for (const mode of ['archive', 'bare-user', 'bare'] as const) {
      it(`gives commit 826368e8… in ${mode} mode`, async () => {
        const d = tmp();
        const repo = Repo.init(`${d}/repo`, mode);
        const r = await commitTree(repo, makeVectorTree(`${d}/tree`), VECTOR_OPTS);
        assert.equal(r.checksum, VECTOR_COMMIT);
        assert.equal(repo.readRef('test/x86_64'), VECTOR_COMMIT);
      });
    }

    it('writes exactly the archive objects ostree wrote, byte for byte (metadata and .filez)', async () => {
      // Node's zlib at level 6 gives the same DEFLATE bytes as ostree's for these small files.
      const repo = await vectorRepo(tmp(), 'archive');
      assert.deepEqual(objectFiles(repo.path), [...VECTOR_OBJECTS].sort());
      for (const name of VECTOR_OBJECTS) assert.deepEqual(fs.readFileSync(objectFile(repo.path, name)), golden(name), name);
    });

    it('writes bare-user content as plain files with ostree\'s user.ostreemeta xattr', async () => {
      const repo = await vectorRepo(tmp(), 'bare-user');
      const expected: Array<[Checksum, string]> = [[HELLO, 'hello world\n'], [A_TXT, 'A\n'], [LINK, 'hello.txt\0']];
      for (const [csum, content] of expected) {
        const p = repo.objectPath('file', csum);
        const st = fs.lstatSync(p);
        assert.ok(st.isFile(), `${csum} is a regular file`);
        assert.equal(st.mode & 0o7777, 0o644);
        assert.equal(fs.readFileSync(p, 'utf8'), content);
        const meta = fs.readFileSync(`${VECTORS}/bare-user-xattrs/${csum}.file.user.ostreemeta.hex`, 'utf8').trim();
        assert.equal(native.getxattr(p, 'user.ostreemeta')?.toString('hex'), meta, csum);
      }
    });

    it('writes the same metadata objects in bare-user and bare repos as in archive', async () => {
      for (const mode of ['bare-user', 'bare'] as const) {
        const repo = await vectorRepo(tmp(), mode);
        for (const name of VECTOR_OBJECTS.filter((n) => !n.endsWith('.filez'))) {
          assert.deepEqual(fs.readFileSync(objectFile(repo.path, name)), golden(name), `${mode} ${name}`);
        }
      }
    });

    it('stores bare content as the files themselves, with mode, owner, xattrs and mtime 0', async () => {
      const repo = await vectorRepo(tmp(), 'bare');
      const a = fs.lstatSync(repo.objectPath('file', A_TXT));
      assert.equal(a.mode, 0o100644);
      assert.equal(a.uid, 0);
      assert.equal(a.mtimeMs, 0);
      assert.equal(fs.readFileSync(repo.objectPath('file', A_TXT), 'utf8'), 'A\n');
      assert.equal(native.getxattr(repo.objectPath('file', A_TXT), 'user.test')?.toString(), 'xyz');
      const link = repo.objectPath('file', LINK);
      assert.ok(fs.lstatSync(link).isSymbolicLink());
      assert.equal(fs.readlinkSync(link), 'hello.txt');
    });

    it('reproduces commit bc11429c… (uid 1000, gid 1001, no bindings, empty metadata)', async () => {
      const d = tmp();
      const repo = Repo.init(`${d}/repo`, 'archive');
      const r = await commitTree(repo, makeVectorTree(`${d}/tree`), OWNED_OPTS);
      assert.equal(r.checksum, OWNED_COMMIT);
      assert.deepEqual(repo.loadCommit(r.checksum).metadata, []);
      // Every object, including the big-endian 1000:1001 dirmeta and .filez headers, is ostree's.
      for (const name of objectFiles(repo.path)) assert.deepEqual(fs.readFileSync(objectFile(repo.path, name)), golden(name), name);
    });
  });

  describe('commit', () => {
    const tmp = tempDirs();

    it('uses SOURCE_DATE_EPOCH as the timestamp when none is given', async () => {
      const d = tmp();
      const repo = Repo.init(`${d}/repo`, 'archive');
      const saved = process.env.SOURCE_DATE_EPOCH;
      process.env.SOURCE_DATE_EPOCH = '1700000000';
      try {
        const r = await commitTree(repo, makeVectorTree(`${d}/tree`), { branch: 'b' });
        assert.equal(repo.loadCommit(r.checksum).timestamp, 1700000000);
      } finally {
        if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
        else process.env.SOURCE_DATE_EPOCH = saved;
      }
    });

    it('makes the branch head the parent by default', async () => {
      const d = tmp();
      const repo = Repo.init(`${d}/repo`, 'archive');
      const tree = makeVectorTree(`${d}/tree`);
      const first = await commitTree(repo, tree, VECTOR_OPTS);
      assert.equal(repo.loadCommit(first.checksum).parent, null);
      fs.writeFileSync(`${tree}/hello.txt`, 'changed\n');
      const second = await commitTree(repo, tree, { ...VECTOR_OPTS, timestamp: JAN_1_2024 + 60 });
      assert.equal(repo.loadCommit(second.checksum).parent, first.checksum);
      assert.equal(repo.readRef('test/x86_64'), second.checksum);
    });

    it('writes only a commit object when the tree is unchanged', async () => {
      const d = tmp();
      const repo = Repo.init(`${d}/repo`, 'archive');
      const tree = makeVectorTree(`${d}/tree`);
      const first = await commitTree(repo, tree, VECTOR_OPTS);
      const before = objectFiles(repo.path);
      const again = await commitTree(repo, tree, VECTOR_OPTS);
      assert.notEqual(again.checksum, first.checksum, 'the parent differs, so the commit does');
      assert.equal(again.stats.contentWritten, 0);
      assert.equal(again.stats.metadataWritten, 1);
      assert.deepEqual(objectFiles(repo.path), [...before, `${again.checksum}.commit`].sort());
    });

    it('returns the branch head unchanged with skipIfUnchanged when the tree is the same', async () => {
      const d = tmp();
      const repo = Repo.init(`${d}/repo`, 'archive');
      const tree = makeVectorTree(`${d}/tree`);
      await commitTree(repo, tree, VECTOR_OPTS);
      const r = await commitTree(repo, tree, { ...VECTOR_OPTS, timestamp: JAN_1_2024 + 60, skipIfUnchanged: true });
      assert.equal(r.checksum, VECTOR_COMMIT);
      assert.equal(r.created, false);
      assert.equal(repo.readRef('test/x86_64'), VECTOR_COMMIT);
      assert.equal(repo.listObjects().filter((o) => o.type === 'commit').length, 1);
    });
  });

  describe('checkout', () => {
    const tmp = tempDirs();
    let src: string;
    const repos: Partial<Record<RepoMode, Repo>> = {};
    let commit: Checksum;

    before(async () => {
      const d = tmp();
      // The vector tree plus an empty file, which hardlink checkouts copy instead.
      src = makeVectorTree(`${d}/tree`);
      fs.writeFileSync(`${src}/sub/empty`, '');
      for (const mode of ['archive', 'bare', 'bare-user'] as const) {
        repos[mode] = Repo.init(`${d}/${mode}`, mode);
        commit = (await commitTree(repos[mode]!, src, { ...VECTOR_OPTS, ownerUid: undefined, ownerGid: undefined })).checksum;
      }
    });

    it('copies a commit out of an archive repo equal to the source tree', async () => {
      const dest = `${tmp()}/co`;
      const stats = await checkout(repos.archive!, commit, dest);
      assert.deepEqual(snapshot(dest), snapshot(src));
      assert.equal(stats.hardlinked, 0);
    });

    it('hardlinks files out of a bare repo, sharing the object\'s inode', async () => {
      const dest = `${tmp()}/co`;
      await checkout(repos.bare!, commit, dest);
      assert.deepEqual(snapshot(dest), snapshot(src));
      assert.equal(fs.statSync(`${dest}/hello.txt`).ino, fs.statSync(repos.bare!.objectPath('file', HELLO)).ino);
      assert.equal(fs.lstatSync(`${dest}/link`).ino, fs.lstatSync(repos.bare!.objectPath('file', LINK)).ino);
    });

    it('copies zero-size files out of a bare repo instead of linking them', async () => {
      const dest = `${tmp()}/co`;
      await checkout(repos.bare!, commit, dest);
      const empty = lookupPath(repos.bare!, commit, '/sub/empty');
      assert.ok(empty.kind === 'file');
      const st = fs.statSync(`${dest}/sub/empty`);
      assert.equal(st.nlink, 1);
      assert.notEqual(st.ino, fs.statSync(repos.bare!.objectPath('file', empty.checksum)).ino);
    });

    it('hardlinks regular files out of a bare-user repo in user mode and recreates symlinks', async () => {
      const dest = `${tmp()}/co`;
      const stats = await checkout(repos['bare-user']!, commit, dest, { mode: 'user' });
      assert.equal(fs.statSync(`${dest}/hello.txt`).ino, fs.statSync(repos['bare-user']!.objectPath('file', HELLO)).ino);
      assert.ok(fs.lstatSync(`${dest}/link`).isSymbolicLink());
      assert.equal(fs.readlinkSync(`${dest}/link`), 'hello.txt');
      assert.equal(stats.hardlinked, 2, 'hello.txt and sub/a.txt');
      assert.equal(fs.readFileSync(`${dest}/sub/a.txt`, 'utf8'), 'A\n');
    });

    it('replaces a file and a symlink in the way in union mode, without following the symlink', async () => {
      const d = tmp();
      const dest = `${d}/co`;
      fs.mkdirSync(dest);
      fs.writeFileSync(`${d}/victim`, 'untouched\n');
      fs.symlinkSync(`${d}/victim`, `${dest}/hello.txt`);
      fs.writeFileSync(`${dest}/link`, 'a file where the tree has a symlink\n');
      fs.writeFileSync(`${dest}/extra`, 'kept\n');
      await checkout(repos.archive!, commit, dest, { union: true });
      assert.ok(fs.lstatSync(`${dest}/hello.txt`).isFile());
      assert.equal(fs.readFileSync(`${dest}/hello.txt`, 'utf8'), 'hello world\n');
      assert.equal(fs.readlinkSync(`${dest}/link`), 'hello.txt');
      assert.equal(fs.readFileSync(`${d}/victim`, 'utf8'), 'untouched\n');
      assert.equal(fs.readFileSync(`${dest}/extra`, 'utf8'), 'kept\n');
    });

    it('refuses an existing target without union mode', async () => {
      const dest = `${tmp()}/co`;
      fs.mkdirSync(dest);
      await assert.rejects(checkout(repos.archive!, commit, dest), isArborError('Exists', /already exists/));
    });

    it('checks out only a subpath: a directory, or a single file', async () => {
      const d = tmp();
      await checkout(repos.archive!, commit, `${d}/sub`, { subpath: '/sub' });
      assert.deepEqual(fs.readdirSync(`${d}/sub`).sort(), ['a.txt', 'empty']);
      assert.equal(native.getxattr(`${d}/sub/a.txt`, 'user.test')?.toString(), 'xyz');
      await checkout(repos.archive!, commit, `${d}/hello`, { subpath: '/hello.txt' });
      assert.equal(fs.readFileSync(`${d}/hello`, 'utf8'), 'hello world\n');
    });
  });

  describe('inspection commands (arbor repo ls/cat/show/log/refs/diff)', () => {
    const tmp = tempDirs();
    let R: string;
    let second: Checksum;
    const repo = (...args: string[]): string => arbor(['repo', '--repo', R, ...args]).stdout;

    before(async () => {
      const d = tmp();
      const r = Repo.init(`${d}/repo`, 'archive');
      R = r.path;
      const tree = makeVectorTree(`${d}/tree`);
      await commitTree(r, tree, VECTOR_OPTS);
      await commitTree(r, tree, OWNED_OPTS);
      fs.writeFileSync(`${tree}/hello.txt`, 'changed\n');
      fs.writeFileSync(`${tree}/new.txt`, 'new\n');
      fs.rmSync(`${tree}/sub/a.txt`);
      second = (await commitTree(r, tree, { branch: 'test/x86_64', timestamp: JAN_1_2024 + 86400, subject: 'Second', ownerUid: 0, ownerGid: 0 })).checksum;
    });

    // The expected texts are what `ostree` 2022.7 prints for the same repository.
    it('ls lists a directory as ostree ls does', () => {
      assert.equal(repo('ls', 'test/x86_64^'), [
        'd00755 0 0      0 /',
        '-00644 0 0     12 /hello.txt',
        'l00777 0 0      0 /link -> hello.txt',
        'd00755 0 0      0 /sub',
        '',
      ].join('\n'));
    });

    it('ls -R -X -C adds checksums and xattrs in GVariant text form', () => {
      assert.equal(repo('ls', '-R', '-X', '-C', 'test/x86_64^'), [
        'd00755 0 0      0 0eeb302d88715365905fca2e6a5fc58ff749d824f4faee140442b51849c2e695 446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488 { @a(ayay) [] } /',
        '-00644 0 0     12 81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6 { @a(ayay) [] } /hello.txt',
        'l00777 0 0      0 f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35 { @a(ayay) [] } /link -> hello.txt',
        'd00755 0 0      0 7f8e5bd4ff89d7c3ade93fc766e5c369f0bdc9dd53d5168e00d969572e1724ec 446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488 { @a(ayay) [] } /sub',
        "-00644 0 0      2 f12d34daf37b016a2ee52a0b47e9ff1cc2f66404f9771e508a914024e3224781 { [(b'user.test', [byte 0x78, 0x79, 0x7a])] } /sub/a.txt",
        '',
      ].join('\n'));
    });

    it('cat prints a file\'s contents', () => {
      assert.equal(repo('cat', 'test/x86_64^', '/sub/a.txt'), 'A\n');
    });

    it('show prints a commit as ostree show does', () => {
      assert.equal(repo('show', VECTOR_COMMIT), VECTOR_LOG_ENTRY);
    });

    it('show --print-metadata-key prints one value in GVariant text form', () => {
      assert.equal(repo('show', '--print-metadata-key', 'version', VECTOR_COMMIT), "'1.0'\n");
    });

    it('log prints the commit and its ancestors as ostree log does', () => {
      assert.equal(repo('log', 'test/x86_64'), [
        `commit ${second}`,
        `Parent:  ${VECTOR_COMMIT}`,
        'ContentChecksum:  a88df287b4f57aa0e08edbd09d9d72b4b0a326932e262f445ee9f46214e6f513',
        'Date:  2024-01-02 00:00:00 +0000',
        '',
        '    Second',
        '',
        '',
      ].join('\n') + VECTOR_LOG_ENTRY);
    });

    it('refs lists every local ref, sorted', () => {
      assert.equal(repo('refs'), 'test/owned\ntest/x86_64\n');
    });

    it('refs PREFIX and refs --delete PREFIX take a ref or a directory of refs, not the start of a name', () => {
      for (const r of ['tmp/foo', 'tmp/foobar', 'tmp/foo2/x']) repo('refs', '--create', r, 'test/x86_64');
      assert.equal(repo('refs', 'tmp'), 'tmp/foo\ntmp/foo2/x\ntmp/foobar\n');
      repo('refs', '--delete', 'tmp/foo');
      assert.equal(repo('refs', 'tmp'), 'tmp/foo2/x\ntmp/foobar\n');
      repo('refs', '--delete', 'tmp');
      assert.equal(repo('refs'), 'test/owned\ntest/x86_64\n');
    });

    it('diff prints modified, removed and added paths as M/D/A lines', () => {
      assert.equal(repo('diff', 'test/x86_64^', 'test/x86_64'), 'M    /hello.txt\nD    /sub/a.txt\nA    /new.txt\n');
    });

    it('diffCommits reports the same change through the library', () => {
      const r = Repo.open(R);
      assert.deepEqual(diffCommits(r, VECTOR_COMMIT as Checksum, second), { added: ['/new.txt'], modified: ['/hello.txt'], removed: ['/sub/a.txt'] });
    });
  });

  describe('resolveRev', () => {
    const tmp = tempDirs();
    let repo: Repo;
    let second: Checksum;

    before(async () => {
      const d = tmp();
      repo = await vectorRepo(d, 'archive');
      fs.writeFileSync(`${d}/tree/new.txt`, 'new\n');
      second = (await commitTree(repo, `${d}/tree`, { ...VECTOR_OPTS, timestamp: JAN_1_2024 + 60 })).checksum;
    });

    it('resolves a local ref to its commit', () => {
      assert.equal(repo.resolveRev('test/x86_64'), second);
    });

    it('resolves remote:ref to refs/remotes/<remote>/<ref>', () => {
      repo.setRef('origin:os/x', VECTOR_COMMIT as Checksum);
      assert.ok(fs.existsSync(`${repo.path}/refs/remotes/origin/os/x`));
      assert.equal(repo.resolveRev('origin:os/x'), VECTOR_COMMIT);
      assert.equal(repo.listRefs().get('origin:os/x'), VECTOR_COMMIT);
    });

    it('resolves a unique checksum prefix', () => {
      assert.equal(repo.resolveRev(VECTOR_COMMIT.slice(0, 8)), VECTOR_COMMIT);
    });

    it('resolves ^ to the parent commit', () => {
      assert.equal(repo.resolveRev('test/x86_64^'), VECTOR_COMMIT);
      assert.throws(() => repo.resolveRev('test/x86_64^^'), isArborError('NotFound', /has no parent/));
    });

    it('rejects an unknown rev with NotFound, listing the known refs', () => {
      assert.throws(() => repo.resolveRev('no/such-ref'), isArborError('NotFound', /'no\/such-ref'.*known refs: .*test\/x86_64/));
    });
  });

  describe('prune', () => {
    const tmp = tempDirs(afterEach);
    let repo: Repo;
    let kept: string[];
    let dropped: Checksum;

    beforeEach(async () => {
      const d = tmp();
      repo = await vectorRepo(d, 'archive');
      kept = objectFiles(repo.path);
      // An unrelated commit on another branch that shares hello.txt and the dirmeta.
      fs.writeFileSync(`${d}/tree/sub/a.txt`, 'B\n');
      fs.writeFileSync(`${d}/tree/other.txt`, 'other\n');
      dropped = (await commitTree(repo, `${d}/tree`, { ...VECTOR_OPTS, branch: 'other' })).checksum;
      repo.setRef('other', null);
    });

    it('with refsOnly removes the objects only a deleted ref reached and keeps the rest', () => {
      const unique = objectFiles(repo.path).filter((n) => !kept.includes(n));
      assert.ok(unique.includes(`${dropped}.commit`));
      const r = prune(repo, { refsOnly: true });
      assert.equal(r.pruned, unique.length);
      assert.deepEqual(objectFiles(repo.path), kept);
    });

    it('leaves a repository that passes fsck', async () => {
      prune(repo, { refsOnly: true });
      const r = await fsck(repo);
      assert.deepEqual(r.errors, []);
      assert.equal(r.commits, 1);
    });

    it('deletes nothing in dry-run mode but reports what it would', () => {
      const before = objectFiles(repo.path);
      const r = prune(repo, { refsOnly: true, dryRun: true });
      assert.equal(r.pruned, before.length - kept.length);
      assert.deepEqual(objectFiles(repo.path), before);
    });

    it('keeps an unreferenced commit and its tree without refsOnly', () => {
      const before = objectFiles(repo.path);
      assert.equal(prune(repo).pruned, 0);
      assert.deepEqual(objectFiles(repo.path), before);
    });
  });

  describe('summary', () => {
    const tmp = tempDirs();
    let repo: Repo;

    before(async () => {
      const d = tmp();
      repo = await vectorRepo(d, 'archive');
      await commitTree(repo, `${d}/tree`, OWNED_OPTS);
    });

    it('round-trips through updateSummary and readSummary', () => {
      const written = updateSummary(repo);
      const read = readSummary(repo)!;
      assert.deepEqual([...read.refs.keys()], ['test/owned', 'test/x86_64']);
      assert.deepEqual(read.refs, written.refs);
      assert.equal(read.refs.get('test/x86_64')!.checksum, VECTOR_COMMIT);
      assert.equal(read.refs.get('test/x86_64')!.timestamp, JAN_1_2024);
      assert.equal(read.refs.get('test/x86_64')!.version, '1.0');
      assert.equal(read.refs.get('test/owned')!.version, undefined);
    });

    it('records each commit object\'s size', () => {
      const s = updateSummary(repo);
      for (const [name, r] of s.refs) {
        assert.equal(r.size, fs.statSync(repo.objectPath('commit', r.checksum)).size, name);
      }
      assert.equal(s.refs.get('test/owned')!.size, 86);
    });

    it('describes the refs exactly as the summary ostree wrote for the same commits', () => {
      updateSummary(repo);
      const ours = readSummary(repo)!;
      const theirs = decodeSummary(fs.readFileSync(`${VECTORS}/summary`));
      assert.deepEqual(ours.refs, theirs.refs);
    });

    it('adds indexed-deltas=true to the config, as ostree summary -u does', () => {
      updateSummary(repo);
      assert.equal(fs.readFileSync(`${repo.path}/config`, 'utf8'), fs.readFileSync(`${VECTORS}/config.archive`, 'utf8'));
    });

    it('is written by `arbor repo summary -u` and shown by `arbor repo summary`', () => {
      fs.rmSync(`${repo.path}/summary`);
      arbor(['repo', '--repo', repo.path, 'summary', '-u']);
      const view = arbor(['repo', '--repo', repo.path, 'summary']).stdout;
      assert.match(view, new RegExp(`\\* test/x86_64\\n    Latest Commit \\(166 bytes\\):\\n      ${VECTOR_COMMIT}\\n`));
      assert.match(view, new RegExp(`\\* test/owned\\n    Latest Commit \\(86 bytes\\):\\n      ${OWNED_COMMIT}\\n`));
    });
  });

  describe('fsck', () => {
    const tmp = tempDirs(afterEach);
    let repo: Repo;

    beforeEach(async () => {
      repo = await vectorRepo(tmp(), 'archive');
    });

    async function errorsOf(r: Repo): Promise<string[]> {
      return (await fsck(r)).errors;
    }

    it('finds no errors in a freshly committed repository', async () => {
      const r = await fsck(repo);
      assert.deepEqual(r.errors, []);
      assert.equal(r.objects, VECTOR_OBJECTS.length);
      assert.equal(r.commits, 1);
    });

    it('detects a flipped byte in a .filez, naming the object', async () => {
      const p = repo.objectPath('file', HELLO);
      const b = fs.readFileSync(p);
      b[b.length - 3] ^= 0xff;
      fs.writeFileSync(p, b);
      const errors = await errorsOf(repo);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0], new RegExp(HELLO));
    });

    it('detects a truncated dirtree, naming the object', async () => {
      const p = repo.objectPath('dirtree', ROOT_DIRTREE);
      fs.truncateSync(p, 100);
      const errors = await errorsOf(repo);
      assert.ok(errors.length >= 1);
      assert.ok(errors.every((e) => e.includes(ROOT_DIRTREE)), errors.join('\n'));
    });

    it('detects a missing file object, naming it and the commit', async () => {
      fs.rmSync(repo.objectPath('file', A_TXT));
      const errors = await errorsOf(repo);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0], new RegExp(`${VECTOR_COMMIT}.*${A_TXT}.*missing`));
    });

    it('makes `arbor repo fsck` exit non-zero with error: lines and no stack trace', () => {
      fs.rmSync(repo.objectPath('file', A_TXT));
      const r = arbor(['repo', '--repo', repo.path, 'fsck'], { allowFail: true });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(`^error: .*${A_TXT}.*missing$`, 'm'));
      assert.ok(r.stderr.split('\n').filter(Boolean).every((l) => l.startsWith('error: ')), r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  });
});
