// The repository under attack: a commit killed at any moment leaves a repo that
// arbor's and ostree's fsck accept; malformed objects are refused with an error
// naming the object and the fault; checkout never writes outside its target,
// whatever names and symlinks the commits hold. ARBOR_CRASH_SEED replays a run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { ArborError } from '../../src/common/errors';
import { Variant, bswap32, encode } from '../../src/gvariant';
import { Checksum, checksumToBytes } from '../../src/ostree/checksum';
import { checkout } from '../../src/ostree/checkout';
import { fsck } from '../../src/ostree/fsck';
import {
  FileHeader, S_IFDIR, S_IFLNK, S_IFREG, T_DIRMETA, T_DIRTREE, decodeArchiveHeader, decodeCommit, decodeDirMeta,
  decodeDirTree, decodeFileHeader, encodeArchiveHeader, encodeCommit, encodeDirMeta, encodeFileHeader, sha256,
} from '../../src/ostree/objects';
import { Repo, RepoMode } from '../../src/ostree/repo';
import { Transaction } from '../../src/ostree/transaction';
import { rootEntry, walkTree } from '../../src/ostree/tree';
import { Prng } from '../gvariant/support/prng';
import { ROOT, VECTORS, VECTOR_COMMIT, arbor, ostree, tmpdir } from '../helpers';

// --- shared helpers ------------------------------------------------------------------

function rm(...dirs: string[]): void {
  for (const d of dirs) if (d) fs.rmSync(d, { recursive: true, force: true });
}

/** Every path under dir (lstat, never following links) with its type, mode and content hash. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(dir, r);
      const st = fs.lstatSync(p);
      const perm = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(r, `symlink -> ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${perm}`);
        walk(r);
      } else out.set(r, `file ${perm} ${sha256(fs.readFileSync(p))}`);
    }
  };
  walk('');
  return out;
}

function without(snap: Map<string, string>, prefix: string): Map<string, string> {
  return new Map([...snap].filter(([p]) => p !== prefix && !p.startsWith(`${prefix}/`)));
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The thrown value is ArborError('Corrupted') and its message mentions every part. */
function corrupted(...parts: string[]): (e: unknown) => true {
  return (e) => {
    assert.ok(e instanceof ArborError, `expected an ArborError, got ${describeError(e)}`);
    assert.equal(e.code, 'Corrupted', e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `message '${e.message}' should mention '${p}'`);
    return true;
  };
}

function seed(name: string, fallback: number): number {
  const s = process.env[name];
  return s ? Number(s) >>> 0 : fallback;
}

const VECTOR_OBJECTS = path.join(VECTORS, 'objects');
const ROOT_TREE = '0eeb302d88715365905fca2e6a5fc58ff749d824f4faee140442b51849c2e695' as Checksum;
const SUB_TREE = '7f8e5bd4ff89d7c3ade93fc766e5c369f0bdc9dd53d5168e00d969572e1724ec' as Checksum;
const DIRMETA = '446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488' as Checksum;
const HELLO = '81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6' as Checksum;
const LINK = 'f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35' as Checksum;

function vectorObject(csum: string, ext: string): Buffer {
  return fs.readFileSync(path.join(VECTOR_OBJECTS, `${csum}.${ext}`));
}

/** An archive repo holding the golden objects, with the golden commit on a ref. */
function vectorRepo(dir: string): Repo {
  const repo = Repo.init(dir, 'archive');
  for (const f of fs.readdirSync(VECTOR_OBJECTS)) {
    const m = /^([0-9a-f]{2})([0-9a-f]{62})\.(commit|dirtree|dirmeta|filez)$/.exec(f);
    if (!m) continue;
    fs.mkdirSync(`${repo.objectsDir}/${m[1]}`, { recursive: true });
    fs.copyFileSync(path.join(VECTOR_OBJECTS, f), `${repo.objectsDir}/${m[1]}/${m[2]}.${m[3]}`);
  }
  repo.setRef('test/x86_64', VECTOR_COMMIT as Checksum);
  return repo;
}

/** Puts bytes into the store under a name of our choosing, as a corrupted disk or a hostile mirror would. */
function plant(repo: Repo, type: Parameters<Repo['objectPath']>[0], csum: Checksum, bytes: Uint8Array): void {
  const p = repo.objectPath(type, csum);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
}

// Hand-built trees: names go into the dirtree exactly as given, however hostile.
type Entry = { name: string; file: string } | { name: string; link: string } | { name: string; dir: Entry[] };
const file = (name: string, content: string): Entry => ({ name, file: content });
const link = (name: string, target: string): Entry => ({ name, link: target });
const dir = (name: string, ...entries: Entry[]): Entry => ({ name, dir: entries });

const REG: Omit<FileHeader, 'symlinkTarget'> = { uid: 0, gid: 0, mode: S_IFREG | 0o644, xattrs: [] };

async function writeEntries(tx: Transaction, entries: Entry[]): Promise<[Checksum, Checksum]> {
  const files: Array<[string, Buffer]> = [];
  const dirs: Array<[string, Buffer, Buffer]> = [];
  for (const e of entries) {
    if ('dir' in e) {
      const [t, m] = await writeEntries(tx, e.dir);
      dirs.push([e.name, checksumToBytes(t), checksumToBytes(m)]);
    } else if ('link' in e) {
      files.push([e.name, checksumToBytes(await tx.writeContent({ ...REG, mode: S_IFLNK | 0o777, symlinkTarget: e.link }, null))]);
    } else {
      files.push([e.name, checksumToBytes(await tx.writeContent({ ...REG, symlinkTarget: '' }, Buffer.from(e.file)))]);
    }
  }
  const byName = (a: [string, ...unknown[]], b: [string, ...unknown[]]): number => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));
  const tree = tx.writeMetadata('dirtree', encode(T_DIRTREE, [files.sort(byName), dirs.sort(byName)]));
  const meta = tx.writeMetadata('dirmeta', encodeDirMeta({ uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] }));
  return [tree, meta];
}

async function commitEntries(repo: Repo, entries: Entry[]): Promise<Checksum> {
  const tx = new Transaction(repo);
  try {
    const [rootTree, rootMeta] = await writeEntries(tx, entries);
    const csum = tx.writeMetadata('commit', encodeCommit({ metadata: [], parent: null, subject: 'hostile', body: '', timestamp: 1, rootTree, rootMeta }));
    await tx.commit();
    return csum;
  } catch (e) {
    tx.abort();
    throw e;
  }
}

// --- 1. crashes -------------------------------------------------------------------------

const CRASH_KILLS = 20;
const CRASH_MAX_TRIALS = 40;
const SMALL_DIRS = 40;
const SMALL_PER_DIR = 50;
const BIG_FILES = 3;
const BIG_HALF = 192 * 1024;

/** ~2,000 small files, a few larger ones (part compressible, part not), symlinks. */
function makeCrashTree(root: string, rng: Prng): void {
  for (let d = 0; d < SMALL_DIRS; d++) {
    fs.mkdirSync(`${root}/d${d}`, { recursive: true });
    for (let f = 0; f < SMALL_PER_DIR; f++) {
      fs.writeFileSync(`${root}/d${d}/f${f}`, `file ${d}/${f} `.repeat(1 + (f % 13)) + '\n', { mode: f % 10 === 0 ? 0o755 : 0o644 });
    }
    fs.symlinkSync(`../d${(d + 1) % SMALL_DIRS}/f0`, `${root}/d${d}/next`);
  }
  fs.mkdirSync(`${root}/big`);
  for (let i = 0; i < BIG_FILES; i++) {
    fs.writeFileSync(`${root}/big/blob${i}`, Buffer.concat([rng.bytes(BIG_HALF), Buffer.alloc(BIG_HALF, `text ${i} `)]));
  }
  fs.mkdirSync(`${root}/new`);
}

/** Changes a little between trials, so each commit has new objects to write. */
function varyCrashTree(root: string, rng: Prng, trial: number): void {
  for (let i = 0; i < 12; i++) fs.appendFileSync(`${root}/d${rng.int(0, SMALL_DIRS - 1)}/f${rng.int(0, SMALL_PER_DIR - 1)}`, `trial ${trial}\n`);
  if (trial % 3 === 0) {
    const fd = fs.openSync(`${root}/big/blob${rng.int(0, BIG_FILES - 1)}`, 'r+');
    fs.writeSync(fd, rng.bytes(4096), 0, 4096, rng.int(0, BIG_HALF));
    fs.closeSync(fd);
  }
  fs.writeFileSync(`${root}/new/t${trial}`, `added in trial ${trial}\n`);
}

/** When to SIGKILL: a delay from the start, or a delay after the first staged object is published. */
type KillPlan = { after: 'start' | 'publish'; ms: number } | null;

interface CommitRun {
  killed: boolean;
  code: number | null;
  ms: number;
  /** When the first staged object left the staging dir for objects/, if that was seen. */
  publishMs: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `arbor repo commit` and kills it as planned. The start of publishing is seen by
 * watching the writer's staging dir (tmp/staging-<boot>-<pid>-<rand>) for entries
 * that vanish: staged objects are renamed into objects/ only at the very end.
 */
function runCommit(repoPath: string, tree: string, plan: KillPlan): Promise<CommitRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let publishMs: number | null = null;
    let timer: NodeJS.Timeout | null = null;
    let stagingWatcher: fs.FSWatcher | null = null;
    const kill = (): void => { child.kill('SIGKILL'); };
    const onPublish = (): void => {
      if (publishMs !== null) return;
      publishMs = performance.now() - t0;
      if (plan?.after === 'publish') timer = setTimeout(kill, plan.ms);
    };
    const tmpWatcher = fs.watch(`${repoPath}/tmp`, (_event, name) => {
      if (stagingWatcher || !name || !child.pid || !name.startsWith('staging-') || !name.includes(`-${child.pid}-`)) return;
      const staging = `${repoPath}/tmp/${name}`;
      try {
        stagingWatcher = fs.watch(staging, (_e, entry) => {
          if (entry && !fs.existsSync(`${staging}/${entry}`)) onPublish();
        });
      } catch {
        // Already gone: the writer finished (or died) before we looked.
      }
    });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/arbor.js'), 'repo', '--repo', repoPath, 'commit', '-b', 'main', '--timestamp', '@1', tree], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (plan?.after === 'start') timer = setTimeout(kill, plan.ms);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      tmpWatcher.close();
      (stagingWatcher as fs.FSWatcher | null)?.close();
      resolve({ killed: signal === 'SIGKILL', code, ms: performance.now() - t0, publishMs, stdout, stderr });
    });
  });
}

/** Runs a command without blocking the event loop; rejects with its output when it fails. */
function exec(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code ?? signal}\n${out}`));
    });
  });
}

/** Both fscks, side by side: they only read. */
async function fsckBoth(repoPath: string): Promise<void> {
  await Promise.all([
    exec(process.execPath, [path.join(ROOT, 'bin/arbor.js'), 'repo', '--repo', repoPath, 'fsck', '--quiet']),
    exec('ostree', ['fsck', '--quiet', '--repo', repoPath]),
  ]);
}

/** The ref, when present, names a commit whose every object is in the store. */
function assertRefComplete(repoPath: string): Checksum | null {
  const repo = Repo.open(repoPath);
  const head = repo.readRef('main');
  if (!head) return null;
  assert.ok(repo.hasObject('commit', head), `ref main points at commit ${head}, which is missing`);
  walkTree(repo, rootEntry(repo, head), (e) => {
    if (e.kind === 'dir') assert.ok(repo.hasObject('dirmeta', e.meta), `${e.path}: dirmeta ${e.meta} missing`);
    else assert.ok(repo.hasObject('file', e.checksum), `${e.path}: file object ${e.checksum} missing`);
  });
  return head;
}

describe('a commit killed at a random moment', function () {
  // About 30 s per repo mode on an idle machine; the margin is for loaded CI hosts.
  this.timeout(180_000);
  const crashSeed = seed('ARBOR_CRASH_SEED', 0xc0ffee);
  let work: string;
  let tree: string;
  let rng: Prng;

  before(() => {
    rng = new Prng(crashSeed);
    work = tmpdir('arbor-crash-');
    tree = `${work}/tree`;
    makeCrashTree(tree, rng);
  });

  after(() => rm(work));

  for (const mode of ['archive', 'bare-user'] as RepoMode[]) {
    it(`leaves a ${mode} repo that arbor and ostree fsck accept, and a rerun completes`, async function () {
      const started = performance.now();
      // One undisturbed run into a scratch repo says how long a commit takes, and how long it publishes.
      const scratch = `${work}/scratch-${mode}`;
      arbor(['repo', '--repo', scratch, 'init', '--mode', mode]);
      const full = await runCommit(scratch, tree, null);
      assert.equal(full.code, 0, full.stderr);
      rm(scratch);
      const duration = full.ms;
      const publishSpan = Math.max(10, duration - (full.publishMs ?? duration * 0.9));
      // Runs after a finished one only write what changed, so they are shorter: aim at the last one's length.
      let expected = duration;

      const repoPath = `${work}/repo-${mode}`;
      arbor(['repo', '--repo', repoPath, 'init', '--mode', mode]);
      const tally = { kills: 0, afterPublishing: 0, finished: 0, commitMs: 0, fsckMs: 0 };
      let trial = 0;
      for (; tally.kills < CRASH_KILLS && trial < CRASH_MAX_TRIALS; trial++) {
        if (trial > 0) varyCrashTree(tree, rng, trial);
        // Most kills land anywhere in the run; every third lands in the short final stretch
        // where staged objects are renamed into objects/ and the ref is moved (early in it, mostly).
        const plan: KillPlan = trial % 3 === 2 ? { after: 'publish', ms: rng.float() ** 3 * publishSpan } : { after: 'start', ms: rng.float() * expected * 0.9 };
        const objectsBefore = Repo.open(repoPath).listObjects().length;
        const r = await runCommit(repoPath, tree, plan);
        tally.commitMs += r.ms;
        const context = `trial ${trial} (${mode}, kill ${plan.ms.toFixed(0)} ms after ${plan.after}, full run ${duration.toFixed(0)} ms, ARBOR_CRASH_SEED=${crashSeed})`;
        if (r.killed) {
          tally.kills++;
          if (Repo.open(repoPath).listObjects().length > objectsBefore) tally.afterPublishing++;
        } else {
          assert.equal(r.code, 0, `${context}: the commit failed by itself:\n${r.stderr}`);
          tally.finished++;
          expected = r.ms;
        }
        const t0 = performance.now();
        try {
          const head = assertRefComplete(repoPath);
          if (!r.killed) assert.equal(head, r.stdout.trim(), 'a finished commit moves the ref');
          await fsckBoth(repoPath);
        } catch (e) {
          throw new Error(`${context}: ${(e as Error).message}`);
        }
        tally.fsckMs += performance.now() - t0;
      }
      assert.ok(tally.kills >= CRASH_KILLS, `only ${tally.kills} of ${trial} commits were killed before they finished`);
      assert.ok(tally.afterPublishing >= 1, 'at least one kill landed after objects started to appear in objects/');

      const rerun = await runCommit(repoPath, tree, null);
      assert.equal(rerun.code, 0, rerun.stderr);
      const head = rerun.stdout.trim();
      assert.equal(assertRefComplete(repoPath), head);
      assert.deepEqual(fs.readdirSync(`${repoPath}/tmp`).filter((n) => n.startsWith('staging-')), [], 'staging dirs of killed writers are cleared');
      await fsckBoth(repoPath);
      const co = `${work}/checkout-${mode}`;
      ostree(['checkout', '--repo', repoPath, head, co]);
      assert.deepEqual(snapshot(co), snapshot(tree), 'ostree checkout of the rerun equals the tree');
      rm(co, repoPath);
      const s = (ms: number): string => (ms / 1000).toFixed(1);
      console.log(`      ${mode}: ${trial} runs, ${tally.kills} killed (${tally.afterPublishing} after publishing began), ${tally.finished} finished first; `
        + `full commit ${duration.toFixed(0)} ms; commits ${s(tally.commitMs)} s, fscks ${s(tally.fsckMs)} s, total ${s(performance.now() - started)} s`);
    });
  }
});

// --- 2. malformed objects ------------------------------------------------------------------

describe('malformed objects are refused, naming the object and the fault', () => {
  let work: string;
  before(() => { work = tmpdir('arbor-malformed-'); });
  after(() => rm(work));

  const commitBytes = (): Buffer => vectorObject(VECTOR_COMMIT, 'commit');
  const rawDirTree = (files: Array<[string, Buffer]>, dirs: Array<[string, Buffer, Buffer]> = []): Buffer => encode(T_DIRTREE, [files, dirs]);
  const someChecksum = checksumToBytes(HELLO);

  it('refuses a commit cut short at any length', () => {
    const bytes = commitBytes();
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => decodeCommit(bytes.subarray(0, n), `commit ${VECTOR_COMMIT}`), corrupted(`commit ${VECTOR_COMMIT}: `));
    }
    assert.throws(() => decodeCommit(bytes.subarray(0, 100), `commit ${VECTOR_COMMIT}`), corrupted('malformed GVariant'));
  });

  it('refuses a dirtree or dirmeta cut short at any length', () => {
    for (const [csum, ext, decoder] of [[ROOT_TREE, 'dirtree', decodeDirTree], [SUB_TREE, 'dirtree', decodeDirTree], [DIRMETA, 'dirmeta', decodeDirMeta]] as const) {
      const bytes = vectorObject(csum, ext);
      for (let n = 0; n < bytes.length; n++) {
        for (const strict of [false, true]) {
          assert.throws(() => decoder(bytes.subarray(0, n), `${ext} ${csum}`, strict), corrupted(`${ext} ${csum}: `), `${ext} cut to ${n} bytes`);
        }
      }
    }
  });

  it('refuses a .filez whose header is cut short', () => {
    const bytes = vectorObject(HELLO, 'filez');
    assert.throws(() => decodeArchiveHeader(bytes.subarray(0, 5), `file object ${HELLO}`), corrupted(`file object ${HELLO}`, 'truncated (5 bytes)'));
    const headerEnd = 8 + bytes.readUInt32BE(0);
    for (let n = 8; n < headerEnd; n++) {
      assert.throws(() => decodeArchiveHeader(bytes.subarray(0, n), `file object ${HELLO}`), corrupted(`file object ${HELLO}`, 'exceeds the object'));
    }
  });

  it('refuses a .filez whose compressed data is cut short', async () => {
    const repo = vectorRepo(`${work}/cut-filez`);
    const bytes = vectorObject(HELLO, 'filez');
    const { dataOffset } = decodeArchiveHeader(bytes);
    for (let n = dataOffset; n < bytes.length; n++) {
      plant(repo, 'file', HELLO, bytes.subarray(0, n));
      await assert.rejects(repo.loadFile(HELLO), corrupted(`file object ${HELLO}`, 'compressed data is damaged'), `cut to ${n} bytes`);
    }
  });

  it('refuses a .filez whose content is longer or shorter than its header says', async () => {
    const repo = vectorRepo(`${work}/size-filez`);
    const header: FileHeader = { ...REG, symlinkTarget: '' };
    plant(repo, 'file', HELLO, Buffer.concat([encodeArchiveHeader(header, 5), zlib.deflateRawSync('hello world\n')]));
    await assert.rejects(repo.loadFile(HELLO), corrupted(`file object ${HELLO}`));
    plant(repo, 'file', HELLO, Buffer.concat([encodeArchiveHeader(header, 20), zlib.deflateRawSync('hello world\n')]));
    await assert.rejects(repo.loadFile(HELLO), corrupted(`file object ${HELLO}`, '12 bytes where the header says 20'));
  });

  it('refuses an archive header declaring an impossible size', () => {
    const bytes = Buffer.from(vectorObject(HELLO, 'filez'));
    bytes.writeBigUInt64BE(1n << 62n, 8);
    assert.throws(() => decodeArchiveHeader(bytes, `file object ${HELLO}`), corrupted(`file object ${HELLO}`, `declared size ${1n << 62n} is impossible`));
  });

  it('refuses a metadata object whose bytes do not hash to its name, when asked to verify', () => {
    const repo = vectorRepo(`${work}/mismatch-meta`);
    const bytes = Buffer.from(vectorObject(SUB_TREE, 'dirtree'));
    bytes[bytes.length - 10] ^= 0x01;
    plant(repo, 'dirtree', SUB_TREE, bytes);
    assert.deepEqual(repo.readMetadata('dirtree', SUB_TREE), bytes, 'without verify the bytes are returned as they are');
    assert.throws(() => repo.readMetadata('dirtree', SUB_TREE, true), corrupted(`dirtree object ${SUB_TREE}`, `checksum mismatch (content hashes to ${sha256(bytes)})`));
  });

  it('fsck reports metadata and content objects that do not hash to their names', async () => {
    const repo = vectorRepo(`${work}/mismatch-fsck`);
    assert.deepEqual((await fsck(repo)).errors, [], 'the golden objects are sound');
    const tree = Buffer.from(vectorObject(SUB_TREE, 'dirtree'));
    tree[tree.length - 10] ^= 0x01;
    plant(repo, 'dirtree', SUB_TREE, tree);
    // A well-formed .filez, but of other content than its name promises.
    plant(repo, 'file', HELLO, Buffer.concat([encodeArchiveHeader({ ...REG, symlinkTarget: '' }, 12), zlib.deflateRawSync('HELLO WORLD\n')]));
    const { errors } = await fsck(repo);
    const fault = (csum: string): string | undefined => errors.find((e) => e.includes(csum) && e.includes('checksum mismatch'));
    assert.ok(fault(`dirtree object ${SUB_TREE}`), errors.join('\n'));
    assert.ok(fault(`file object ${HELLO}`), errors.join('\n'));
  });

  it('accepts a commit with non-zero padding leniently but refuses it as non-normal when strict, and fsck reports it', async () => {
    const bytes = Buffer.from(commitBytes());
    // The golden commit's body string ends at 0x53; 0x54..0x57 pad the timestamp to 8 bytes.
    bytes[0x57] = 0x01;
    const csum = sha256(bytes);
    assert.deepEqual(decodeCommit(bytes, `commit ${csum}`), decodeCommit(commitBytes()));
    assert.throws(() => decodeCommit(bytes, `commit ${csum}`, true), corrupted(`commit ${csum}`, 'not in GVariant normal form'));
    const repo = vectorRepo(`${work}/non-normal`);
    plant(repo, 'commit', csum, bytes);
    const { errors } = await fsck(repo);
    assert.deepEqual(errors, [`commit object ${csum}: not in GVariant normal form for type '(a{sv}aya(say)sstayay)'`]);
  });

  for (const name of ['', '.', '..', 'a/b', '../x', '/etc']) {
    it(`refuses a dirtree entry named '${name}', as a file and as a directory`, () => {
      const asFile = rawDirTree([[name, someChecksum]]);
      const asDir = rawDirTree([], [[name, someChecksum, checksumToBytes(DIRMETA)]]);
      for (const bytes of [asFile, asDir]) {
        const where = `dirtree ${sha256(bytes)}`;
        for (const strict of [false, true]) assert.throws(() => decodeDirTree(bytes, where, strict), corrupted(where, `invalid file name '${name}'`));
      }
    });
  }

  it('refuses a dirtree naming the same entry twice, even as a file and a directory', () => {
    const bytes = rawDirTree([['evil', someChecksum]], [['evil', someChecksum, checksumToBytes(DIRMETA)]]);
    assert.throws(() => decodeDirTree(bytes, 'dirtree X'), corrupted('dirtree X', "duplicate entry 'evil'"));
  });

  it('refuses a dirtree whose checksums are not 32 bytes', () => {
    const bytes = rawDirTree([['short', someChecksum.subarray(0, 31)]]);
    assert.throws(() => decodeDirTree(bytes, 'dirtree X'), corrupted('dirtree X: short', 'a checksum must be 32 bytes, found 31'));
  });

  it('refuses a dirmeta whose mode is not a directory, or whose xattr names are not NUL-terminated', () => {
    assert.throws(() => decodeDirMeta(encodeDirMeta({ uid: 0, gid: 0, mode: S_IFREG | 0o644, xattrs: [] }), 'dirmeta X'),
      corrupted('dirmeta X', 'mode 0100644 is not a directory mode'));
    const badXattr = encode(T_DIRMETA, [0, 0, bswap32(S_IFDIR | 0o755), [[Buffer.from('user.x'), Buffer.from('v')]]]);
    assert.throws(() => decodeDirMeta(badXattr, 'dirmeta X'), corrupted('dirmeta X', 'malformed xattr name'));
  });

  it('refuses a file header for a device node, or a symlink without a target', () => {
    assert.throws(() => decodeFileHeader(encodeFileHeader({ ...REG, mode: 0o020644, symlinkTarget: '' }), 'file X'),
      corrupted('file X', 'mode 020644 is neither a regular file nor a symlink'));
    assert.throws(() => decodeFileHeader(encodeFileHeader({ ...REG, mode: S_IFLNK | 0o777, symlinkTarget: '' }), 'file X'),
      corrupted('file X', 'symlink target does not match the file type'));
  });

  it('refuses a bare-user object that lost its user.ostreemeta xattr', async () => {
    const repo = Repo.init(`${work}/bare-user`, 'bare-user');
    const tx = new Transaction(repo);
    const csum = await tx.writeContent({ ...REG, symlinkTarget: '' }, Buffer.from('x'));
    await tx.commit();
    fs.rmSync(repo.objectPath('file', csum));
    fs.writeFileSync(repo.objectPath('file', csum), 'x'); // as a copy that dropped xattrs would
    await assert.rejects(repo.loadFile(csum), corrupted(`file object ${csum}`, 'missing user.ostreemeta xattr'));
  });

  it("fsck names a planted dirtree holding '..', as ostree fsck also refuses it", async () => {
    const repoPath = `${work}/dotdot`;
    const repo = Repo.init(repoPath, 'archive');
    const tx = new Transaction(repo);
    const content = await tx.writeContent({ ...REG, symlinkTarget: '' }, Buffer.from('x\n'));
    const meta = tx.writeMetadata('dirmeta', encodeDirMeta({ uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] }));
    await tx.commit();
    // Encoded by hand and stored under its own sha256, so only the name is at fault.
    const treeBytes = rawDirTree([['..', checksumToBytes(content)]]);
    const tree = sha256(treeBytes);
    plant(repo, 'dirtree', tree, treeBytes);
    const commitBytes = encodeCommit({ metadata: [['version', new Variant('s', '1')]], parent: null, subject: '', body: '', timestamp: 1, rootTree: tree, rootMeta: meta });
    const commit = sha256(commitBytes);
    plant(repo, 'commit', commit, commitBytes);
    repo.setRef('main', commit);

    const { errors } = await fsck(repo);
    assert.ok(errors.includes(`dirtree object ${tree}: invalid file name '..' (empty, '.', '..' or containing '/')`), errors.join('\n'));
    const cli = arbor(['repo', '--repo', repoPath, 'fsck'], { allowFail: true });
    assert.equal(cli.status, 5, cli.stderr);
    assert.match(cli.stderr, new RegExp(`dirtree object ${tree}: invalid file name '\\.\\.'`));
    const real = ostree(['fsck', '--repo', repoPath], { allowFail: true });
    assert.notEqual(real.status, 0);
    assert.match(real.stderr, /Invalid path uplink filename '\.\.'/);
  });
});

// --- 4. checkout containment ------------------------------------------------------------------

describe('checkout never writes outside its target', () => {
  let work: string;
  let outside: string;
  before(() => {
    work = tmpdir('arbor-contain-');
    outside = tmpdir('outside-');
    fs.writeFileSync(`${outside}/passwd`, 'root:x:0:0:root:/root:/bin/sh\n');
    fs.writeFileSync(`${outside}/victim`, 'original\n');
    fs.mkdirSync(`${outside}/sub`);
  });
  after(() => rm(work, outside));

  describe('hostile names', () => {
    let repo: Repo;
    before(() => { repo = Repo.init(`${work}/names`, 'archive'); });

    const cases: Array<[what: string, entries: () => Entry[], fault: string]> = [];
    for (const name of ['..', '../x', 'a/b', '', '.', '/etc']) {
      const fault = `invalid file name '${name}'`;
      cases.push([`a file named '${name}'`, () => [file('ok', 'ok\n'), file(name, 'pwned\n')], fault]);
      cases.push([`a directory named '${name}'`, () => [file('ok', 'ok\n'), dir(name, file('pwned', 'pwned\n'))], fault]);
    }
    cases.push(["'..' nested twice below a subdirectory", () => [dir('sub', dir('..', dir('..', file('pwned', 'pwned\n'))))], "invalid file name '..'"]);
    cases.push(['a symlink and a directory both named evil', () => [link('evil', outside), dir('evil', file('pwned', 'pwned\n'))], "duplicate entry 'evil'"]);

    cases.forEach(([what, entries, fault], i) => {
      it(`refuses ${what} with Corrupted and writes nothing outside`, async () => {
        const sandbox = `${work}/sandbox-${i}`;
        const target = `${sandbox}/a/b/target`;
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(`${sandbox}/a/b/neighbour`, 'neighbour\n');
        const commit = await commitEntries(repo, entries());
        const sandboxBefore = snapshot(sandbox);
        const outsideBefore = snapshot(outside);
        await assert.rejects(checkout(repo, commit, target), corrupted(fault));
        assert.deepEqual(without(snapshot(sandbox), 'a/b/target'), sandboxBefore);
        assert.deepEqual(snapshot(outside), outsideBefore);
      });
    });

    it('refuses evil as both a symlink and a directory in a union checkout over an evil symlink that points outside', async () => {
      const target = `${work}/union-names`;
      fs.mkdirSync(target);
      fs.symlinkSync(outside, `${target}/evil`);
      const before = snapshot(outside);
      const commit = await commitEntries(repo, [link('evil', outside), dir('evil', file('pwned', 'pwned\n'))]);
      await assert.rejects(checkout(repo, commit, target, { union: true }), corrupted("duplicate entry 'evil'"));
      assert.deepEqual(snapshot(outside), before);
    });
  });

  // Copy checkouts from archive, and hardlink checkouts from bare-user in user mode.
  for (const [mode, checkoutMode] of [['archive', 'none'], ['bare-user', 'user']] as Array<[RepoMode, 'none' | 'user']>) {
    describe(`union checkouts over symlinks (${mode} repo, ${checkoutMode === 'user' ? 'user mode' : 'as root'})`, () => {
      let repo: Repo;
      let n = 0;
      let target: string;
      let outsideBefore: Map<string, string>;

      before(() => { repo = Repo.init(`${work}/union-${mode}`, mode); });
      beforeEach(() => {
        target = `${work}/targets-${mode}/${n++}/target`;
        fs.mkdirSync(path.dirname(target), { recursive: true });
        outsideBefore = snapshot(outside);
      });
      afterEach(() => assert.deepEqual(snapshot(outside), outsideBefore, 'the outside directory is untouched'));

      const union = async (...trees: Entry[][]): Promise<void> => {
        for (const t of trees) await checkout(repo, await commitEntries(repo, t), target, { union: true, mode: checkoutMode });
      };
      const assertRealDir = (p: string): void => assert.ok(fs.lstatSync(p).isDirectory(), `${p} is a real directory, not a symlink`);

      it('replaces a symlink to an absolute outside path with the directory of a later commit', async () => {
        await union([link('evil', outside)]);
        assert.equal(fs.readlinkSync(`${target}/evil`), outside, 'the first commit did plant the symlink');
        await union([dir('evil', file('pwned', 'pwned\n'))]);
        assertRealDir(`${target}/evil`);
        assert.equal(fs.readFileSync(`${target}/evil/pwned`, 'utf8'), 'pwned\n');
      });

      it('replaces a relative symlink climbing out of the target', async () => {
        const rel = path.relative(target, outside);
        assert.ok(rel.startsWith('../../'));
        await union([link('evil', rel)], [dir('evil', dir('sub', file('pwned', 'pwned\n')))]);
        assertRealDir(`${target}/evil`);
        assertRealDir(`${target}/evil/sub`);
      });

      it('replaces a symlink that was already in the target', async () => {
        fs.mkdirSync(target);
        fs.symlinkSync(outside, `${target}/evil`);
        await union([dir('evil', file('pwned', 'pwned\n'))]);
        assertRealDir(`${target}/evil`);
      });

      it('writes link/passwd into the tree, not through link -> /etc', async () => {
        await union([link('link', outside)], [dir('link', file('passwd', 'hacked\n'))]);
        assertRealDir(`${target}/link`);
        assert.equal(fs.readFileSync(`${target}/link/passwd`, 'utf8'), 'hacked\n');
        assert.equal(fs.readFileSync(`${outside}/passwd`, 'utf8'), 'root:x:0:0:root:/root:/bin/sh\n');
      });

      it('replaces a symlink to an outside file with a regular file instead of writing through it', async () => {
        await union([link('evil', `${outside}/victim`)], [file('evil', 'payload\n')]);
        assert.ok(fs.lstatSync(`${target}/evil`).isFile());
        assert.equal(fs.readFileSync(`${target}/evil`, 'utf8'), 'payload\n');
      });

      it('replaces a symlink with a symlink, leaving what it pointed at alone', async () => {
        await union([link('evil', `${outside}/victim`)], [link('evil', 'harmless')]);
        assert.equal(fs.readlinkSync(`${target}/evil`), 'harmless');
      });
    });
  }
});
