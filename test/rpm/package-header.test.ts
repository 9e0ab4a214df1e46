// The header structure on its own: parse/encode round trips on rpmbuild's headers,
// packages assembled by buildHeader that rpm itself accepts, and the limits that keep
// a hostile header from costing memory.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../../src/common/errors';
import { Header, HEADER_MAGIC, appendEntries, buildHeader } from '../../src/rpm/header';
import { readRpm } from '../../src/rpm/package';
import { TAG, TYPE } from '../../src/rpm/tags';
import { buildRpm, craftRpm, rewriteRpm, standardFixtures } from '../fixtures/rpmbuild';
import { run, tmpdir } from '../helpers';

describe('rpm header structure', function () {
  let tmp: string;
  let db: string;
  const rpms: string[] = [];
  before(async function () {
    this.timeout(300000);
    for (const s of Object.values(standardFixtures())) rpms.push(await buildRpm(s));
    tmp = tmpdir();
    db = tmpdir('arbor-rpmdb-');
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(db, { recursive: true, force: true });
  });
  const rpm = (args: string[], allowFail = false): ReturnType<typeof run> => run('rpm', ['--dbpath', db, ...args], { allowFail });

  it('re-encodes every signature and main header rpmbuild wrote byte for byte', async () => {
    for (const f of rpms) {
      const pkg = await readRpm(f);
      for (const [h, region] of [[pkg.header, TAG.HEADERIMMUTABLE], [pkg.signature, TAG.HEADERSIGNATURES]] as const) {
        assert.equal(h.regionTag, region);
        assert.ok(buildHeader(h.entries(), region).equals(h.blob()), `${path.basename(f)} region ${region}`);
      }
    }
  });

  it('parses the rpmdb form (no magic) to the same header', async () => {
    const pkg = await readRpm(rpms[0]);
    const h = Header.parseBlob(pkg.header.blob(), 'blob');
    assert.deepEqual(h.tags(), pkg.header.tags());
    assert.equal(h.getString(TAG.NAME), pkg.header.getString(TAG.NAME));
    assert.ok(h.bytes().subarray(0, 8).equals(HEADER_MAGIC));
    const parsed = Header.parse(Buffer.concat([Buffer.from('junk'), h.bytes(), Buffer.from('tail')]), 4, 'embedded');
    assert.equal(parsed.end, 4 + h.bytes().length);
  });

  it('encodes every tag type and reads each back', () => {
    const blob = buildHeader([
      { tag: 1000, type: TYPE.STRING, value: 'name' },
      { tag: 5000, type: TYPE.CHAR, value: [65, 66] },
      { tag: 5001, type: TYPE.INT8, value: [1, 255] },
      { tag: 5002, type: TYPE.INT16, value: [1, 0xffff] },
      { tag: 5003, type: TYPE.INT32, value: [7, 0xffffffff] },
      { tag: 5004, type: TYPE.INT64, value: [2n ** 40n, 5n] },
      { tag: 5005, type: TYPE.BIN, value: Buffer.from([0, 1, 2]) },
      { tag: 5006, type: TYPE.STRING_ARRAY, value: ['a', '', 'ünïcode'] },
      { tag: 5007, type: TYPE.I18NSTRING, value: ['C text', 'de Text'] },
    ], TAG.HEADERIMMUTABLE);
    const h = Header.parseBlob(blob, 'types');
    assert.equal(h.getString(1000), 'name');
    assert.deepEqual(h.getNumbers(5000), [65, 66]);
    assert.deepEqual(h.getNumbers(5001), [1, 255]);
    assert.deepEqual(h.getNumbers(5002), [1, 0xffff]);
    assert.deepEqual(h.getNumbers(5003), [7, 0xffffffff]);
    assert.deepEqual(h.getNumbers(5004), [2 ** 40, 5]);
    assert.deepEqual([...(h.getBin(5005) as Buffer)], [0, 1, 2]);
    assert.deepEqual(h.getStrings(5006), ['a', '', 'ünïcode']);
    assert.equal(h.getString(5007), 'C text');
    assert.deepEqual(h.getI18n(5007), ['C text', 'de Text']);
    assert.equal(h.getNumber(5003), 7);
    assert.equal(h.has(5008), false);
    assert.equal(h.getString(5008), undefined);
    assert.deepEqual(h.entry(5004), { tag: 5004, type: TYPE.INT64, count: 2, offset: h.entry(5004)?.offset });
    assert.equal((h.entry(5004)?.offset ?? 1) % 8, 0, 'INT64 data is 8-aligned');
    assert.throws(() => h.getNumbers(1000), (e: ArborError) => e.code === 'Corrupted' && /expected numeric/.test(e.message));
  });

  it('writes packages that rpm reads and whose digests rpm -K accepts', async () => {
    const src = rpms[0];
    const out = path.join(tmp, 'rewritten.rpm');
    await rewriteRpm(src, out, {
      header: (e) => e.map((x) => (x.tag === TAG.SUMMARY ? { ...x, value: ['Rewritten by Arbor'] } : x)),
    });
    assert.match(rpm(['-K', out]).stdout, /digests OK/);
    assert.equal(rpm(['-qp', '--qf', '%{NAME}|%{SUMMARY}', out]).stdout, `${(await readRpm(src)).meta().name}|Rewritten by Arbor`);
    assert.deepEqual(rpm(['-qpl', out]).stdout, rpm(['-qpl', src]).stdout);
    const pkg = await readRpm(out);
    assert.equal(pkg.meta().summary, 'Rewritten by Arbor');
  });

  it('appends install-time entries after the immutable region, byte for byte as rpm stores them in the rpmdb', async () => {
    const src = rpms.find((f) => path.basename(f).startsWith('arbor-tools')) as string;
    const pkg = await readRpm(src);
    // rpm itself: install the header only into a fresh sqlite rpmdb and take the blob it stored.
    const dbdir = path.join(tmp, 'justdb');
    fs.mkdirSync(dbdir);
    run('rpm', ['--dbpath', dbdir, '-i', '--justdb', '--nodeps', '--noscripts', '--notriggers', src]);
    const Sqlite = (await import('better-sqlite3')).default;
    const db = new Sqlite(path.join(dbdir, 'rpmdb.sqlite'), { readonly: true });
    const stored = (db.prepare('SELECT blob FROM Packages').get() as { blob: Buffer }).blob;
    db.close();
    const h = Header.parseBlob(stored, 'rpmdb');
    assert.equal(h.regionTag, TAG.HEADERIMMUTABLE);
    const own = new Set(pkg.header.tags());
    const dribble = h.entries().filter((e) => !own.has(e.tag));
    assert.ok(dribble.some((e) => e.tag === TAG.INSTALLTIME) && dribble.some((e) => e.tag === TAG.FILESTATES));
    assert.ok(appendEntries(pkg.header.blob(), dribble).equals(stored));
    // An entry after the region overrides one inside it, as rpm reads it.
    const over = Header.parseBlob(appendEntries(pkg.header.blob(), [{ tag: TAG.SUMMARY, type: TYPE.I18NSTRING, value: ['overridden'] }]), 'over');
    assert.equal(over.getString(TAG.SUMMARY), 'overridden');
  });

  it('refuses il and dl beyond the limits before allocating', () => {
    const pre = (il: number, dl: number): Buffer => {
      const b = Buffer.alloc(16);
      HEADER_MAGIC.copy(b);
      b.writeUInt32BE(il, 8);
      b.writeUInt32BE(dl, 12);
      return b;
    };
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => Header.parse(pre(0x7fffffff, 16), 0, 'huge-il'), (e: ArborError) => e.code === 'Corrupted' && /huge-il: header claims 2147483647 index entries/.test(e.message));
    assert.throws(() => Header.parse(pre(1, 0xfffffff0), 0, 'huge-dl'), (e: ArborError) => e.code === 'Corrupted' && /claims 4294967280 data bytes/.test(e.message));
    assert.throws(() => Header.parse(pre(0, 0), 0, 'zero'), (e: ArborError) => e.code === 'Corrupted');
    assert.throws(() => Header.parse(pre(2, 100), 0, 'short'), (e: ArborError) => e.code === 'Corrupted' && /truncated header/.test(e.message));
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
  });

  it('checks every entry: type, count, alignment, bounds, string termination, region trailer', () => {
    const good = buildHeader([{ tag: 1000, type: TYPE.STRING, value: 'x' }, { tag: 1009, type: TYPE.INT32, value: [1] }], TAG.HEADERIMMUTABLE);
    Header.parseBlob(good, 'good');
    const entry = (i: number): number => 8 + i * 16;
    const mutate = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    const cases: Array<[string, Buffer, RegExp]> = [
      ['bad type', mutate((b) => b.writeUInt32BE(42, entry(1) + 4)), /unknown type 42/],
      ['zero count', mutate((b) => b.writeUInt32BE(0, entry(2) + 12)), /count 0/],
      ['misaligned int32', mutate((b) => b.writeUInt32BE(1, entry(2) + 8)), /not aligned/],
      ['offset past data', mutate((b) => b.writeInt32BE(1 << 20, entry(1) + 8)), /outside data/],
      ['negative offset', mutate((b) => b.writeInt32BE(-4, entry(1) + 8)), /outside data/],
      ['count past data', mutate((b) => b.writeUInt32BE(1000, entry(2) + 12)), /runs past the end/],
      ['unterminated string', mutate((b) => b.fill(0x41, b.length - 16 - 8, b.length - 16 - 4)), /runs past|overlaps/],
      ['string count 2', mutate((b) => b.writeUInt32BE(2, entry(1) + 12)), /runs past/],
      ['region trailer tag', mutate((b) => b.writeUInt32BE(61, b.length - 16)), /bad region trailer/],
      ['region too large', mutate((b) => b.writeInt32BE(-16 * 9, b.length - 8)), /region trailer covers/],
      ['region offset', mutate((b) => b.writeInt32BE(3, entry(0) + 8)), /bad region trailer|outside data|region/],
    ];
    for (const [name, blob, re] of cases) {
      assert.throws(() => Header.parseBlob(blob, name), (e: ArborError) => e instanceof ArborError && e.code === 'Corrupted' && e.message.startsWith(`${name}:`) && re.test(e.message), name);
    }
  });

  it('crafts a package from nothing that rpm installs', async function () {
    const cpio = (await import('../../src/rpm/cpio')).writeCpio([
      { name: './opt/crafted', mode: 0o40755, nlink: 2 },
      { name: './opt/crafted/hello', mode: 0o100644, data: Buffer.from('hi\n') },
    ]);
    const out = path.join(tmp, 'crafted.rpm');
    craftRpm(out, {
      header: [
        { tag: TAG.HEADERI18NTABLE, type: TYPE.STRING_ARRAY, value: ['C'] },
        { tag: TAG.NAME, type: TYPE.STRING, value: 'crafted' },
        { tag: TAG.VERSION, type: TYPE.STRING, value: '1' },
        { tag: TAG.RELEASE, type: TYPE.STRING, value: '1' },
        { tag: TAG.SUMMARY, type: TYPE.I18NSTRING, value: ['crafted by hand'] },
        { tag: TAG.DESCRIPTION, type: TYPE.I18NSTRING, value: ['crafted by hand'] },
        { tag: TAG.SIZE, type: TYPE.INT32, value: [3] },
        { tag: TAG.LICENSE, type: TYPE.STRING, value: 'MIT' },
        { tag: TAG.OS, type: TYPE.STRING, value: 'linux' },
        { tag: TAG.ARCH, type: TYPE.STRING, value: 'noarch' },
        { tag: TAG.FILESIZES, type: TYPE.INT32, value: [4096, 3] },
        { tag: TAG.FILEMODES, type: TYPE.INT16, value: [0o40755, 0o100644] },
        { tag: TAG.FILERDEVS, type: TYPE.INT16, value: [0, 0] },
        { tag: TAG.FILEMTIMES, type: TYPE.INT32, value: [1700000000, 1700000000] },
        { tag: TAG.FILEDIGESTS, type: TYPE.STRING_ARRAY, value: ['', '98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4'] },
        { tag: TAG.FILELINKTOS, type: TYPE.STRING_ARRAY, value: ['', ''] },
        { tag: TAG.FILEFLAGS, type: TYPE.INT32, value: [0, 0] },
        { tag: TAG.FILEUSERNAME, type: TYPE.STRING_ARRAY, value: ['root', 'root'] },
        { tag: TAG.FILEGROUPNAME, type: TYPE.STRING_ARRAY, value: ['root', 'root'] },
        { tag: TAG.FILEDEVICES, type: TYPE.INT32, value: [1, 1] },
        { tag: TAG.FILEINODES, type: TYPE.INT32, value: [1, 2] },
        { tag: TAG.FILELANGS, type: TYPE.STRING_ARRAY, value: ['', ''] },
        { tag: TAG.DIRINDEXES, type: TYPE.INT32, value: [0, 1] },
        { tag: TAG.BASENAMES, type: TYPE.STRING_ARRAY, value: ['crafted', 'hello'] },
        { tag: TAG.DIRNAMES, type: TYPE.STRING_ARRAY, value: ['/opt/', '/opt/crafted/'] },
        { tag: TAG.FILEDIGESTALGO, type: TYPE.INT32, value: [8] },
        { tag: TAG.PAYLOADFORMAT, type: TYPE.STRING, value: 'cpio' },
      ],
      cpio,
    });
    assert.match(rpm(['-K', out]).stdout, /digests OK/);
    const root = path.join(tmp, 'rpm-root');
    fs.mkdirSync(root);
    run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', '--noscripts', '--nosignature', '--nofiledigest', out]);
    assert.equal(fs.readFileSync(path.join(root, 'opt/crafted/hello'), 'utf8'), 'hi\n');
    const pkg = await readRpm(out);
    assert.deepEqual(pkg.meta().files, ['/opt/crafted', '/opt/crafted/hello']);
  });
});
