// Pulling over https://: a server whose certificate comes from a private CA (made
// with openssl here), trusted through the remote's tls-ca-path as ostree does, or
// not at all (tls-permissive); a server that asks for a client certificate.
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import assert from 'node:assert/strict';
import { pullRefs } from '../../src/ostree/pull';
import { ArborError } from '../../src/common/errors';
import { run } from '../helpers';
import { arborRepoWithRemote, assertHealthy, initOstreeRepo, makeTree, ostreeCommit, tempDirs, updateSummary } from './pull-fixtures';

const BRANCH = 'os/x86_64/tls';

/** A CA, and a certificate for 127.0.0.1 it signed: server.pem/server.key, client.pem/client.key. */
function makeCerts(dir: string): void {
  const ossl = (args: string[]): void => void run('openssl', args);
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=Arbor test CA',
    '-keyout', `${dir}/ca.key`, '-out', `${dir}/ca.pem`]);
  fs.writeFileSync(`${dir}/ext.cnf`, 'subjectAltName=IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${who}`, '-keyout', `${dir}/${who}.key`, '-out', `${dir}/${who}.csr`]);
    ossl(['x509', '-req', '-in', `${dir}/${who}.csr`, '-CA', `${dir}/ca.pem`, '-CAkey', `${dir}/ca.key`, '-CAcreateserial', '-days', '2',
      ...(who === 'server' ? ['-extfile', `${dir}/ext.cnf`] : []), '-out', `${dir}/${who}.pem`]);
  }
}

/** Serves root over https; with needClient, only to clients holding a certificate the CA signed. */
async function serve(root: string, certs: string, needClient = false): Promise<{ url: string; close: () => Promise<void> }> {
  const server = https.createServer({
    key: fs.readFileSync(`${certs}/server.key`),
    cert: fs.readFileSync(`${certs}/server.pem`),
    ...(needClient ? { ca: fs.readFileSync(`${certs}/ca.pem`), requestCert: true, rejectUnauthorized: true } : {}),
  }, (req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname));
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-length': 0 });
      return res.end();
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('pull over https', function () {
  this.timeout(60_000);
  const temp = tempDirs();
  let certs: string;
  let srv: string;
  let commit: string;

  before(() => {
    certs = temp('arbor-tls-');
    makeCerts(certs);
    srv = initOstreeRepo(`${temp()}/srv`);
    commit = ostreeCommit(srv, makeTree(`${temp()}/tree`, 20), BRANCH);
    updateSummary(srv);
  });

  async function pullWith(options: Array<[string, string]>, needClient = false): Promise<string> {
    const server = await serve(srv, certs, needClient);
    const dst = `${temp()}/dst`;
    try {
      const repo = arborRepoWithRemote(dst, 'bare-user', server.url, options);
      await pullRefs(repo, 'origin', [BRANCH], { retries: 0 });
      assert.equal(repo.readRef(`origin:${BRANCH}`), commit);
      await assertHealthy(dst);
      return dst;
    } finally {
      await server.close();
    }
  }

  async function refused(options: Array<[string, string]>, needClient: boolean, check: (e: ArborError) => boolean): Promise<void> {
    const server = await serve(srv, certs, needClient);
    const dst = `${temp()}/dst`;
    try {
      const repo = arborRepoWithRemote(dst, 'bare-user', server.url, options);
      await assert.rejects(pullRefs(repo, 'origin', [BRANCH], { retries: 0 }), (e: ArborError) => e instanceof ArborError && check(e));
      assert.equal(repo.readRef(`origin:${BRANCH}`), null);
    } finally {
      await server.close();
    }
  }

  it('refuses a server whose certificate no trusted CA signed, saying how to trust it', async () => {
    await refused([], false, (e) => e.code === 'Io' && e.message.includes('not trusted') && e.message.includes('tls-ca-path'));
  });

  it('pulls when the remote trusts the CA with tls-ca-path', async () => {
    await pullWith([['tls-ca-path', `${certs}/ca.pem`]]);
  });

  it('pulls from any server with tls-permissive=true', async () => {
    await pullWith([['tls-permissive', 'true']]);
  });

  it('presents the client certificate of tls-client-cert-path/-key to a server that asks for one', async () => {
    const withCa: [string, string] = ['tls-ca-path', `${certs}/ca.pem`];
    await pullWith([withCa, ['tls-client-cert-path', `${certs}/client.pem`], ['tls-client-key-path', `${certs}/client.key`]], true);
    await refused([withCa], true, (e) => e.code === 'Io');
  });

  it('names the remote and the key when a certificate file is missing or half configured', async () => {
    await refused([['tls-ca-path', `${certs}/nope.pem`]], false, (e) => e.code === 'InvalidArgument' && e.message.includes('tls-ca-path') && e.message.includes("'origin'"));
    await refused([['tls-client-cert-path', `${certs}/client.pem`]], false, (e) => e.code === 'InvalidArgument' && e.message.includes('tls-client-key-path'));
  });
});
