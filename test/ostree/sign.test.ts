// ed25519 signing as `ostree sign` does it: signatures OpenSSL agrees with byte for
// byte, kept under ostree.sign.ed25519 beside other detached metadata; remotes with
// sign-verify refuse unsigned or wrongly signed commits before storing anything.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { ArborError } from '../../src/common/errors';
import { Checksum } from '../../src/ostree/checksum';
import { decodeCommitMeta } from '../../src/ostree/objects';
import { pullRefs } from '../../src/ostree/pull';
import { Repo } from '../../src/ostree/repo';
import {
  ED25519_METADATA_KEY, ed25519Signatures, generateKeyPair, parsePublicKey, parseSecretKey, remoteEd25519Keys, signBytes, signCommit, signSummary, verifyCommit,
} from '../../src/ostree/sign';
import { VECTORS, arbor, ostree, run } from '../helpers';
import { TestHttpServer } from '../fixtures/http-server';
import { arborRepoWithRemote, initOstreeRepo, makeTree, objectSet, ostreeCommit, tempDirs, updateSummary } from './pull-fixtures';

const BRANCH = 'os/x86_64';

/** A key made by OpenSSL, in ostree's base64 encodings (seed+public secret, public). */
function opensslKey(dir: string): { pem: string; secret: string; public: string } {
  const pem = `${dir}/key.pem`;
  run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', pem]);
  const der = execFileSync('openssl', ['pkey', '-in', pem, '-outform', 'DER']);
  const pubDer = execFileSync('openssl', ['pkey', '-in', pem, '-pubout', '-outform', 'DER']);
  const seed = der.subarray(der.length - 32);
  const pub = pubDer.subarray(pubDer.length - 32);
  return { pem, secret: Buffer.concat([seed, pub]).toString('base64'), public: pub.toString('base64') };
}


describe('ed25519 signatures', function () {
  const temp = tempDirs();

  it('signs exactly as OpenSSL does (ed25519 is deterministic)', () => {
    const dir = temp();
    const k = opensslKey(dir);
    const msg = fs.readFileSync(`${VECTORS}/objects/826368e897a3abd05d80e749818919512c9f5f46c5f85c9305b36c2f10e8baf6.commit`);
    fs.writeFileSync(`${dir}/msg`, msg);
    run('openssl', ['pkeyutl', '-sign', '-inkey', k.pem, '-rawin', '-in', `${dir}/msg`, '-out', `${dir}/sig`]);
    const ours = signBytes(msg, parseSecretKey(k.secret));
    assert.ok(ours.equals(fs.readFileSync(`${dir}/sig`)));
    assert.equal(parseSecretKey(k.secret).public.base64, k.public);
  });

  it('refuses keys of the wrong size, and a secret key whose second half is not its public key', () => {
    assert.throws(() => parsePublicKey(Buffer.alloc(31).toString('base64')), (e: ArborError) => e.code === 'InvalidArgument' && /32 bytes/.test(e.message));
    const a = Buffer.from(generateKeyPair().secretKey, 'base64');
    const b = Buffer.from(generateKeyPair().secretKey, 'base64');
    assert.throws(() => parseSecretKey(Buffer.concat([a.subarray(0, 32), b.subarray(32)]).toString('base64')), /not the public key of its seed/);
    assert.throws(() => parsePublicKey('not base64!'), /not base64/);
  });

  it('arbor repo sign adds ostree.sign.ed25519 (aay) and keeps the other detached metadata; --verify checks it', async () => {
    const dir = temp();
    run('tar', ['-xzf', `${VECTORS}/http-src-repo.tar.gz`, '-C', dir]);
    const repo = `${dir}/srv`;
    const c = '5a4588c0c862cf637f81933941550871dc431bdfe5d2c051047ab18a9f891731';
    const before = decodeCommitMeta(fs.readFileSync(`${repo}/objects/5a/${c.slice(2)}.commitmeta`));
    const k = generateKeyPair();
    fs.writeFileSync(`${dir}/secret`, `${k.secretKey}\n`);
    arbor(['repo', '--repo', repo, 'sign', c, `--keys-file=${dir}/secret`]);
    const after = Repo.open(repo).loadCommitMeta(c as Checksum)!;
    assert.deepEqual(after.map(([key]) => key), [...before.map(([key]) => key), ED25519_METADATA_KEY]);
    assert.deepEqual(after[0], before[0], 'ostree.gpgsigs untouched');
    const sigs = ed25519Signatures(after, 'x');
    assert.equal(sigs.length, 1);
    assert.equal(sigs[0].length, 64);
    // ostree itself still reads the detached metadata and verifies its GPG signature.
    const shown = ostree(['show', `--repo=${repo}`, `--print-detached-metadata-key=${ED25519_METADATA_KEY}`, c]).stdout;
    assert.ok(shown.includes(`0x${sigs[0][0].toString(16).padStart(2, '0')}`), shown);
    assert.match(arbor(['repo', '--repo', repo, 'sign', '--verify', c, k.publicKey]).stdout, new RegExp(`verified.*${k.publicKey.replace(/[+/]/g, '.')}`));
    const other = generateKeyPair();
    const bad = arbor(['repo', '--repo', repo, 'sign', '--verify', c, '--key', other.publicKey], { allowFail: true });
    assert.equal(bad.status, 5);
    assert.match(bad.stderr, /none of 1 ed25519 signature/);
    // Signing again with the same key does not add a duplicate.
    await signCommit(Repo.open(repo), c as Checksum, [parseSecretKey(k.secretKey)]);
    assert.equal(ed25519Signatures(Repo.open(repo).loadCommitMeta(c as Checksum), 'x').length, 1);
  });

  it('a remote naming no key trusts the system key files and directories, as ostree does', () => {
    const d = temp();
    const [k1, k2] = [generateKeyPair(), generateKeyPair()];
    fs.writeFileSync(`${d}/trusted.ed25519`, `${k1.publicKey}\n`);
    fs.mkdirSync(`${d}/trusted.ed25519.d`);
    fs.writeFileSync(`${d}/trusted.ed25519.d/vendor`, `${k2.publicKey}\n`);
    const keys = remoteEd25519Keys({ name: 'r' }, [`${d}/trusted.ed25519`, `${d}/trusted.ed25519.d`, `${d}/absent`]);
    assert.deepEqual(keys.map((k) => k.base64), [k1.publicKey, k2.publicKey]);
    assert.deepEqual(remoteEd25519Keys({ name: 'r', ed25519Key: k2.publicKey }, [`${d}/trusted.ed25519`]).map((k) => k.base64), [k2.publicKey]);
  });

  describe('a remote with sign-verify', function () {
    let srv: string;
    let server: TestHttpServer;
    let signed: Checksum;
    let unsigned: Checksum;
    let otherSigned: Checksum;
    const key = generateKeyPair();
    const otherKey = generateKeyPair();

    before(async function () {
      srv = initOstreeRepo(`${temp('arbor-sign-srv-')}/repo`);
      const tree = makeTree(`${temp()}/tree`, 10);
      signed = ostreeCommit(srv, tree, 'os/signed');
      unsigned = ostreeCommit(srv, tree, 'os/unsigned');
      otherSigned = ostreeCommit(srv, tree, 'os/other');
      const r = Repo.open(srv);
      await signCommit(r, signed, [parseSecretKey(key.secretKey)]);
      await signCommit(r, otherSigned, [parseSecretKey(otherKey.secretKey)]);
      updateSummary(srv);
      server = await TestHttpServer.start(srv);
    });
    after(async () => server.stop());

    function client(extra: Array<[string, string]> = [['sign-verify', 'true'], ['verification-ed25519-key', key.publicKey]]): { dir: string; repo: Repo } {
      const dir = `${temp()}/dst`;
      return { dir, repo: arborRepoWithRemote(dir, 'bare-user', server.url, extra) };
    }

    it('pulls a commit signed with the trusted key, signatures stored with it', async () => {
      const { dir, repo } = client();
      await pullRefs(repo, 'origin', ['os/signed']);
      assert.equal(verifyCommit(repo, signed, [parsePublicKey(key.publicKey)]).valid, true);
      ostree(['fsck', `--repo=${dir}`]);
    });

    it('takes the trusted keys from verification-ed25519-file too', async () => {
      const f = `${temp()}/trusted`;
      fs.writeFileSync(f, `# trusted keys\n${otherKey.publicKey}\n${key.publicKey}\n`);
      const { repo } = client([['sign-verify', 'true'], ['verification-ed25519-file', f]]);
      await pullRefs(repo, 'origin', ['os/signed', 'os/other']);
    });

    for (const [what, ref] of [['an unsigned commit', 'os/unsigned'], ['a commit signed by another key', 'os/other']]) {
      it(`refuses ${what} before storing anything of it`, async () => {
        const { dir, repo } = client();
        await assert.rejects(pullRefs(repo, 'origin', [ref]), (e: ArborError) =>
          e.code === 'Corrupted' && /requires signed commits/.test(e.message) && e.message.includes(ref === 'os/unsigned' ? unsigned : otherSigned));
        assert.deepEqual([...objectSet(dir)], []);
        assert.deepEqual(fs.readdirSync(`${dir}/state`), []);
        assert.equal(repo.readRef(`origin:${ref}`), null);
      });
    }

    it('with sign-verify-summary, accepts a signed summary and refuses one whose signature does not match', async () => {
      signSummary(Repo.open(srv), [parseSecretKey(key.secretKey)]);
      const { repo } = client([['sign-verify', 'true'], ['sign-verify-summary', 'true'], ['verification-ed25519-key', key.publicKey]]);
      await pullRefs(repo, 'origin', ['os/signed'], { commitMetadataOnly: true });
      const good = fs.readFileSync(`${srv}/summary.sig`);
      signSummary(Repo.open(srv), [parseSecretKey(otherKey.secretKey)]);
      try {
        const c2 = client([['sign-verify', 'true'], ['sign-verify-summary', 'true'], ['verification-ed25519-key', key.publicKey]]);
        await assert.rejects(pullRefs(c2.repo, 'origin', ['os/signed']), (e: ArborError) => e.code === 'Corrupted' && /summary/.test(e.message));
        assert.equal(fs.existsSync(`${c2.dir}/tmp/cache/summaries/origin`), false, 'a refused summary is not cached');
      } finally {
        fs.writeFileSync(`${srv}/summary.sig`, good);
      }
    });
  });
});
