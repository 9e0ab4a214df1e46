// The solver's view of the repositories: every installable package, indexed by name,
// by what it provides and by file path, with the arch policy (which arches install on
// this machine, which is best, which may share a name), per-repo priorities, and the
// package specs users type (NEVRA forms, provides, paths, globs) resolved against it.
import { compareEvr } from './vercmp';
import { Dep, DepOp, Evr, PackageMeta } from './types';

/** One repository's packages; priority as dnf's: lower wins, default 99. */
export interface SolverRepo {
  id: string;
  packages: PackageMeta[];
  priority?: number;
}

/** Package index inside a Pool (0-based). */
export type PkgId = number;

// libsolv's arch policies: each ':'-separated arch is its own class, best first; noarch
// installs everywhere. Arches outside the list cannot be installed.
const ARCH_POLICIES: Record<string, string> = {
  x86_64: 'x86_64:i686:i586:i486:i386',
  i686: 'i686:i586:i486:i386',
  i586: 'i586:i486:i386',
  aarch64: 'aarch64',
  ppc64le: 'ppc64le',
  ppc64: 'ppc64:ppc',
  s390x: 's390x:s390',
  armv7hl: 'armv7hl',
  riscv64: 'riscv64',
};

/** Arch score: 0 = not installable, 1 = noarch, 2.. = class (lower is better). */
export function archScores(basearch: string): Map<string, number> {
  const policy = ARCH_POLICIES[basearch] ?? basearch;
  const m = new Map<string, number>([['noarch', 1]]);
  policy.split(':').forEach((a, i) => m.set(a, i + 2));
  return m;
}

/**
 * Multilib "colour": packages of one name may be installed side by side only when
 * their colours differ (x86_64 + i686); noarch shares every colour.
 */
function archColor(arch: string): number {
  if (arch === 'noarch') return 3;
  return /64|s390x/.test(arch) ? 2 : 1;
}

interface ProvideEntry {
  pkg: PkgId;
  op?: DepOp;
  evr?: Evr;
}

export class Pool {
  readonly pkgs: PackageMeta[] = [];
  /** dnf priority of each package's repo (lower wins). */
  readonly prio: number[] = [];
  /** Id of each package's repo (PackageMeta objects are kept as given). */
  readonly repoId: string[] = [];
  readonly archScore: number[] = [];
  readonly color: number[] = [];
  readonly byName = new Map<string, PkgId[]>();
  /** 1 for packages removed by excludes: they exist for hints but never install. */
  readonly excluded: Uint8Array;
  /**
   * Explicit provides by name: package ids and the Dep objects themselves, side by side
   * (no object per entry: 50,000 packages carry ~10 provides each). The implicit
   * "name = EVR" provide is answered from byName instead.
   */
  private readonly provides = new Map<string, { ids: PkgId[]; deps: Dep[] }>();
  /** Path → owners, built on the first path lookup (most requests never need it). */
  private filesIndex?: Map<string, PkgId[]>;
  private readonly cache = new Map<string, PkgId[]>();
  private obsoletesIndex?: Map<string, ProvideEntry[]>;

  constructor(repos: SolverRepo[], readonly arch = 'x86_64') {
    const scores = archScores(arch);
    for (const repo of repos) {
      for (const p of repo.packages) {
        const score = scores.get(p.arch) ?? 0;
        if (!score) continue;
        const id = this.pkgs.length;
        this.pkgs.push(p);
        this.repoId.push(repo.id);
        this.prio.push(repo.priority ?? 99);
        this.archScore.push(score);
        this.color.push(archColor(p.arch));
        push(this.byName, p.name, id);
        for (const d of p.provides) {
          const e = this.provides.get(d.name);
          if (e) {
            e.ids.push(id);
            e.deps.push(d);
          } else this.provides.set(d.name, { ids: [id], deps: [d] });
        }
      }
    }
    this.excluded = new Uint8Array(this.pkgs.length);
  }

  private get files(): Map<string, PkgId[]> {
    if (!this.filesIndex) {
      this.filesIndex = new Map();
      this.pkgs.forEach((p, id) => p.files.forEach((f) => push(this.filesIndex!, f, id)));
    }
    return this.filesIndex;
  }

  /** Removes packages from consideration (dnf's excludes). */
  exclude(ids: Iterable<PkgId>): void {
    for (const id of ids) this.excluded[id] = 1;
    this.cache.clear();
  }

  /** Installable packages of a name (excludes applied). */
  named(name: string): PkgId[] {
    return (this.byName.get(name) ?? []).filter((id) => !this.excluded[id]);
  }

  get size(): number {
    return this.pkgs.length;
  }

  /** Packages providing a simple (non-rich) dependency, file paths included, in pool order. */
  whatProvides(dep: Dep): PkgId[] {
    const key = dep.op && dep.evr ? `${dep.name}\0${dep.op}\0${dep.evr.epoch}:${dep.evr.version}-${dep.evr.release}` : dep.name;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out: PkgId[] = [];
    const seen = new Set<PkgId>();
    // Every package provides its own name = epoch:version-release (libsolv adds it when
    // reading rpm-md; rpmbuild writes it too).
    for (const id of this.byName.get(dep.name) ?? []) {
      if (!this.excluded[id] && rangesOverlap('EQ', this.pkgs[id], dep.op, dep.evr)) {
        seen.add(id);
        out.push(id);
      }
    }
    const e = this.provides.get(dep.name);
    if (e) {
      for (let i = 0; i < e.ids.length; i++) {
        const id = e.ids[i];
        if (seen.has(id) || this.excluded[id]) continue;
        const d = e.deps[i];
        if (rangesOverlap(d.op, d.evr, dep.op, dep.evr)) {
          seen.add(id);
          out.push(id);
        }
      }
    }
    // A path is provided by the packages that own it (whatever its version says).
    if (dep.name.startsWith('/')) for (const id of this.files.get(dep.name) ?? []) {
        if (!seen.has(id) && !this.excluded[id]) {
          seen.add(id);
          out.push(id);
        }
      }
    if (out.length > 1) out.sort((a, b) => a - b);
    this.cache.set(key, out);
    return out;
  }

  /** All provided dependency names, package names included (for glob lookups). */
  provideNames(): string[] {
    return [...new Set([...this.byName.keys(), ...this.provides.keys()])];
  }

  filePaths(): IterableIterator<string> {
    return this.files.keys();
  }

  packagesWithFile(path: string): PkgId[] {
    return this.files.get(path) ?? [];
  }

  /** Does package `id` match a dependency by its name and EVR (how Obsoletes match)? */
  matchesNevr(id: PkgId, dep: Dep): boolean {
    const p = this.pkgs[id];
    return p.name === dep.name && rangesOverlap('EQ', p, dep.op, dep.evr);
  }

  /** Packages whose Obsoletes match package `id` by name and version. */
  obsoletersOf(id: PkgId): PkgId[] {
    if (!this.obsoletesIndex) {
      this.obsoletesIndex = new Map();
      this.pkgs.forEach((p, i) => p.obsoletes.forEach((d) => push(this.obsoletesIndex!, d.name, { pkg: i, op: d.op, evr: d.evr })));
    }
    const out = new Set<PkgId>();
    for (const e of this.obsoletesIndex.get(this.pkgs[id].name) ?? []) {
      if (e.pkg !== id && !this.excluded[e.pkg] && rangesOverlap('EQ', this.pkgs[id], e.op, e.evr)) out.add(e.pkg);
    }
    return [...out];
  }

  /** Whether two packages of one name may not be installed together (libsolv's implicit obsoletes). */
  sameNameClash(a: PkgId, b: PkgId): boolean {
    return (this.color[a] & this.color[b]) !== 0;
  }

  compareEvr(a: PkgId, b: PkgId): number {
    return compareEvr(this.pkgs[a], this.pkgs[b]);
  }

  /**
   * libsolv's "old version": another package of the same name and arch is newer, or
   * comes from a repo with a better priority.
   */
  isOldVersion(id: PkgId): boolean {
    const p = this.pkgs[id];
    for (const q of this.byName.get(p.name) ?? []) {
      if (q === id || this.excluded[q] || this.pkgs[q].arch !== p.arch) continue;
      if (this.prio[q] !== this.prio[id]) {
        if (this.prio[q] < this.prio[id]) return true;
        continue;
      }
      if (compareEvr(this.pkgs[q], p) > 0) return true;
    }
    return false;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

const LT = 1, EQ = 2, GT = 4;
const BITS: Record<DepOp, number> = { LT, LE: LT | EQ, EQ, GE: GT | EQ, GT };

/**
 * Do a provided range and a required range share a version? As libsolv (and rpm): an
 * unversioned side matches everything, and a release missing on either side matches
 * any release.
 */
export function rangesOverlap(pop: DepOp | undefined, pevr: Evr | undefined, rop: DepOp | undefined, revr: Evr | undefined): boolean {
  if (!pop || !pevr || !rop || !revr) return true;
  const pf = BITS[pop], rf = BITS[rop];
  if (pf & rf & (LT | GT)) return true; // both open towards the same side
  const c = compareEvr(pevr, revr);
  if (c < 0) return (rf & LT) !== 0 || (pf & GT) !== 0;
  if (c > 0) return (rf & GT) !== 0 || (pf & LT) !== 0;
  return (pf & rf & EQ) !== 0;
}

/** Sorts names as libsolv breaks ties between providers: plain byte order. */
export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------
// Package specs, as dnf reads them: NEVRA forms first (name-[e:]v-r.arch, name.arch,
// name, name-[e:]v-r, name-[e:]v; globs allowed), then provides ("foo(x86-64)",
// "config(bar) >= 1"), then file paths. The first form that matches anything wins.

export interface SpecMatch {
  how: 'nevra' | 'provides' | 'file';
  pkgs: PkgId[];
  /** The spec matched as a plain name (dnf then also offers what obsoletes it). */
  justName?: boolean;
}

interface NevraForm {
  justName?: boolean;
  name: string;
  epoch?: number;
  version?: string;
  release?: string;
  arch?: string;
}

const GLOB = /[*?[]/;

export function isGlob(s: string): boolean {
  return GLOB.test(s);
}

export function globToRegExp(g: string): RegExp {
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = g.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${g.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function nevraForms(spec: string): NevraForm[] {
  const out: NevraForm[] = [];
  const epoch = (e: string | undefined): number | undefined => (e === undefined ? undefined : Number(e));
  let m = /^(.+)-(?:(\d+):)?([^-]+)-([^-]+)\.([^.-]+)$/.exec(spec);
  if (m) out.push({ name: m[1], epoch: epoch(m[2]), version: m[3], release: m[4], arch: m[5] });
  m = /^(.+)\.([^.]+)$/.exec(spec);
  if (m) out.push({ name: m[1], arch: m[2] });
  out.push({ name: spec, justName: true });
  m = /^(.+)-(?:(\d+):)?([^-]+)-([^-]+)$/.exec(spec);
  if (m) out.push({ name: m[1], epoch: epoch(m[2]), version: m[3], release: m[4] });
  m = /^(.+)-(?:(\d+):)?([^-]+)$/.exec(spec);
  if (m) out.push({ name: m[1], epoch: epoch(m[2]), version: m[3] });
  return out;
}

const field = (pattern: string | undefined, value: string): boolean =>
  pattern === undefined || (isGlob(pattern) ? globToRegExp(pattern).test(value) : pattern === value);

function queryNevra(pool: Pool, f: NevraForm): PkgId[] {
  const names = isGlob(f.name) ? [...pool.byName.keys()].filter((n) => globToRegExp(f.name).test(n)) : [f.name];
  const out: PkgId[] = [];
  for (const n of names) {
    for (const id of pool.named(n)) {
      const p = pool.pkgs[id];
      if (f.epoch !== undefined && p.epoch !== f.epoch) continue;
      if (field(f.version, p.version) && field(f.release, p.release) && field(f.arch, p.arch)) out.push(id);
    }
  }
  return out;
}

const SPEC_OPS: Record<string, DepOp> = { '<': 'LT', '<=': 'LE', '=': 'EQ', '==': 'EQ', '>=': 'GE', '>': 'GT' };

/** What a spec names, or undefined. `nevraOnly` is how dnf reads excludes. */
export function matchSpec(pool: Pool, spec: string, opts: { nevraOnly?: boolean } = {}): SpecMatch | undefined {
  for (const f of nevraForms(spec)) {
    const ids = queryNevra(pool, f);
    if (ids.length) return { how: 'nevra', pkgs: ids, justName: f.justName };
  }
  if (opts.nevraOnly) return undefined;
  const m = /^(\S+)\s*(<=|>=|==|=|<|>)\s*(\S+)$/.exec(spec.trim());
  const dep: Dep = m ? { name: m[1], op: SPEC_OPS[m[2]], evr: parseEvrLoose(m[3]) } : { name: spec.trim() };
  const names = isGlob(dep.name) ? [...pool.provideNames()].filter((n) => globToRegExp(dep.name).test(n)) : [dep.name];
  const prov = new Set<PkgId>();
  for (const n of names) if (!n.startsWith('/')) for (const id of pool.whatProvides({ ...dep, name: n })) prov.add(id);
  if (prov.size) return { how: 'provides', pkgs: [...prov].sort((a, b) => a - b) };
  if (dep.name.startsWith('/')) {
    const paths = isGlob(dep.name) ? [...pool.filePaths()].filter((n) => globToRegExp(dep.name).test(n)) : [dep.name];
    const files = new Set<PkgId>();
    for (const path of paths) for (const id of pool.whatProvides({ name: path })) files.add(id);
    if (files.size) return { how: 'file', pkgs: [...files].sort((a, b) => a - b) };
  }
  return undefined;
}

function parseEvrLoose(s: string): Evr {
  const colon = s.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(s.slice(0, colon)) ? Number(s.slice(0, colon)) : 0;
  const rest = colon > 0 ? s.slice(colon + 1) : s;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest, release: '' };
}

/** Up to `n` package names close to `spec` (edit distance ≤ 2, or containing it). */
export function nearMisses(pool: Pool, spec: string, n = 5): string[] {
  const s = spec.toLowerCase();
  const scored: Array<[number, string]> = [];
  for (const name of pool.byName.keys()) {
    const l = name.toLowerCase();
    // Short names allow one typo, longer ones two; a name containing the spec also counts.
    const max = s.length >= 6 ? 2 : 1;
    let d = Math.abs(l.length - s.length) <= max ? editDistance(l, s, max + 1) : max + 1;
    if (d > max && s.length >= 3 && l.includes(s)) d = max + 0.5;
    if (d <= max + 0.5) scored.push([d, name]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].length - b[1].length || byteCompare(a[1], b[1]));
  return scored.slice(0, n).map((x) => x[1]);
}

function editDistance(a: string, b: string, cap: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]);
    }
    if (best >= cap) return cap;
    prev = cur;
  }
  return prev[b.length];
}
