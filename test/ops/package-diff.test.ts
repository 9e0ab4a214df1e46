// The package diff as rpm-ostree db diff computes it, on hand-made lists.
import assert from 'node:assert/strict';
import { diffPackages, renderPackageDiff } from '../../src/ops/package-diff';
import { Nevra } from '../../src/rpm/types';

const p = (s: string): Nevra => {
  const m = /^(.+)-(?:(\d+):)?([^-]+)-([^-]+)\.([^.]+)$/.exec(s)!;
  return { name: m[1], epoch: Number(m[2] ?? 0), version: m[3], release: m[4], arch: m[5] };
};

describe('package diff', () => {
  it('sorts packages into added, removed, upgraded and downgraded by rpm version order', () => {
    const d = diffPackages(
      [p('a-1.0-1.noarch'), p('b-1.0-1.noarch'), p('c-2.0-1.noarch'), p('same-1-1.x86_64')],
      [p('a-1.10-1.noarch'), p('c-2.0~rc1-1.noarch'), p('d-1-1.noarch'), p('same-1-1.x86_64')],
    );
    assert.deepEqual(d.added.map((x) => x.name), ['d']);
    assert.deepEqual(d.removed.map((x) => x.name), ['b']);
    assert.deepEqual(d.upgraded.map((x) => `${x.name} ${x.from.version}->${x.to.version}`), ['a 1.0->1.10']);
    assert.deepEqual(d.downgraded.map((x) => `${x.name} ${x.from.version}->${x.to.version}`), ['c 2.0->2.0~rc1']);
  });

  it('an epoch bump wins over a lower version', () => {
    const d = diffPackages([p('x-9.0-1.noarch')], [p('x-1:1.0-1.noarch')]);
    assert.equal(d.upgraded.length, 1);
  });

  it('a single package that changed arch is a change, not a removal plus an addition', () => {
    const d = diffPackages([p('x-1.0-1.i686')], [p('x-1.1-1.x86_64')]);
    assert.deepEqual([d.added.length, d.removed.length, d.upgraded.length], [0, 0, 1]);
  });

  it('multilib pairs are compared per arch, and an extra arch is an addition', () => {
    const d = diffPackages(
      [p('glibc-2.38-1.x86_64'), p('glibc-2.38-1.i686')],
      [p('glibc-2.39-1.x86_64'), p('glibc-2.38-1.i686'), p('glibc-2.39-1.aarch64')],
    );
    assert.deepEqual(d.upgraded.map((x) => x.to.arch), ['x86_64']);
    assert.deepEqual(d.added.map((x) => x.arch), ['aarch64']);
    assert.equal(d.removed.length, 0);
  });

  it('several versions of one name (kernels) are matched exactly, the rest added or removed', () => {
    const d = diffPackages(
      [p('kernel-6.1-1.x86_64'), p('kernel-6.2-1.x86_64')],
      [p('kernel-6.2-1.x86_64'), p('kernel-6.3-1.x86_64')],
    );
    assert.deepEqual(d.removed.map((x) => x.version), ['6.1']);
    assert.deepEqual(d.added.map((x) => x.version), ['6.3']);
  });

  it('renders the block format of rpm-ostree', () => {
    const d = diffPackages([p('a-1-1.noarch'), p('b-1-1.noarch')], [p('a-2-1.noarch'), p('c-1-1.noarch')]);
    assert.equal(renderPackageDiff(d), 'Upgraded:\n  a 1-1 -> 2-1\nRemoved:\n  b-1-1.noarch\nAdded:\n  c-1-1.noarch\n');
    assert.equal(renderPackageDiff(diffPackages([], [])), 'No package changes.\n');
  });
});
