import assert from 'node:assert/strict';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { buildRpms, standardFixtures } from '../fixtures/rpmbuild';
import { tmpdir, run } from '../helpers';
import { extractRpm } from '../../src/rpm/extract';
import { RpmPackage, readRpm } from '../../src/rpm/package';
import { TREE_RPMDB_DIR, headerNevra, readRpmdb, writeRpmdb } from '../../src/rpm/rpmdb';
import { formatNevra } from '../../src/rpm/types';

// rpm as the oracle: always its own --root and --dbpath, never the host database.
function rpmq(root: string, args: string[], allowFail = false): ReturnType<typeof run> {
  return run('rpm', ['--root', root, '--dbpath', `/${TREE_RPMDB_DIR}`, ...args], { allowFail });
}

/** An index table's rows as 'package: key#idx', sorted: rpm installs in dependency order, so hnums differ. */
function tableRows(file: string, table: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare(`SELECT t.key AS key, t.idx AS idx, n.key AS pkg FROM '${table}' t JOIN 'Name' n ON n.hnum = t.hnum`).all() as Array<{ key: unknown; idx: number; pkg: string }>;
    return rows.map((r) => `${r.pkg}: ${Buffer.isBuffer(r.key) ? r.key.toString('hex') : r.key}#${r.idx}`).sort();
  } finally {
    db.close();
  }
}

describe('rpmdb', function () {
  let pkgs: RpmPackage[];
  let tree: string;
  let oracle: string;
  const dirs: string[] = [];

  before(async function () {
    this.timeout(300_000);
    const fx = standardFixtures();
    // busybox first: it provides /bin/sh; the rest in a fixed order rpm will also use.
    const paths = await buildRpms([fx.busybox ?? Object.values(fx).find((s) => s.name === 'busybox-sh')!, ...Object.values(fx).filter((s) => s.name !== 'busybox-sh').slice(0, 4)]);
    pkgs = await Promise.all(paths.map((p) => readRpm(p)));
    tree = tmpdir('arbor-rpmdb-tree-');
    dirs.push(tree);
    for (const p of pkgs) await extractRpm(p, tree);
    writeRpmdb(`${tree}/${TREE_RPMDB_DIR}`, pkgs.map((p) => ({ header: p.header, signature: p.signature })), { installTime: 1700000000 });
    // rpm's own database of the same packages, for comparing the index tables.
    oracle = tmpdir('arbor-rpmdb-oracle-');
    dirs.push(oracle);
    rpmq(oracle, ['--initdb']);
    rpmq(oracle, ['-i', '--justdb', '--nodeps', '--noscripts', '--ignorearch', '--nosignature', ...paths]);
  });

  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('lets `rpm -qa` list exactly the installed packages', () => {
    const listed = rpmq(tree, ['-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n']).stdout.trim().split('\n').sort();
    const want = pkgs.map((p) => { const n = p.nevra(); return `${n.name}-${n.epoch}:${n.version}-${n.release}.${n.arch}`; }).sort();
    assert.deepEqual(listed, want);
  });

  it('answers `rpm -qf` for a file with its owning package', () => {
    const p = pkgs.find((x) => x.files().some((f) => f.type === 'file' && !f.ghost))!;
    const f = p.files().find((x) => x.type === 'file' && !x.ghost)!;
    assert.equal(rpmq(tree, ['-qf', f.path, '--qf', '%{NAME}\\n']).stdout.trim(), p.nevra().name);
  });

  it('lists a package\'s files with `rpm -ql`', () => {
    const p = pkgs[1];
    const listed = rpmq(tree, ['-ql', p.nevra().name]).stdout.trim().split('\n').sort();
    assert.deepEqual(listed, p.files().map((f) => f.path).sort());
  });

  it('finds providers with `rpm -q --whatprovides`', () => {
    const p = pkgs.find((x) => x.deps('provides').some((d) => d.name !== x.nevra().name && !d.name.includes('(')))!;
    const cap = p.deps('provides').find((d) => d.name !== p.nevra().name && !d.name.includes('('))!.name;
    assert.equal(rpmq(tree, ['-q', '--whatprovides', cap, '--qf', '%{NAME}\\n']).stdout.trim(), p.nevra().name);
  });

  it('lets `rpm -V` verify every package against the extracted tree', () => {
    for (const p of pkgs) {
      const r = rpmq(tree, ['-V', '--nodeps', '--noscripts', p.nevra().name], true);
      assert.equal(r.status, 0, `rpm -V ${p.nevra().name}:\n${r.stdout}${r.stderr}`);
    }
  });

  it('reports a changed file through `rpm -V`', () => {
    const p = pkgs.find((x) => x.files().some((f) => f.type === 'file' && !f.ghost && !f.config && f.size > 0))!;
    const f = p.files().find((x) => x.type === 'file' && !x.ghost && !x.config && x.size > 0)!;
    const target = `${tree}${f.path}`;
    const before = fs.readFileSync(target);
    fs.writeFileSync(target, Buffer.concat([before, Buffer.from('tampered')]));
    try {
      const r = rpmq(tree, ['-V', '--nodeps', '--noscripts', p.nevra().name], true);
      assert.notEqual(r.status, 0);
      assert.match(r.stdout, new RegExp(`5.*${f.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    } finally {
      fs.writeFileSync(target, before);
    }
  });

  it('fills every index table as rpm itself does', () => {
    const mine = `${tree}/${TREE_RPMDB_DIR}/rpmdb.sqlite`;
    const theirs = `${oracle}/${TREE_RPMDB_DIR}/rpmdb.sqlite`;
    for (const t of ['Name', 'Basenames', 'Group', 'Requirename', 'Providename', 'Conflictname', 'Obsoletename', 'Triggername', 'Dirnames', 'Sigmd5', 'Sha1header', 'Filetriggername', 'Transfiletriggername', 'Recommendname', 'Suggestname', 'Supplementname', 'Enhancename']) {
      assert.deepEqual(tableRows(mine, t), tableRows(theirs, t), `table ${t}`);
    }
  });

  it('stores the same installed headers as rpm apart from install time', () => {
    const tagsByName = (dir: string): string[] =>
      readRpmdb(dir).map((r) => `${headerNevra(r.header).name}: ${r.header.tags().join(' ')}`).sort();
    assert.deepEqual(tagsByName(`${tree}/${TREE_RPMDB_DIR}`), tagsByName(`${oracle}/${TREE_RPMDB_DIR}`));
  });

  it('reads the packages back in install order', () => {
    const back = readRpmdb(`${tree}/${TREE_RPMDB_DIR}`);
    assert.deepEqual(back.map((r) => formatNevra(headerNevra(r.header))), pkgs.map((p) => formatNevra(p.nevra())));
  });

  it('replaces an existing database whole and leaves no temporary file', () => {
    const dir = `${tree}/${TREE_RPMDB_DIR}`;
    writeRpmdb(dir, [{ header: pkgs[0].header, signature: pkgs[0].signature }]);
    assert.equal(readRpmdb(dir).length, 1);
    assert.deepEqual(fs.readdirSync(dir), ['rpmdb.sqlite']);
    writeRpmdb(dir, pkgs.map((p) => ({ header: p.header, signature: p.signature })), { installTime: 1700000000 });
  });

  it('refuses a missing or damaged database with an error naming the file', () => {
    const d = tmpdir('arbor-rpmdb-bad-');
    dirs.push(d);
    assert.throws(() => readRpmdb(d), (e: Error & { code?: string }) => e.code === 'NotFound' && e.message.includes(d));
    fs.writeFileSync(`${d}/rpmdb.sqlite`, 'not a database at all, just text'.repeat(200));
    assert.throws(() => readRpmdb(d), (e: Error & { code?: string }) => e.code === 'Corrupted' && e.message.includes('rpmdb.sqlite'));
  });
});
