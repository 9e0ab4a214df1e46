// A 60,000-package primary loads by streaming, in well under 1 GB, and its parsed form
// is cached by checksum so the second load skips the XML. Each load runs in its own
// Node process so its peak RSS is its own. The repo is cached under .cache/ by the
// generator's content hash.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { generateRealisticPool, writeSyntheticRepo } from '../fixtures/synthetic-repo';
import { ROOT, run, tmpdir } from '../helpers';

const N = 60_000;

/** The synthetic repo, generated once per version of the generator. */
function largeRepo(): string {
  const gen = fs.readFileSync(require.resolve('../fixtures/synthetic-repo'));
  const key = createHash('sha256').update(gen).update(String(N)).digest('hex').slice(0, 16);
  const dir = path.join(ROOT, '.cache', 'rpm-md', `synthetic-${N}-${key}`);
  if (fs.existsSync(path.join(dir, 'repodata/repomd.xml'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  writeSyntheticRepo(tmp, generateRealisticPool(N, 1), { compress: 'gz', level: 1 });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

interface Measured { ms: number; rssMb: number; count: number; deps: number }

/** Loads the repo in a fresh Node process and reports time and peak RSS. */
function loadInChild(repo: string, cacheDir: string, filelists: boolean): Measured {
  const script = `
    const { loadRepo } = require(${JSON.stringify(path.join(ROOT, 'dist/src/rpm/repomd.js'))});
    const t0 = process.hrtime.bigint();
    loadRepo({ id: 'big', baseurl: ${JSON.stringify(repo)} }, { cacheDir: ${JSON.stringify(cacheDir)}, filelists: ${filelists} }).then((r) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const deps = r.packages.reduce((n, p) => n + p.requires.length + p.provides.length, 0);
      console.log(JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024, count: r.packages.length, deps }));
    }, (e) => { console.error(e); process.exit(1); });`;
  return JSON.parse(run(process.execPath, ['-e', script]).stdout) as Measured;
}

describe('a 60,000-package repository', function () {
  let repo: string;
  let cacheDir: string;
  before(function () {
    repo = largeRepo();
    cacheDir = tmpdir('arbor-mdcache-');
  });
  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  it('loads by streaming in well under 1 GB, and loads faster again from the parsed cache', function () {
    const cold = loadInChild(repo, cacheDir, false);
    const warm = loadInChild(repo, cacheDir, false);
    console.log(`      cold ${cold.ms.toFixed(0)} ms, ${cold.rssMb.toFixed(0)} MB peak RSS; cached ${warm.ms.toFixed(0)} ms, ${warm.rssMb.toFixed(0)} MB`);
    assert.ok(cold.count >= N, `${cold.count} packages`);
    assert.equal(warm.count, cold.count);
    assert.equal(warm.deps, cold.deps);
    assert.ok(cold.rssMb < 700, `peak RSS ${cold.rssMb.toFixed(0)} MB`);
    assert.ok(warm.rssMb < 700, `peak RSS ${warm.rssMb.toFixed(0)} MB`);
    assert.ok(warm.ms < cold.ms / 2, `cached ${warm.ms.toFixed(0)} ms vs cold ${cold.ms.toFixed(0)} ms`);
  });
});
