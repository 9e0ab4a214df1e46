// Test plumbing for the solver: packages from one-line descriptions, a checker that a
// package set is a valid closure, and a seeded random pool generator for dnf agreement.
import { PackageMeta, Dep, DepOp, parseEvr, formatNevra } from '../../src/rpm/types';
import { Pool } from '../../src/rpm/pool';
import { isRich, parseRichDep, evalRich } from '../../src/rpm/richdep';
import { prng } from '../fixtures/synthetic-repo';

type DepField = 'requires' | 'provides' | 'conflicts' | 'obsoletes' | 'recommends' | 'suggests' | 'supplements' | 'enhances';
export type PkgSpec = Partial<Record<DepField, string[]>> & { files?: string[] };

const OPS: Record<string, DepOp> = { '<': 'LT', '<=': 'LE', '=': 'EQ', '>=': 'GE', '>': 'GT' };

/** 'libfoo >= 2', '(a or b)', '/usr/bin/sh' → Dep. */
export function dep(s: string): Dep {
  if (s.startsWith('(')) return { name: s };
  const m = /^(\S+)\s+(<=|>=|=|<|>)\s+(\S+)$/.exec(s);
  return m ? { name: m[1], op: OPS[m[2]], evr: parseEvr(m[3]) } : { name: s };
}

/** 'app-[e:]2.0-1.x86_64' with deps → PackageMeta (self-provide added, as createrepo does). */
export function pkg(nevra: string, spec: PkgSpec = {}): PackageMeta {
  const m = /^(.+)-(?:(\d+):)?([^-]+)-([^-]+)\.([^.]+)$/.exec(nevra);
  if (!m) throw new Error(`bad NEVRA in test: ${nevra}`);
  const [, name, e, version, release, arch] = m;
  const evr = { epoch: e ? Number(e) : 0, version, release };
  const list = (f: DepField): Dep[] => (spec[f] ?? []).map(dep);
  return {
    name, ...evr, arch,
    provides: [{ name, op: 'EQ', evr }, ...list('provides')],
    requires: list('requires'),
    conflicts: list('conflicts'),
    obsoletes: list('obsoletes'),
    recommends: list('recommends'),
    suggests: list('suggests'),
    supplements: list('supplements'),
    enhances: list('enhances'),
    files: spec.files ?? [],
  };
}

/**
 * Problems with `set` as an installation of `all` (empty when valid): every require
 * satisfied within the set, no conflicts, no obsoleted pair, one version per name and
 * arch colour, every requested spec's package present (given as names that must appear).
 */
export function closureProblems(all: PackageMeta[], set: PackageMeta[], mustHave: string[] = [], arch = 'x86_64'): string[] {
  const probs: string[] = [];
  const inSet = new Set(set);
  const pool = new Pool([{ id: 'all', packages: all }], arch);
  const idOf = new Map(pool.pkgs.map((p, i) => [p, i]));
  const installed = (d: Dep): boolean => pool.whatProvides(d).some((id) => inSet.has(pool.pkgs[id]));
  const holds = (d: Dep): boolean =>
    d.name.startsWith('rpmlib(') ||
    (isRich(d)
      ? evalRich(parseRichDep(d.name), installed, (ids) => ids.some((id) => inSet.has(pool.pkgs[id])), (x) => pool.whatProvides(x))
      : installed(d));
  for (const p of set) {
    const id = idOf.get(p);
    if (id === undefined) {
      probs.push(`${formatNevra(p)} is not installable on ${arch}`);
      continue;
    }
    for (const d of p.requires) if (!holds(d)) probs.push(`${formatNevra(p)} requires ${d.name} — unsatisfied`);
    for (const d of p.conflicts) {
      if (isRich(d)) {
        const others = set.filter((q) => q !== p);
        const oset = new Set(others);
        const inst = (x: Dep): boolean => pool.whatProvides(x).some((i) => oset.has(pool.pkgs[i]));
        if (evalRich(parseRichDep(d.name), inst, (ids) => ids.some((i) => oset.has(pool.pkgs[i])), (x) => pool.whatProvides(x))) probs.push(`${formatNevra(p)} conflicts ${d.name}`);
      } else {
        for (const q of pool.whatProvides(d)) if (pool.pkgs[q] !== p && inSet.has(pool.pkgs[q])) probs.push(`${formatNevra(p)} conflicts with ${formatNevra(pool.pkgs[q])}`);
      }
    }
    for (const d of p.obsoletes) {
      for (const q of pool.whatProvides(d)) if (pool.pkgs[q] !== p && inSet.has(pool.pkgs[q]) && pool.matchesNevr(q, d)) probs.push(`${formatNevra(p)} obsoletes ${formatNevra(pool.pkgs[q])}`);
    }
    for (const q of set) if (q !== p && q.name === p.name && idOf.has(q) && pool.sameNameClash(id, idOf.get(q)!) && formatNevra(p) < formatNevra(q)) probs.push(`${formatNevra(p)} and ${formatNevra(q)} share a name`);
  }
  for (const n of mustHave) if (!set.some((p) => p.name === n || p.provides.some((d) => d.name === n))) probs.push(`requested ${n} is missing`);
  return probs;
}

export { prng };

export function names(set: { nevra: string }[]): string[] {
  return set.map((p) => p.nevra);
}

// ---------------------------------------------------------------------------------
// dnf as the oracle. One Python process resolves a whole batch through dnf's own API
// (Base.install_specs + resolve: what `dnf install` runs, with /etc/dnf/dnf.conf read
// as the CLI reads it), which is ~20x cheaper than one CLI run per scenario.

export interface OracleScenario {
  repos: Array<{ id: string; dir: string; priority?: number }>;
  install: string[];
  exclude?: string[];
  weak?: boolean;
}

export interface OracleResult {
  ok: boolean;
  /** NEVRAs, sorted; reason as libdnf's TransactionItemReason (1 dependency, 2 user, 4 weak). */
  packages: Array<{ nevra: string; reason: number }>;
  error?: string;
}

const ORACLE_PY = `
import dnf, dnf.exceptions, json, os, shutil, sys, tempfile
out = []
for s in json.load(sys.stdin):
    root = tempfile.mkdtemp(prefix='arbor-dnf-')
    base = dnf.Base()
    try:
        conf = base.conf
        conf.read('/etc/dnf/dnf.conf')
        conf.installroot = root
        conf.cachedir = os.path.join(root, 'cache')
        conf.logdir = root
        conf.releasever = '1'
        conf.reposdir = ['/dev/null']
        conf.gpgcheck = False
        conf.install_weak_deps = s.get('weak', True)
        conf.excludepkgs = s.get('exclude', [])
        for r in s['repos']:
            repo = base.repos.add_new_repo(r['id'], conf, baseurl=['file://' + r['dir']])
            if 'priority' in r:
                repo.priority = r['priority']
        base.fill_sack(load_system_repo=False)
        base.install_specs(s['install'])
        base.resolve()
        pkgs = sorted(({'nevra': str(t.pkg), 'reason': int(t.reason)} for t in base.transaction), key=lambda p: p['nevra'])
        out.append({'ok': True, 'packages': pkgs})
    except dnf.exceptions.Error as e:
        out.append({'ok': False, 'packages': [], 'error': str(e)})
    finally:
        base.close()
        shutil.rmtree(root, ignore_errors=True)
print(json.dumps(out))
`;

export function dnfOracle(scenarios: OracleScenario[]): OracleResult[] {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync('/usr/bin/python3', ['-c', ORACLE_PY], { input: JSON.stringify(scenarios), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`dnf oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult[];
}

/**
 * A small random repository with the hard parts of package resolution: several
 * versions per name, versioned requires, virtual provides with several providers,
 * conflicts, obsoletes, rich deps, recommends and supplements, some noarch and i686.
 */
export function randomPool(seed: number, size = 40): PackageMeta[] {
  const rand = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const nNames = Math.max(6, Math.floor(size / 2));
  const names = Array.from({ length: nNames }, (_, i) => `p${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26) || ''}`);
  const virtuals = ['vcap', 'vweb', 'vsql', 'vmail'];
  const out: PackageMeta[] = [];
  const versions = new Map<string, number[]>();
  for (const n of names) versions.set(n, Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, k) => k + 1));
  const depOn = (self: string): string => {
    const target = pick(names.filter((x) => x !== self));
    const vs = versions.get(target)!;
    if (chance(0.35)) return `${target} >= ${pick(vs)}`;
    if (chance(0.1)) return `${target} < ${pick(vs) + 1}`;
    return target;
  };
  for (const n of names) {
    for (const v of versions.get(n)!) {
      const arch = chance(0.15) ? 'noarch' : 'x86_64';
      const spec: PkgSpec = { requires: [], provides: [], conflicts: [], obsoletes: [], recommends: [], supplements: [], files: [] };
      const k = Math.floor(rand() * 3);
      for (let i = 0; i < k; i++) spec.requires!.push(depOn(n));
      if (chance(0.3)) spec.provides!.push(pick(virtuals));
      if (chance(0.15)) spec.requires!.push(pick(virtuals));
      if (chance(0.12)) spec.conflicts!.push(depOn(n));
      if (chance(0.06)) spec.obsoletes!.push(`${pick(names.filter((x) => x !== n))} < ${1 + Math.floor(rand() * 3)}`);
      if (chance(0.08)) {
        const [a, b] = [depOn(n), depOn(n)];
        spec.requires!.push(pick([`(${a} or ${b})`, `(${a} if ${b.split(' ')[0]})`, `(${a} unless ${b.split(' ')[0]})`, `(${a} and ${b})`]));
      }
      if (chance(0.1)) spec.recommends!.push(depOn(n));
      if (chance(0.05)) spec.supplements!.push(pick(names.filter((x) => x !== n)));
      if (chance(0.1)) spec.files!.push(`/usr/bin/${n}`);
      if (chance(0.08)) spec.requires!.push(`/usr/bin/${pick(names)}`);
      out.push(pkg(`${n}-${v}.0-1.${arch}`, spec));
      if (arch === 'x86_64' && chance(0.08)) out.push(pkg(`${n}-${v}.0-1.i686`, spec));
    }
  }
  return out;
}
