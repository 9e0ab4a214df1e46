// Real OSTree objects made by ostree 2022.7 decode in strict mode and re-encode to
// the very same bytes; a few fields are checked against what make_vectors.sh wrote.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Variant, bswap32, bswap64, decode, encode, isNormalForm } from '../../src/gvariant';
import { goldenHeaders, goldenObjects, readObject } from './support/vectors';
import { OSTREE_TYPES } from './support/random-values';

type Metadata = Array<[string, Variant]>;
type Commit = [Metadata, Buffer, Array<[string, Buffer]>, string, string, bigint, Buffer, Buffer];
type Dirtree = [Array<[string, Buffer]>, Array<[string, Buffer, Buffer]>];
type Dirmeta = [number, number, number, Array<[Buffer, Buffer]>];
type Summary = [Array<[string, [bigint, Buffer, Metadata]]>, Metadata];

const COMMIT = '826368e897a3abd05d80e749818919512c9f5f46c5f85c9305b36c2f10e8baf6.commit';
const OWNED_COMMIT = 'bc11429cd79690f31c705e0fe8e9261054ee90f998399d05cdd7455538c93b9c.commit';
const ROOT_DIRTREE = '0eeb302d88715365905fca2e6a5fc58ff749d824f4faee140442b51849c2e695.dirtree';
const SUB_DIRTREE = '7f8e5bd4ff89d7c3ade93fc766e5c369f0bdc9dd53d5168e00d969572e1724ec.dirtree';
const DIRMETA = '446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488.dirmeta';
const OWNED_DIRMETA = '54714c7f7cd5283f95409cd7a448802dce5bdeab5558f203af294aa9f3a740da.dirmeta';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const metaKeys = (m: Metadata): string[] => m.map(([k]) => k);
const metaValue = (m: Metadata, key: string): Variant | undefined => m.find(([k]) => k === key)?.[1];

describe('GVariant codec on OSTree golden vectors', () => {
  const objects = goldenObjects();
  const headers = goldenHeaders();

  it('finds every kind of metadata object among the vectors', () => {
    const kinds = new Set(objects.map((o) => o.name.split('.').pop()));
    assert.deepEqual([...kinds].sort(), ['commit', 'dirmeta', 'dirtree', 'summary']);
    assert.ok(objects.length >= 8, `only ${objects.length} objects`);
  });

  describe('every metadata object and the summary', () => {
    for (const o of objects) {
      it(`${o.name.slice(0, 20)}… decodes strictly and re-encodes byte-identically`, () => {
        const value = decode(o.type, o.bytes, { strict: true });
        assert.equal(hex(encode(o.type, value)), hex(o.bytes));
      });
    }

    for (const o of objects.filter((x) => x.name !== 'summary')) {
      it(`${o.name.slice(0, 20)}… is named by the sha256 of its bytes`, () => {
        assert.equal(crypto.createHash('sha256').update(o.bytes).digest('hex'), o.name.split('.')[0]);
      });
    }
  });

  describe('every content header and bare-user ostreemeta', () => {
    for (const o of headers) {
      it(`${o.name.slice(0, 20)}… as ${o.type} decodes strictly and re-encodes byte-identically`, () => {
        const value = decode(o.type, o.bytes, { strict: true });
        assert.equal(hex(encode(o.type, value)), hex(o.bytes));
      });
    }
  });

  describe('the commit 826368e8…', () => {
    const c = decode<Commit>(OSTREE_TYPES.commit, readObject(COMMIT), { strict: true });

    it('has the metadata keys version then ostree.ref-binding, in that order', () => {
      assert.deepEqual(metaKeys(c[0]), ['version', 'ostree.ref-binding']);
    });

    it("holds version <'1.0'>", () => {
      assert.deepEqual(metaValue(c[0], 'version'), new Variant('s', '1.0'));
    });

    it("binds the ref <['test/x86_64']>", () => {
      assert.deepEqual(metaValue(c[0], 'ostree.ref-binding'), new Variant('as', ['test/x86_64']));
    });

    it('has no parent and no related objects', () => {
      assert.equal(c[1].length, 0);
      assert.deepEqual(c[2], []);
    });

    it("has subject 'Test subject' and body 'Test body'", () => {
      assert.equal(c[3], 'Test subject');
      assert.equal(c[4], 'Test body');
    });

    it('stores its timestamp big-endian: bswap64 gives 2024-01-01T00:00:00Z', () => {
      assert.equal(bswap64(c[5]), 1704067200n);
    });

    it('points at the root dirtree 0eeb302d… and dirmeta 446a0ef1…', () => {
      assert.equal(hex(c[6]), ROOT_DIRTREE.split('.')[0]);
      assert.equal(hex(c[7]), DIRMETA.split('.')[0]);
    });
  });

  describe('the commit bc11429c… (--no-bindings, owned)', () => {
    const c = decode<Commit>(OSTREE_TYPES.commit, readObject(OWNED_COMMIT), { strict: true });

    it('has empty metadata, subject owned and an empty body', () => {
      assert.deepEqual(c[0], []);
      assert.equal(c[3], 'owned');
      assert.equal(c[4], '');
    });

    it('points at the dirmeta of uid 1000, gid 1001', () => {
      assert.equal(hex(c[7]), OWNED_DIRMETA.split('.')[0]);
    });
  });

  describe('the root dirtree 0eeb302d…', () => {
    const t = decode<Dirtree>(OSTREE_TYPES.dirtree, readObject(ROOT_DIRTREE), { strict: true });

    it('lists the files hello.txt and link with their content checksums', () => {
      assert.deepEqual(t[0].map(([n, cs]) => [n, hex(cs)]), [
        ['hello.txt', '81381808c56d4f3d643ec12f6a18fcf2993af8daba7c2a1b2cbfc315b39424c6'],
        ['link', 'f66efa496a72379413c44593de510dc344beb045294f1a543da87b2b6118db35'],
      ]);
    });

    it('lists the directory sub with its dirtree and dirmeta checksums', () => {
      assert.deepEqual(t[1].map(([n, tree, meta]) => [n, hex(tree), hex(meta)]), [
        ['sub', SUB_DIRTREE.split('.')[0], DIRMETA.split('.')[0]],
      ]);
    });
  });

  describe('the dirmeta objects', () => {
    it('446a0ef1… is 0:0 mode 040755 with no xattrs once byte-swapped', () => {
      const [uid, gid, mode, xattrs] = decode<Dirmeta>(OSTREE_TYPES.dirmeta, readObject(DIRMETA), { strict: true });
      assert.deepEqual([bswap32(uid), bswap32(gid), bswap32(mode).toString(8), xattrs], [0, 0, '40755', []]);
    });

    it('54714c7f… is owned by 1000:1001', () => {
      const [uid, gid] = decode<Dirmeta>(OSTREE_TYPES.dirmeta, readObject(OWNED_DIRMETA), { strict: true });
      assert.deepEqual([bswap32(uid), bswap32(gid)], [1000, 1001]);
    });
  });

  describe('the content headers', () => {
    it('of sub/a.txt carries the xattr user.test = xyz, name NUL-terminated', () => {
      const h = headers.find((o) => o.name.startsWith('f12d34da') && o.name.endsWith('.filez'));
      assert.ok(h);
      const [size, , , mode, , target, xattrs] = decode<[bigint, number, number, number, number, string, Array<[Buffer, Buffer]>]>(h.type, h.bytes, { strict: true });
      assert.equal(bswap64(size), 2n);
      assert.equal(bswap32(mode).toString(8), '100644');
      assert.equal(target, '');
      assert.deepEqual(xattrs.map(([n, v]) => [n.toString('latin1'), v.toString('latin1')]), [['user.test\0', 'xyz']]);
    });

    it('of link holds the symlink target hello.txt', () => {
      const h = headers.find((o) => o.name === 'link.content-stream.bin');
      assert.ok(h);
      const [, , mode, rdev, target] = decode<[number, number, number, number, string]>(h.type, h.bytes, { strict: true });
      assert.equal(bswap32(mode).toString(8), '120777');
      assert.equal(rdev, 0);
      assert.equal(target, 'hello.txt');
    });
  });

  describe('the summary', () => {
    const summary = objects.find((o) => o.name === 'summary');
    assert.ok(summary);
    const [refs, meta] = decode<Summary>(OSTREE_TYPES.summary, summary.bytes, { strict: true });

    it('lists the refs test/owned and test/x86_64, sorted', () => {
      assert.deepEqual(refs.map(([r]) => r), ['test/owned', 'test/x86_64']);
    });

    it('names each ref’s commit and its size in little-endian order', () => {
      assert.deepEqual(refs.map(([, [size, cs]]) => [size, hex(cs)]), [
        [BigInt(readObject(OWNED_COMMIT).length), OWNED_COMMIT.split('.')[0]],
        [BigInt(readObject(COMMIT).length), COMMIT.split('.')[0]],
      ]);
    });

    it('carries the commit timestamp big-endian and the version when the commit has one', () => {
      const x86 = refs[1][1][2];
      assert.deepEqual(metaKeys(x86).sort(), ['ostree.commit.timestamp', 'ostree.commit.version']);
      assert.equal(bswap64(metaValue(x86, 'ostree.commit.timestamp')?.value as bigint), 1704067200n);
      assert.deepEqual(metaValue(x86, 'ostree.commit.version'), new Variant('s', '1.0'));
      assert.deepEqual(metaKeys(refs[0][1][2]), ['ostree.commit.timestamp']);
    });

    it("holds mode <'archive-z2'>, indexed deltas <true> and no tombstones", () => {
      assert.deepEqual(metaValue(meta, 'ostree.summary.mode'), new Variant('s', 'archive-z2'));
      assert.deepEqual(metaValue(meta, 'ostree.summary.indexed-deltas'), new Variant('b', true));
      assert.deepEqual(metaValue(meta, 'ostree.summary.tombstone-commits'), new Variant('b', false));
      assert.equal(metaValue(meta, 'ostree.summary.last-modified')?.type, 't');
    });
  });

  describe('normal form of the vectors', () => {
    it('is lost when a padding byte of the commit is not zero, though the commit still decodes', () => {
      const bytes = Buffer.from(readObject(COMMIT));
      bytes[0x53] = 1; // padding between the body and the 8-aligned timestamp
      assert.equal(isNormalForm(OSTREE_TYPES.commit, bytes), false);
      assert.doesNotThrow(() => decode(OSTREE_TYPES.commit, bytes));
    });
  });
});
