// `arbor rpm info` and `arbor rpm contents`, compared with rpm's own query output.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildRpm, standardFixtures } from '../fixtures/rpmbuild';
import { arbor, run, tmpdir } from '../helpers';

describe('arbor rpm info / contents', function () {
  const specs = standardFixtures();
  const files: Record<string, string> = {};
  let db: string;
  const env = { ...process.env, TZ: 'UTC', LC_ALL: 'C' };
  before(async function () {
    this.timeout(300000);
    for (const k of ['base', 'lib', 'busybox']) files[k] = await buildRpm(specs[k]);
    db = tmpdir('arbor-rpmdb-');
  });
  after(() => fs.rmSync(db, { recursive: true, force: true }));

  it('contents prints what rpm -qplv prints, line for line', () => {
    for (const f of Object.values(files)) {
      const ours = arbor(['rpm', 'contents', f], { env }).stdout;
      const theirs = run('rpm', ['-qplv', '--dbpath', db, f], { env }).stdout;
      assert.equal(ours, theirs, path.basename(f));
    }
  });

  it('info --json gives NEVRA, sizes, dependencies by kind, scriptlets and the compressor', () => {
    const info = JSON.parse(arbor(['rpm', 'info', '--json', files.base]).stdout);
    assert.equal(info.nevra, 'arbor-base-1:2.1-3.fc40.noarch');
    assert.equal(info.summary, 'Base files with config, /var and links');
    assert.equal(info.license, 'GPL-2.0-or-later');
    assert.equal(info.installedSize, Number(run('rpm', ['-qp', '--dbpath', db, '--qf', '%{LONGSIZE}', files.base]).stdout));
    assert.equal(info.packageSize, fs.statSync(files.base).size);
    assert.equal(info.payload.compressor, 'zstd');
    const rpmRequires = run('rpm', ['-qp', '--dbpath', db, '--requires', files.base]).stdout.trim().split('\n');
    assert.deepEqual(info.deps.requires.map((d: string) => d.replace(' [pre]', '')).sort(), rpmRequires.filter((r) => !r.startsWith('rpmlib(')).sort());
    assert.deepEqual(info.deps.conflicts, ['arbor-old < 1.0']);
    assert.deepEqual(info.deps.obsoletes, ['arbor-legacy <= 0.9']);
    assert.deepEqual(info.deps.supplements, ['(arbor-lib and arbor-tools)']);
    assert.deepEqual(info.scriptlets.map((s: { kind: string }) => s.kind), ['pretrans', 'prein', 'postin', 'preun', 'postun', 'posttrans']);
    assert.deepEqual(info.scriptlets[0].prog, ['<lua>']);
  });

  it('info prints a readable summary', () => {
    const out = arbor(['rpm', 'info', files.lib]).stdout;
    assert.match(out, /^Name +: arbor-lib$/m);
    assert.match(out, /^NEVRA +: arbor-lib-1\.2-1\.noarch$/m);
    assert.match(out, /^Payload +: cpio, xz \(level 9\)/m);
    assert.match(out, /^postin scriptlet \(using \/sbin\/ldconfig\):$/m);
  });

  it('fails with a clear message and exit status for missing and damaged files', () => {
    const missing = arbor(['rpm', 'info', '/nonexistent/x.rpm'], { allowFail: true });
    assert.equal(missing.status, 3);
    assert.match(missing.stderr, /error: .*\/nonexistent\/x\.rpm/);
    const bad = path.join(db, 'bad.rpm');
    fs.writeFileSync(bad, 'not an rpm');
    const r = arbor(['rpm', 'contents', bad], { allowFail: true });
    assert.equal(r.status, 5);
    assert.match(r.stderr, /bad\.rpm: not an RPM file/);
  });
});
