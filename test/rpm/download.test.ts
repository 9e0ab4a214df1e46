// Package downloads against a local HTTP server (127.0.0.1) that can misbehave on
// purpose: 404s, bodies cut short, wrong bytes, Range requests honoured or ignored.
// The cache must only ever hold files that match their checksums.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { ArborError } from '../../src/common/errors';
import { ProgressEvent } from '../../src/common/progress';
import { cachedPackagePath, downloadPackages } from '../../src/rpm/download';
import { PackageMeta, formatNevra } from '../../src/rpm/types';
import { makePackage, prng } from '../fixtures/synthetic-repo';
import { tmpdir } from '../helpers';

/**
 * Serves DIR under /<mode>/…, where mode picks a behaviour:
 * ok (Range honoured), norange (Range ignored), truncate (always half a body),
 * flaky (first request for a file is cut short, later ones fine), wrong (other bytes),
 * slow (sends a little, then stalls until closed). 404 for missing files.
 */
async function misbehavingServer(dir: string) {
  const log: Array<{ url: string; range?: string }> = [];
  const seen = new Set<string>();
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const [, mode, ...rest] = decodeURIComponent(req.url ?? '').split('/');
    const rel = rest.join('/');
    log.push({ url: req.url ?? '', range: req.headers.range });
    const file = path.join(dir, rel);
    if (!rel || !fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    let body = fs.readFileSync(file);
    if (mode === 'wrong') body = Buffer.from(body.map((b) => b ^ 0x5a));
    const cut = (): void => {
      res.writeHead(200, { 'Content-Length': body.length });
      // A clean close (FIN) after exactly half the body: the client sees every byte sent.
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.end());
    };
    if (mode === 'truncate') return cut();
    if (mode === 'flaky' && !seen.has(rel)) {
      seen.add(rel);
      return cut();
    }
    if (mode === 'slow') {
      res.writeHead(200, { 'Content-Length': body.length });
      res.write(body.subarray(0, 10));
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && mode !== 'norange') {
      const start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'Content-Length': body.length });
    res.end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: (mode: string) => `http://127.0.0.1:${port}/${mode}/`,
    log,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

describe('package downloads (downloadPackages)', function () {
  let root: string;
  let srv: Awaited<ReturnType<typeof misbehavingServer>>;
  let pkgs: PackageMeta[];
  let cacheN = 0;
  const cache = (): string => path.join(root, `cache-${cacheN++}`);
  const repos = (mode: string): Map<string, string> => new Map([['r', srv.base(mode)]]);
  const only = (name: string): PackageMeta[] => pkgs.filter((p) => p.name === name);

  before(async function () {
    root = tmpdir('arbor-download-');
    const served = path.join(root, 'served');
    fs.mkdirSync(path.join(served, 'Packages'), { recursive: true });
    const rnd = prng(9);
    pkgs = Array.from({ length: 12 }, (_, i) => {
      // Incompressible bodies of 50-400 KB: big enough for several chunks each.
      const size = 50_000 + Math.floor(rnd() * 350_000);
      const body = randomBytes(size);
      const location = `Packages/pkg${i}-1.0-1.x86_64.rpm`;
      fs.writeFileSync(path.join(served, location), body);
      return makePackage({ name: `pkg${i}`, repo: 'r', location, packageSize: size, checksum: { type: 'sha256', value: createHash('sha256').update(body).digest('hex') } });
    });
    srv = await misbehavingServer(served);
  });
  after(async function () {
    await srv.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  beforeEach(() => srv.log.splice(0));

  const rejects = async (p: Promise<unknown>, code: string, ...mentions: string[]): Promise<void> => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof ArborError, `an ArborError, not ${String(e)}`);
      assert.equal(e.code, code, e.message);
      for (const m of mentions) assert.ok(e.message.includes(m), `'${e.message}' mentions '${m}'`);
      return true;
    });
  };
  const resumedFrom = (range: string | undefined): number => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? -1);
  const cacheFiles = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

  it('downloads every package in parallel into a cache keyed by checksum, with progress', async function () {
    const dir = cache();
    const events: ProgressEvent[] = [];
    const got = await downloadPackages(pkgs, repos('ok'), dir, { concurrency: 3, progress: (e) => events.push(e) });
    assert.equal(got.size, pkgs.length);
    for (const p of pkgs) {
      const file = got.get(formatNevra(p))!;
      assert.equal(file, cachedPackagePath(dir, p));
      assert.equal(path.basename(file), `sha256-${p.checksum!.value}.rpm`);
      assert.equal(createHash('sha256').update(fs.readFileSync(file)).digest('hex'), p.checksum!.value);
    }
    const totalBytes = pkgs.reduce((n, p) => n + p.packageSize!, 0);
    const last = events[events.length - 1];
    assert.deepEqual([last.phase, last.done, last.total, last.bytes], ['download', pkgs.length, pkgs.length, totalBytes]);
    assert.equal(events.filter((e) => e.message).length, pkgs.length, 'one event per finished package');
    assert.ok(events.some((e) => e.done < pkgs.length && (e.bytes ?? 0) > 0), 'byte progress before the end');
    assert.deepEqual(cacheFiles(dir).filter((f) => f.endsWith('.part')), []);
  });

  it('does not fetch packages already in the cache', async function () {
    const dir = cache();
    await downloadPackages(only('pkg0'), repos('ok'), dir);
    srv.log.splice(0);
    await downloadPackages(only('pkg0'), repos('ok'), dir);
    assert.deepEqual(srv.log, []);
  });

  it('a 404 is NotFound naming the package and URL, and leaves nothing in the cache', async function () {
    const dir = cache();
    const missing = makePackage({ name: 'ghost', repo: 'r', location: 'Packages/ghost.rpm', packageSize: 10, checksum: { type: 'sha256', value: 'ab'.repeat(32) } });
    await rejects(downloadPackages([missing], repos('ok'), dir), 'NotFound', 'ghost-1.0-1.x86_64', `${srv.base('ok')}Packages/ghost.rpm`, '404');
    assert.deepEqual(cacheFiles(dir), []);
  });

  it('wrong bytes are Corrupted naming the package, URL and checksums, and are removed', async function () {
    const dir = cache();
    const p = only('pkg1')[0];
    await rejects(downloadPackages([p], repos('wrong'), dir), 'Corrupted', 'pkg1-1.0-1.x86_64', `${srv.base('wrong')}${p.location}`, p.checksum!.value);
    assert.deepEqual(cacheFiles(dir), []);
  });

  it('a body cut short is an Io error naming the package and URL after retries, keeping only a .part', async function () {
    const dir = cache();
    const p = only('pkg2')[0];
    await rejects(downloadPackages([p], repos('truncate'), dir, { retries: 1 }), 'Io', 'pkg2-1.0-1.x86_64', `${srv.base('truncate')}${p.location}`, 'short read');
    assert.deepEqual(cacheFiles(dir), [`${path.basename(cachedPackagePath(dir, p))}.part`]);
    assert.equal(srv.log.length, 2, 'one first attempt and one retry');
    assert.ok(resumedFrom(srv.log[1].range) > 0 && resumedFrom(srv.log[1].range) <= p.packageSize! / 2, 'the retry asks for the rest');
  });

  it('resumes a partial download with a Range request', async function () {
    const dir = cache();
    const p = only('pkg3')[0];
    const got = await downloadPackages([p], repos('flaky'), dir);
    const file = got.get(formatNevra(p))!;
    assert.equal(createHash('sha256').update(fs.readFileSync(file)).digest('hex'), p.checksum!.value);
    // Whatever reached the .part before the connection dropped is not fetched again.
    assert.equal(srv.log.length, 2);
    assert.equal(srv.log[0].range, undefined);
    assert.ok(resumedFrom(srv.log[1].range) > 0 && resumedFrom(srv.log[1].range) <= p.packageSize! / 2, String(srv.log[1].range));
  });

  it('resumes from a .part left by an earlier run, and starts over when Range is ignored', async function () {
    for (const mode of ['ok', 'norange']) {
      const dir = cache();
      const p = only('pkg4')[0];
      fs.mkdirSync(dir, { recursive: true });
      const body = fs.readFileSync(path.join(root, 'served', p.location!));
      fs.writeFileSync(`${cachedPackagePath(dir, p)}.part`, body.subarray(0, 1000));
      srv.log.splice(0);
      const got = await downloadPackages([p], repos(mode), dir);
      assert.deepEqual(fs.readFileSync(got.get(formatNevra(p))!), body, mode);
      assert.equal(srv.log[0].range, 'bytes=1000-');
      assert.deepEqual(cacheFiles(dir), [path.basename(cachedPackagePath(dir, p))]);
    }
  });

  it('a .part with a bad prefix fails its checksum once, then is fetched again from scratch', async function () {
    const dir = cache();
    const p = only('pkg5')[0];
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${cachedPackagePath(dir, p)}.part`, Buffer.alloc(5000, 7));
    const got = await downloadPackages([p], repos('ok'), dir);
    assert.equal(createHash('sha256').update(fs.readFileSync(got.get(formatNevra(p))!)).digest('hex'), p.checksum!.value);
    assert.deepEqual(srv.log.map((l) => l.range), ['bytes=5000-', undefined]);
  });

  it('a package larger than its metadata says is Corrupted and not kept', async function () {
    const dir = cache();
    const p = { ...only('pkg6')[0], packageSize: 1000 };
    await rejects(downloadPackages([p], repos('ok'), dir), 'Corrupted', 'pkg6-1.0-1.x86_64', 'more than the 1000 bytes');
    assert.deepEqual(cacheFiles(dir), []);
  });

  it('one failure stops the batch; packages that completed stay cached and valid', async function () {
    const dir = cache();
    const bad = makePackage({ name: 'ghost', repo: 'r', location: 'Packages/ghost.rpm', packageSize: 10, checksum: { type: 'sha256', value: 'cd'.repeat(32) } });
    await rejects(downloadPackages([...pkgs.slice(0, 3), bad], repos('ok'), dir, { concurrency: 1 }), 'NotFound', 'ghost');
    for (const f of cacheFiles(dir).filter((x) => !x.endsWith('.part'))) {
      const p = pkgs.find((x) => f === `sha256-${x.checksum!.value}.rpm`)!;
      assert.ok(p, f);
      assert.equal(createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex'), p.checksum!.value);
    }
  });

  it('cancellation is Cancelled, keeps a resumable .part, and never a finished-looking file', async function () {
    const dir = cache();
    const p = only('pkg7')[0];
    const ac = new AbortController();
    const pending = downloadPackages([p], repos('slow'), dir, { signal: ac.signal });
    while (!srv.log.length) await new Promise((r) => setImmediate(r));
    ac.abort();
    await rejects(pending, 'Cancelled');
    assert.ok(cacheFiles(dir).every((f) => f.endsWith('.part')));
  });

  it('stalled connections time out as Io errors', async function () {
    const dir = cache();
    await rejects(downloadPackages(only('pkg8'), repos('slow'), dir, { idleTimeoutMs: 300, retries: 0 }), 'Io', 'pkg8', 'no data for 300 ms');
  });

  it('file:// and plain-directory baseurls work too', async function () {
    for (const base of [`file://${path.join(root, 'served')}`, path.join(root, 'served')]) {
      const dir = cache();
      const got = await downloadPackages(only('pkg9'), new Map([['r', base]]), dir);
      assert.equal(fs.statSync(got.get('pkg9-1.0-1.x86_64')!).size, only('pkg9')[0].packageSize);
    }
  });

  it('fetches a package whose location is absolute (xml:base) without a baseurl', async function () {
    const p = only('pkg11')[0];
    const abs = { ...p, repo: 'not-configured', location: `${srv.base('ok')}${p.location}` };
    const got = await downloadPackages([abs], new Map(), cache());
    assert.equal(fs.statSync(got.get(formatNevra(p))!).size, p.packageSize);
  });

  it('refuses packages it cannot verify or locate, before fetching anything', async function () {
    const noSum = { ...only('pkg10')[0], checksum: undefined };
    await rejects(downloadPackages([noSum], repos('ok'), cache()), 'InvalidArgument', 'pkg10', 'checksum');
    const noRepo = { ...only('pkg10')[0], repo: 'elsewhere' };
    await rejects(downloadPackages([noRepo], repos('ok'), cache()), 'InvalidArgument', "repo 'elsewhere'");
    assert.deepEqual(srv.log, []);
  });
});
