// The solver on in-memory repositories: what gets installed, which alternative wins,
// where naive resolvers fail (backtracking), rich and weak deps, specs, excludes, and
// errors a person can act on. dnf agreement is in solve-dnf.test.ts.
import assert from 'node:assert/strict';
import { ArborError } from '../../src/common/errors';
import { solve, SolveRequest } from '../../src/rpm/solve';
import { PackageMeta } from '../../src/rpm/types';
import { closureProblems, pkg } from './solve-helpers';

function install(pkgs: PackageMeta[], specs: string[], opts: Partial<SolveRequest> = {}): string[] {
  const r = solve({ repos: [{ id: 'main', packages: pkgs }], install: specs, ...opts });
  const set = r.packages.map((p) => p.pkg);
  assert.deepEqual(closureProblems(pkgs, set, [], opts.arch), [], 'the result is a valid installation');
  return r.packages.map((p) => p.nevra);
}

function failure(fn: () => unknown): ArborError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ArborError, String(e));
    return e;
  }
  assert.fail('expected an error');
}

describe('solve: versions and providers', () => {
  it('installs the newest version of a requested name and what it requires', () => {
    const repo = [pkg('app-1.0-1.x86_64'), pkg('app-2.0-1.x86_64', { requires: ['lib'] }), pkg('lib-1-1.x86_64'), pkg('unrelated-1-1.x86_64')];
    assert.deepEqual(install(repo, ['app']), ['app-2.0-1.x86_64', 'lib-1-1.x86_64']);
  });

  it('matches versioned requires with epochs, and a release-less bound matches every release', () => {
    const repo = [
      pkg('app-1-1.x86_64', { requires: ['lib >= 1:0.1', 'tool = 2.0'] }),
      pkg('lib-9.9-1.x86_64'), pkg('lib-1:0.5-1.x86_64'),
      pkg('tool-2.0-7.x86_64'), pkg('tool-2.1-1.x86_64'),
    ];
    assert.deepEqual(install(repo, ['app']), ['app-1-1.x86_64', 'lib-1:0.5-1.x86_64', 'tool-2.0-7.x86_64']);
  });

  it('lets an unversioned Provides satisfy a versioned Requires, as rpm and dnf do', () => {
    const repo = [pkg('app-1-1.x86_64', { requires: ['cap >= 5'] }), pkg('giver-1-1.x86_64', { provides: ['cap'] })];
    assert.deepEqual(install(repo, ['app']), ['app-1-1.x86_64', 'giver-1-1.x86_64']);
  });

  it('takes an older provider when the newest one leads to a dead end', () => {
    const repo = [
      pkg('app-1-1.x86_64', { requires: ['libx'] }),
      pkg('libx-2-1.x86_64', { requires: ['libz >= 5'] }), // nothing provides libz >= 5
      pkg('libx-1-1.x86_64', { requires: ['libz'] }),
      pkg('libz-1-1.x86_64'),
    ];
    assert.deepEqual(install(repo, ['app']), ['app-1-1.x86_64', 'libx-1-1.x86_64', 'libz-1-1.x86_64']);
  });

  it('backtracks over a dead end found only several levels down', () => {
    // libx-2 → mid-2 → deep-2, and deep-2 conflicts with the requested base: only the
    // whole chain of older versions works, which a greedy resolver never finds.
    const repo = [
      pkg('base-1-1.x86_64'),
      pkg('app-1-1.x86_64', { requires: ['libx'] }),
      pkg('libx-2-1.x86_64', { requires: ['mid >= 2'] }), pkg('libx-1-1.x86_64', { requires: ['mid'] }),
      pkg('mid-2-1.x86_64', { requires: ['deep >= 2'] }), pkg('mid-1-1.x86_64', { requires: ['deep'] }),
      pkg('deep-2-1.x86_64', { conflicts: ['base'] }), pkg('deep-1-1.x86_64'),
    ];
    const r = solve({ repos: [{ id: 'm', packages: repo }], install: ['base', 'app'] });
    assert.deepEqual(r.packages.map((p) => p.nevra), ['app-1-1.x86_64', 'base-1-1.x86_64', 'deep-1-1.x86_64', 'libx-1-1.x86_64', 'mid-1-1.x86_64']);
  });

  it('skips the first alternative when it conflicts with something already needed', () => {
    const repo = [
      pkg('base-1-1.x86_64'),
      pkg('app-1-1.x86_64', { requires: ['webserver'] }),
      pkg('aaa-httpd-1-1.x86_64', { provides: ['webserver'], conflicts: ['base'] }),
      pkg('bbb-httpd-1-1.x86_64', { provides: ['webserver'] }),
    ];
    assert.deepEqual(install(repo, ['base', 'app']), ['app-1-1.x86_64', 'base-1-1.x86_64', 'bbb-httpd-1-1.x86_64']);
  });

  it('chooses another version when an obsolete rules out the newest', () => {
    // y-2 obsoletes x, but app needs both x and y: only y-1 can go with x.
    const repo = [
      pkg('app-1-1.x86_64', { requires: ['x', 'y'] }),
      pkg('x-1-1.x86_64'),
      pkg('y-2-1.x86_64', { obsoletes: ['x < 2'] }), pkg('y-1-1.x86_64'),
    ];
    assert.deepEqual(install(repo, ['app']), ['app-1-1.x86_64', 'x-1-1.x86_64', 'y-1-1.x86_64']);
  });

  it('installs the obsoleting package when asked for an obsoleted name', () => {
    const repo = [pkg('oldname-1-1.x86_64'), pkg('newname-2-1.x86_64', { obsoletes: ['oldname < 2'], provides: ['oldname = 2'] })];
    assert.deepEqual(install(repo, ['oldname']), ['newname-2-1.x86_64']);
  });

  it('breaks ties between providers by name, after repo priority, arch and version', () => {
    const repo = [
      pkg('app-1-1.x86_64', { requires: ['virt'] }),
      pkg('zz-1-1.x86_64', { provides: ['virt'] }),
      pkg('aaaaaaaa-1-1.x86_64', { provides: ['virt'] }),
      pkg('b-1-1.i686', { provides: ['virt'] }),
    ];
    assert.deepEqual(install(repo, ['app']), ['aaaaaaaa-1-1.x86_64', 'app-1-1.x86_64']);
  });

  it('prefers an alternative that gets installed anyway (no extra packages)', () => {
    // Choosing "a" for virt first would install a and b; libsolv's minimisation keeps only b.
    const repo = [
      pkg('app-1-1.x86_64', { requires: ['virt', 'helper'] }),
      pkg('a-1-1.x86_64', { provides: ['virt'] }),
      pkg('b-1-1.x86_64', { provides: ['virt'] }),
      pkg('helper-1-1.x86_64', { requires: ['b'] }),
    ];
    assert.deepEqual(install(repo, ['app']), ['app-1-1.x86_64', 'b-1-1.x86_64', 'helper-1-1.x86_64']);
  });

  it('prefers the repository with the better priority even over a newer version', () => {
    const r = solve({
      repos: [{ id: 'updates', priority: 50, packages: [pkg('tool-1.0-1.x86_64')] }, { id: 'other', packages: [pkg('tool-9.0-1.x86_64')] }],
      install: ['tool'],
    });
    assert.deepEqual(r.packages.map((p) => p.nevra), ['tool-1.0-1.x86_64']);
  });

  it('satisfies file dependencies from package file lists', () => {
    const repo = [pkg('script-1-1.noarch', { requires: ['/usr/bin/sh'] }), pkg('bash-5-1.x86_64', { files: ['/usr/bin/bash', '/usr/bin/sh'] })];
    assert.deepEqual(install(repo, ['script']), ['bash-5-1.x86_64', 'script-1-1.noarch']);
  });
});

describe('solve: arches', () => {
  const repo = [
    pkg('lib-1-1.x86_64'), pkg('lib-1-1.i686'),
    pkg('tool-1-1.noarch'), pkg('tool-1-1.x86_64'),
    pkg('foreign-1-1.aarch64'),
  ];

  it('installs the best arch for a bare name, and i686 only when asked', () => {
    assert.deepEqual(install(repo, ['lib']), ['lib-1-1.x86_64']);
    assert.deepEqual(install(repo, ['lib.i686']), ['lib-1-1.i686']);
    assert.deepEqual(install(repo, ['lib.i686', 'lib.x86_64']), ['lib-1-1.i686', 'lib-1-1.x86_64']);
  });

  it('keeps the first listed package when noarch and x86_64 tie on version', () => {
    assert.deepEqual(install(repo, ['tool']), ['tool-1-1.noarch']);
  });

  it('refuses packages of a foreign arch and says so', () => {
    const e = failure(() => solve({ repos: [{ id: 'm', packages: repo }], install: ['foreign'] }));
    assert.equal(e.code, 'NotFound');
    assert.match(e.message, /not installable on x86_64/);
    assert.deepEqual(install(repo, ['foreign'], { arch: 'aarch64' }), ['foreign-1-1.aarch64']);
  });

  it('pulls an i686 dependency only together with its x86_64 twin (libsolv multilib rule)', () => {
    const multi = [
      pkg('app32-1-1.i686', { requires: ['libc.so.6'] }),
      pkg('glibc-2-1.x86_64', { provides: ['libc.so.6()(64bit)'] }),
      pkg('glibc-2-1.i686', { provides: ['libc.so.6'] }),
    ];
    assert.deepEqual(install(multi, ['app32']), ['app32-1-1.i686', 'glibc-2-1.i686', 'glibc-2-1.x86_64']);
  });
});

describe('solve: rich dependencies', () => {
  const base = [pkg('a-1-1.x86_64'), pkg('b-1-1.x86_64'), pkg('c-1-1.x86_64'), pkg('d-2-1.x86_64', { provides: ['feat'] }), pkg('d-1-1.x86_64')];
  const app = (req: string): PackageMeta => pkg('app-1-1.x86_64', { requires: [req] });

  it('"and" needs both, "or" picks the preferred one', () => {
    assert.deepEqual(install([...base, app('(a and b)')], ['app']), ['a-1-1.x86_64', 'app-1-1.x86_64', 'b-1-1.x86_64']);
    assert.deepEqual(install([...base, app('(c or b)')], ['app']), ['app-1-1.x86_64', 'b-1-1.x86_64']);
  });

  it('"if" applies only when its condition is installed; "else" otherwise', () => {
    assert.deepEqual(install([...base, app('(a if b)')], ['app']), ['app-1-1.x86_64']);
    assert.deepEqual(install([...base, app('(a if b)')], ['app', 'b']), ['a-1-1.x86_64', 'app-1-1.x86_64', 'b-1-1.x86_64']);
    // (a if b else c) is (a or not b) and (c or b): dnf satisfies the second part with b
    // (name order), which then needs a. Without b, the else branch holds.
    assert.deepEqual(install([...base, app('(a if b else c)')], ['app']), ['a-1-1.x86_64', 'app-1-1.x86_64', 'b-1-1.x86_64']);
    assert.deepEqual(install([...base, app('(a if b else c)')], ['app'], { exclude: ['b'] }), ['app-1-1.x86_64', 'c-1-1.x86_64']);
  });

  it('"unless" means "and not" (libsolv, so dnf)', () => {
    assert.deepEqual(install([...base, app('(a unless b)')], ['app']), ['a-1-1.x86_64', 'app-1-1.x86_64']);
    const e = failure(() => solve({ repos: [{ id: 'm', packages: [...base, app('(a unless b)')] }], install: ['app', 'b'] }));
    assert.equal(e.code, 'Unsolvable');
  });

  it('"with" needs one package matching both sides; "without" excludes', () => {
    assert.deepEqual(install([...base, app('(d with feat)')], ['app']), ['app-1-1.x86_64', 'd-2-1.x86_64']);
    assert.deepEqual(install([...base, app('(d without feat)')], ['app']), ['app-1-1.x86_64', 'd-1-1.x86_64']);
  });

  it('honours rich conflicts', () => {
    const repo = [...base, pkg('app-1-1.x86_64', { conflicts: ['(a and b)'] })];
    assert.deepEqual(install(repo, ['app', 'a']), ['a-1-1.x86_64', 'app-1-1.x86_64']);
    assert.equal(failure(() => install(repo, ['app', 'a', 'b'])).code, 'Unsolvable');
  });
});

describe('solve: weak dependencies', () => {
  const repo = [
    pkg('app-1-1.x86_64', { recommends: ['extra', 'clash'], suggests: ['docs'] }),
    pkg('extra-1-1.x86_64'),
    pkg('clash-1-1.x86_64', { conflicts: ['app'] }),
    pkg('docs-1-1.noarch'),
    pkg('langpack-1-1.noarch', { supplements: ['app'] }),
    pkg('plugin-1-1.x86_64', { enhances: ['app'] }),
  ];

  it('installs Recommends and Supplements, skips a recommended package that cannot go in, ignores Suggests/Enhances', () => {
    const r = solve({ repos: [{ id: 'm', packages: repo }], install: ['app'] });
    assert.deepEqual(r.packages.map((p) => `${p.nevra} ${p.reason}`), ['app-1-1.x86_64 requested', 'extra-1-1.x86_64 weak', 'langpack-1-1.noarch weak']);
  });

  it('installs none of them with weak deps off', () => {
    assert.deepEqual(install(repo, ['app'], { weakDeps: false }), ['app-1-1.x86_64']);
  });
});

describe('solve: specs and excludes', () => {
  const repo = [
    pkg('foo-1.0-1.x86_64'), pkg('foo-2.0-1.x86_64', { provides: ['foo(x86-64) = 2.0', 'config(foo) = 2.0-1'] }), pkg('foo-2.0-1.i686'),
    pkg('libfoo-devel-1-1.x86_64'), pkg('libbar-devel-1-1.x86_64'), pkg('libbar-1-1.x86_64'),
    pkg('shell-1-1.x86_64', { files: ['/usr/bin/sh'] }),
    pkg('epochy-3:1.0-2.x86_64'),
  ];

  it('accepts name, name-version, name-version-release, NEVRA and name.arch', () => {
    assert.deepEqual(install(repo, ['foo']), ['foo-2.0-1.x86_64']);
    assert.deepEqual(install(repo, ['foo-1.0']), ['foo-1.0-1.x86_64']);
    assert.deepEqual(install(repo, ['foo-1.0-1']), ['foo-1.0-1.x86_64']);
    assert.deepEqual(install(repo, ['foo-2.0-1.i686']), ['foo-2.0-1.i686']);
    assert.deepEqual(install(repo, ['foo.i686']), ['foo-2.0-1.i686']);
    assert.deepEqual(install(repo, ['epochy-3:1.0-2']), ['epochy-3:1.0-2.x86_64']);
  });

  it('accepts provides, file paths and globs (a glob installs every name it matches)', () => {
    assert.deepEqual(install(repo, ['foo(x86-64)']), ['foo-2.0-1.x86_64']);
    assert.deepEqual(install(repo, ['config(foo)']), ['foo-2.0-1.x86_64']);
    assert.deepEqual(install(repo, ['/usr/bin/sh']), ['shell-1-1.x86_64']);
    assert.deepEqual(install(repo, ['lib*-devel']), ['libbar-devel-1-1.x86_64', 'libfoo-devel-1-1.x86_64']);
  });

  it('excludes by the same spec forms', () => {
    assert.deepEqual(install(repo, ['foo'], { exclude: ['foo-2.0*'] }), ['foo-1.0-1.x86_64']);
    assert.deepEqual(install(repo, ['lib*-devel'], { exclude: ['libfoo*'] }), ['libbar-devel-1-1.x86_64']);
    assert.deepEqual(install(repo, ['foo'], { exclude: ['config(foo)'] }), ['foo-1.0-1.x86_64']);
    const e = failure(() => install(repo, ['shell'], { exclude: ['/usr/bin/sh'] }));
    assert.equal(e.code, 'NotFound');
    assert.match(e.message, /excluded/);
  });

  it('says which names come close when nothing matches', () => {
    const e = failure(() => install(repo, ['fooo']));
    assert.equal(e.code, 'NotFound');
    assert.match(e.message, /no package matches 'fooo'; did you mean: foo/);
  });
});

describe('solve: explaining failures', () => {
  it('names the requirement, the newest available version and the request', () => {
    const repo = [pkg('app-2.0-1.x86_64', { requires: ['libfoo >= 2'] }), pkg('libfoo-1.5-1.x86_64'), pkg('libfoo-1.0-1.x86_64')];
    const e = failure(() => install(repo, ['app']));
    assert.equal(e.code, 'Unsolvable');
    assert.match(e.message, /requested 'app'/);
    assert.match(e.message, /app-2\.0-1\.x86_64 requires libfoo >= 2, but nothing provides it \(libfoo-1\.5-1\.x86_64 is the newest available\)/);
  });

  it('explains every candidate of a request, and a conflict with who needs the other side', () => {
    const repo = [
      pkg('base-1-1.x86_64'),
      pkg('app-2-1.x86_64', { requires: ['missing'] }),
      pkg('app-1-1.x86_64', { requires: ['helper'] }),
      pkg('helper-1-1.x86_64', { conflicts: ['base'] }),
      pkg('noise-1-1.x86_64', { requires: ['also-missing'] }),
    ];
    const e = failure(() => install(repo, ['base', 'app']));
    assert.match(e.message, /app-2-1\.x86_64 requires missing, but nothing provides it/);
    assert.match(e.message, /app-1-1\.x86_64 requires helper, provided by helper-1-1\.x86_64/);
    assert.match(e.message, /helper-1-1\.x86_64 conflicts with base-1-1\.x86_64 \(conflicts: base\), which is requested as 'base'/);
    assert.doesNotMatch(e.message, /noise/, 'the explanation leaves out rules that play no part');
  });

  it('points at an excluded package when that is the only provider', () => {
    const repo = [pkg('app-1-1.x86_64', { requires: ['lib'] }), pkg('lib-1-1.x86_64')];
    const e = failure(() => install(repo, ['app'], { exclude: ['lib'] }));
    assert.match(e.message, /requires lib, but nothing provides it \(lib-1-1\.x86_64 is excluded\)/);
  });
});

describe('solve: a hard instance', () => {
  it('solves a version puzzle that needs clause learning, quickly', () => {
    // 12 components with 4 versions each and a secret version per component: a secret
    // version requires the next component's secret, any other version requires another
    // non-secret one, and the last component closes the ring: its secret requires c0's
    // secret (the oldest), any other version requires 'ender', which conflicts with every
    // newer c0. Each newer start fails only at the end of the ring, by a conflict.
    const n = 12;
    const secret = (i: number): number => (i === 0 ? 1 : 1 + ((i * 7) % 4));
    const pkgs: PackageMeta[] = [pkg('ender-1-1.x86_64', { conflicts: ['c0 > 1'] })];
    for (let i = 0; i < n; i++) {
      for (let v = 1; v <= 4; v++) {
        const next = (i + 1) % n;
        const want = v === secret(i) ? `c${next} = ${secret(next)}` : i === n - 1 ? 'ender' : `c${next} = ${(secret(next) % 4) + 1}`;
        pkgs.push(pkg(`c${i}-${v}-1.x86_64`, { requires: [want] }));
      }
    }
    const t = Date.now();
    const r = solve({ repos: [{ id: 'm', packages: pkgs }], install: ['c0'] });
    assert.deepEqual(closureProblems(pkgs, r.packages.map((p) => p.pkg)), []);
    assert.equal(r.packages.length, n);
    assert.ok(r.packages.some((p) => p.nevra === 'c0-1-1.x86_64'));
    assert.ok(r.stats.sat.conflicts > 0, 'the newest choice fails first');
    assert.ok(Date.now() - t < 1000);
  });
});
