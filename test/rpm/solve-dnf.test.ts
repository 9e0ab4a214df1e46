// Agreement with dnf: the same repos (written as rpm-md at test time) and the same
// request go to Arbor's solver and to dnf 4.14 (its Python API, which `dnf install`
// runs; one process for the whole batch), and the package sets are compared.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { writeSyntheticRepo } from '../fixtures/synthetic-repo';
import { arbor, run, tmpdir } from '../helpers';
import { solve } from '../../src/rpm/solve';
import { PackageMeta } from '../../src/rpm/types';
import { closureProblems, dnfOracle, OracleResult, OracleScenario, pkg, prng, randomPool } from './solve-helpers';

interface Scenario {
  title: string;
  repos: Array<{ packages: PackageMeta[]; priority?: number }>;
  install: string[];
  exclude?: string[];
  weak?: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    title: 'installs the newest version and its requirements',
    repos: [{ packages: [pkg('app-1.0-1.x86_64'), pkg('app-2.0-1.x86_64', { requires: ['lib'] }), pkg('lib-1-1.x86_64'), pkg('other-1-1.x86_64')] }],
    install: ['app'],
  },
  {
    title: 'breaks provider ties by arch, then name order (not name length)',
    repos: [{ packages: [
      pkg('app-1-1.x86_64', { requires: ['virt', 'cap'] }),
      pkg('zz-1-1.x86_64', { provides: ['virt'] }), pkg('aaaaaaaa-1-1.x86_64', { provides: ['virt'] }), pkg('b-1-1.i686', { provides: ['virt'] }),
      pkg('y-1-1.x86_64', { provides: ['cap'] }), pkg('x-1-1.noarch', { provides: ['cap'] }),
    ] }],
    install: ['app'],
  },
  {
    title: 'takes an older provider when the newest is a dead end',
    repos: [{ packages: [
      pkg('app-1-1.x86_64', { requires: ['libx'] }),
      pkg('libx-2-1.x86_64', { requires: ['libz >= 5'] }), pkg('libx-1-1.x86_64', { requires: ['libz'] }), pkg('libz-1-1.x86_64'),
    ] }],
    install: ['app'],
  },
  {
    title: 'backtracks over a dead end three levels down',
    repos: [{ packages: [
      pkg('base-1-1.x86_64'), pkg('app-1-1.x86_64', { requires: ['libx'] }),
      pkg('libx-2-1.x86_64', { requires: ['mid >= 2'] }), pkg('libx-1-1.x86_64', { requires: ['mid'] }),
      pkg('mid-2-1.x86_64', { requires: ['deep >= 2'] }), pkg('mid-1-1.x86_64', { requires: ['deep'] }),
      pkg('deep-2-1.x86_64', { conflicts: ['base'] }), pkg('deep-1-1.x86_64'),
    ] }],
    install: ['base', 'app'],
  },
  {
    title: 'skips the first alternative when it conflicts',
    repos: [{ packages: [
      pkg('base-1-1.x86_64'), pkg('app-1-1.x86_64', { requires: ['webserver'] }),
      pkg('aaa-httpd-1-1.x86_64', { provides: ['webserver'], conflicts: ['base'] }), pkg('bbb-httpd-1-1.x86_64', { provides: ['webserver'] }),
    ] }],
    install: ['base', 'app'],
  },
  {
    title: 'chooses an older version when an obsolete rules out the newest',
    repos: [{ packages: [pkg('app-1-1.x86_64', { requires: ['x', 'y'] }), pkg('x-1-1.x86_64'), pkg('y-2-1.x86_64', { obsoletes: ['x < 2'] }), pkg('y-1-1.x86_64')] }],
    install: ['app'],
  },
  {
    title: 'installs the obsoleting package for an obsoleted name',
    repos: [{ packages: [pkg('oldname-1-1.x86_64'), pkg('newname-2-1.x86_64', { obsoletes: ['oldname < 2'] })] }],
    install: ['oldname'],
  },
  {
    title: 'prefers an alternative that is installed anyway',
    repos: [{ packages: [
      pkg('app-1-1.x86_64', { requires: ['virt', 'helper'] }), pkg('a-1-1.x86_64', { provides: ['virt'] }), pkg('b-1-1.x86_64', { provides: ['virt'] }),
      pkg('helper-1-1.x86_64', { requires: ['b'] }),
    ] }],
    install: ['app'],
  },
  {
    title: 'compares epochs and treats a release-less bound as any release',
    repos: [{ packages: [
      pkg('app-1-1.x86_64', { requires: ['lib >= 1:0.1', 'tool = 2.0', 'z < 3'] }), pkg('lib-9.9-1.x86_64'), pkg('lib-1:0.5-1.x86_64'),
      pkg('tool-2.0-7.x86_64'), pkg('tool-2.1-1.x86_64'), pkg('z-3.0-1.x86_64'), pkg('z-2.9-1.x86_64'),
    ] }],
    install: ['app'],
  },
  {
    title: 'lets an unversioned Provides satisfy a versioned Requires',
    repos: [{ packages: [pkg('app-1-1.x86_64', { requires: ['cap >= 5'] }), pkg('giver-1-1.x86_64', { provides: ['cap'] })] }],
    install: ['app'],
  },
  {
    title: 'resolves file dependencies in primary and in filelists only',
    repos: [{ packages: [
      pkg('script-1-1.noarch', { requires: ['/usr/bin/sh', '/usr/share/dict/words'] }),
      pkg('bash-5-1.x86_64', { files: ['/usr/bin/bash', '/usr/bin/sh'] }), pkg('words-1-1.noarch', { files: ['/usr/share/dict/words'] }),
    ] }],
    install: ['script'],
  },
  {
    title: 'multilib: best arch by default, i686 on request, i686 dependencies with their twin',
    repos: [{ packages: [
      pkg('lib-1-1.x86_64'), pkg('lib-1-1.i686'), pkg('app32-1-1.i686', { requires: ['libc.so.6'] }),
      pkg('glibc-2-1.x86_64', { provides: ['libc.so.6()(64bit)'] }), pkg('glibc-2-1.i686', { provides: ['libc.so.6'] }),
      pkg('tool-1-1.noarch'), pkg('tool-1-1.x86_64'),
    ] }],
    install: ['lib', 'app32', 'tool'],
  },
  {
    title: 'rich dependencies: and, or, if, if-else, unless, with, without',
    repos: [{ packages: [
      pkg('app-1-1.x86_64', { requires: ['(a and b)', '(d or c)', '(e if a)', '(f if zz else g)', '(h unless zz)', '(i with icap)', '(j without jcap)'] }),
      ...'abcdefghz'.split('').map((n) => pkg(`${n}-1-1.x86_64`)),
      pkg('zz-1-1.x86_64'), pkg('i-2-1.x86_64', { provides: ['icap'] }), pkg('i-3-1.x86_64'), pkg('j-2-1.x86_64', { provides: ['jcap'] }), pkg('j-1-1.x86_64'),
    ] }],
    install: ['app'],
  },
  {
    title: 'rich conflicts and rich recommends',
    repos: [{ packages: [
      pkg('app-1-1.x86_64', { conflicts: ['(a and b)'], recommends: ['(c if a)'] }),
      pkg('a-1-1.x86_64'), pkg('b-2-1.x86_64', { requires: ['a'] }), pkg('b-1-1.x86_64'), pkg('c-1-1.x86_64'),
    ] }],
    install: ['app', 'a', 'b'],
  },
  {
    title: 'weak deps: recommends and supplements in, a conflicting recommend and suggests out',
    repos: [{ packages: [
      pkg('app-1-1.x86_64', { recommends: ['extra', 'clash'], suggests: ['docs'] }), pkg('extra-1-1.x86_64'),
      pkg('clash-1-1.x86_64', { conflicts: ['app'] }), pkg('docs-1-1.noarch'),
      pkg('langpack-1-1.noarch', { supplements: ['app'] }), pkg('plugin-1-1.x86_64', { enhances: ['app'] }),
      pkg('sup-2-1.x86_64', { supplements: ['app'] }), pkg('sup-2-1.i686', { supplements: ['app'] }),
    ] }],
    install: ['app'],
  },
  {
    title: 'weak deps off',
    repos: [{ packages: [pkg('app-1-1.x86_64', { recommends: ['extra'] }), pkg('extra-1-1.x86_64'), pkg('langpack-1-1.noarch', { supplements: ['app'] })] }],
    install: ['app'],
    weak: false,
  },
  {
    title: 'excludes by NEVRA glob and by name glob',
    repos: [{ packages: [pkg('foo-1.0-1.x86_64'), pkg('foo-2.0-1.x86_64'), pkg('libfoo-devel-1-1.x86_64'), pkg('libbar-devel-1-1.x86_64')] }],
    install: ['foo', 'lib*-devel'],
    exclude: ['foo-2.0*', 'libfoo*'],
  },
  {
    title: 'spec forms: name-version, NEVRA, name.arch, provides, config(), path, glob',
    repos: [{ packages: [
      pkg('foo-1.0-1.x86_64'), pkg('foo-2.0-1.x86_64'), pkg('bar-1-1.x86_64'), pkg('bar-1-1.i686'), pkg('baz-3:1-1.x86_64'),
      pkg('prov-1-1.x86_64', { provides: ['prov(x86-64) = 1', 'config(prov) = 1-1'] }), pkg('conf-1-1.noarch', { provides: ['config(conf) = 1-1'] }),
      pkg('shell-1-1.x86_64', { files: ['/usr/bin/sh'] }), pkg('libq-devel-1-1.x86_64'), pkg('libr-devel-1-1.x86_64'),
    ] }],
    install: ['foo-1.0', 'bar-1-1.i686', 'baz-3:1-1', 'prov(x86-64)', 'config(conf)', '/usr/bin/sh', 'lib*-devel'],
  },
  {
    title: 'repo priority beats a newer version',
    repos: [{ packages: [pkg('tool-1.0-1.x86_64')], priority: 50 }, { packages: [pkg('tool-9.0-1.x86_64'), pkg('other-1-1.x86_64')] }],
    install: ['tool', 'other'],
  },
  {
    title: 'fails when nothing provides a requirement (both fail)',
    repos: [{ packages: [pkg('app-2.0-1.x86_64', { requires: ['libfoo >= 2'] }), pkg('libfoo-1.5-1.x86_64')] }],
    install: ['app'],
  },
  {
    title: 'fails for two versions of one name (both fail)',
    repos: [{ packages: [pkg('foo-1.0-1.x86_64'), pkg('foo-2.0-1.x86_64')] }],
    install: ['foo-1.0', 'foo-2.0'],
  },
];

const RANDOM_POOLS = 40;

function arborResult(s: Scenario, ids: string[]): OracleResult {
  try {
    const r = solve({
      repos: s.repos.map((r, i) => ({ id: ids[i], packages: r.packages, priority: r.priority })),
      install: s.install,
      exclude: s.exclude,
      weakDeps: s.weak ?? true,
    });
    return { ok: true, packages: r.packages.map((p) => ({ nevra: p.nevra, reason: p.reason === 'requested' ? 2 : p.reason === 'weak' ? 4 : 1 })) };
  } catch (e) {
    return { ok: false, packages: [], error: (e as Error).message };
  }
}

describe('solve: agreement with dnf', function () {
  let dir = '';
  const random: Array<Scenario & { seed: number }> = [];
  let oracle: OracleResult[] = [];
  const all = (): Scenario[] => [...SCENARIOS, ...random];

  before(function () {
    dir = tmpdir('arbor-solve-dnf-');
    for (let seed = 1; seed <= RANDOM_POOLS; seed++) {
      const packages = randomPool(seed, 30 + (seed % 5) * 10);
      const rand = prng(seed * 7);
      const names = [...new Set(packages.map((p) => p.name))];
      const install = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => names[Math.floor(rand() * names.length)]))];
      random.push({ seed, title: `random pool ${seed}`, repos: [{ packages }], install, weak: seed % 4 !== 0 });
    }
    const scenarios: OracleScenario[] = all().map((s, i) => ({
      repos: s.repos.map((r, k) => {
        const d = path.join(dir, `s${i}-r${k}`);
        fs.mkdirSync(d, { recursive: true });
        writeSyntheticRepo(d, r.packages);
        return { id: `r${k}`, dir: d, priority: r.priority };
      }),
      install: s.install,
      exclude: s.exclude,
      weak: s.weak ?? true,
    }));
    oracle = dnfOracle(scenarios);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  SCENARIOS.forEach((s, i) => {
    it(`${s.title}: same set as dnf`, () => {
      const dnf = oracle[i];
      const mine = arborResult(s, s.repos.map((_, k) => `r${k}`));
      assert.equal(mine.ok, dnf.ok, `dnf ${dnf.ok ? 'succeeded' : `failed: ${dnf.error}`}; arbor ${mine.ok ? 'succeeded' : `failed: ${mine.error}`}`);
      assert.deepEqual(mine.packages.map((p) => p.nevra), dnf.packages.map((p) => p.nevra));
      // dnf's tables: requested (2), dependency (1), weak dependency (4).
      assert.deepEqual(mine.packages.map((p) => `${p.nevra}:${p.reason}`), dnf.packages.map((p) => `${p.nevra}:${p.reason}`));
    });
  });

  it(`agrees with dnf on ${RANDOM_POOLS} seeded random pools, or finds an equally valid set`, () => {
    // Identical for almost every pool. Where a pool needs several interacting choices,
    // libsolv visits requirements in the order it created its rules (breadth-first over
    // every candidate) while Arbor visits them in the order packages were installed, so
    // the two may settle a free choice differently (e.g. which version of a provider);
    // both answers are then checked to be complete, conflict-free installations.
    const identical: number[] = [];
    const different: string[] = [];
    random.forEach((s, k) => {
      const dnf = oracle[SCENARIOS.length + k];
      const mine = arborResult(s, ['r0']);
      assert.equal(mine.ok, dnf.ok, `seed ${s.seed}: dnf ${dnf.ok ? 'succeeded' : `failed: ${dnf.error}`}; arbor ${mine.ok ? 'succeeded' : `failed: ${mine.error}`}`);
      if (!mine.ok) return identical.push(s.seed);
      const mineSet = mine.packages.map((p) => p.nevra);
      const dnfSet = dnf.packages.map((p) => p.nevra);
      if (JSON.stringify(mineSet) === JSON.stringify(dnfSet)) return identical.push(s.seed);
      const pkgs = s.repos[0].packages;
      const chosen = pkgs.filter((p) => mineSet.includes(`${p.name}-${p.version}-${p.release}.${p.arch}`));
      assert.deepEqual(closureProblems(pkgs, chosen, s.install), [], `seed ${s.seed}: arbor's different set must be valid`);
      // dnf's set must be valid by the same checker, or the checker (not the solver) is off.
      const theirs = pkgs.filter((p) => dnfSet.includes(`${p.name}-${p.version}-${p.release}.${p.arch}`));
      assert.deepEqual(closureProblems(pkgs, theirs, s.install), [], `seed ${s.seed}: dnf's set passes the checker`);
      different.push(`seed ${s.seed}: +${mineSet.filter((x) => !dnfSet.includes(x)).join(',')} -${dnfSet.filter((x) => !mineSet.includes(x)).join(',')}`);
    });
    if (different.length) console.log(`      equally valid, different from dnf: ${different.join('; ')}`);
    assert.ok(identical.length >= Math.ceil(RANDOM_POOLS * 0.9), `identical on ${identical.length}/${RANDOM_POOLS}`);
  });
});

describe('arbor rpm solve (CLI) against dnf install --assumeno', function () {
  let dir = '';
  before(() => {
    dir = tmpdir('arbor-solve-cli-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** NEVRAs from dnf's transaction tables ("Installing:", "Installing dependencies:", …). */
  function dnfInstallTable(repo: string, specs: string[], extra: string[] = []): string[] {
    const root = path.join(dir, `root-${Math.random().toString(36).slice(2)}`);
    const r = run('dnf', [
      `--installroot=${root}`, '--releasever=1', `--repofrompath=local,file://${repo}`, '--repo=local', '--nogpgcheck',
      '--setopt=reposdir=/dev/null', '--assumeno', ...extra, 'install', ...specs,
    ], { allowFail: true, env: { ...process.env, HOME: dir, COLUMNS: '200' } });
    const out: string[] = [];
    let inTable = false;
    for (const line of r.stdout.split('\n')) {
      if (/^Installing( dependencies| weak dependencies)?:/.test(line)) inTable = true;
      else if (!line.startsWith(' ')) inTable = false;
      else if (inTable) {
        const [name, arch, evr] = line.trim().split(/\s+/);
        out.push(`${name}-${evr}.${arch}`);
      }
    }
    return out.sort();
  }

  it('prints the same sorted NEVRAs as dnf, loading filelists only when a path needs them', () => {
    const repo = path.join(dir, 'repo');
    writeSyntheticRepo(repo, [
      pkg('app-2-1.x86_64', { requires: ['lib >= 2', '/usr/share/app/data'], recommends: ['extra'] }),
      pkg('lib-2-1.x86_64'), pkg('lib-1-1.x86_64'), pkg('extra-1-1.noarch'),
      pkg('appdata-1-1.noarch', { files: ['/usr/share/app/data'] }),
    ]);
    const expected = dnfInstallTable(repo, ['app']);
    assert.deepEqual(expected, ['app-2-1.x86_64', 'appdata-1-1.noarch', 'extra-1-1.noarch', 'lib-2-1.x86_64']);
    assert.deepEqual(arbor(['rpm', 'solve', '--repo', repo, 'app']).stdout.trim().split('\n'), expected);
    assert.deepEqual(dnfInstallTable(repo, ['app'], ['--setopt=install_weak_deps=False']), arbor(['rpm', 'solve', '--repo', repo, '--no-weak-deps', 'app']).stdout.trim().split('\n'));
    const json = JSON.parse(arbor(['rpm', 'solve', '--repo', `file://${repo}`, '--json', 'app']).stdout);
    assert.deepEqual(json.packages.map((p: { nevra: string; reason: string }) => `${p.nevra} ${p.reason}`), [
      'app-2-1.x86_64 requested', 'appdata-1-1.noarch dependency', 'extra-1-1.noarch weak', 'lib-2-1.x86_64 dependency',
    ]);
  });

  it('exits 9 with the chain when nothing works, and 3 with suggestions for an unknown name', () => {
    const repo = path.join(dir, 'bad');
    writeSyntheticRepo(repo, [pkg('app-2.0-1.x86_64', { requires: ['libfoo >= 2'] }), pkg('libfoo-1.5-1.x86_64')]);
    const r = arbor(['rpm', 'solve', '--repo', repo, 'app'], { allowFail: true });
    assert.equal(r.status, 9);
    assert.match(r.stderr, /app-2\.0-1\.x86_64 requires libfoo >= 2, but nothing provides it \(libfoo-1\.5-1\.x86_64 is the newest available\)/);
    const nf = arbor(['rpm', 'solve', '--repo', repo, 'libfo'], { allowFail: true });
    assert.equal(nf.status, 3);
    assert.match(nf.stderr, /no package matches 'libfo'; did you mean: libfoo/);
  });
});
