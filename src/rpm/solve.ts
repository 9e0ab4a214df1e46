// Resolves requested package specs against repositories into the set to install, as
// dnf does: every reachable package's requires, conflicts, obsoletes and same-name rules
// become clauses for the CDCL solver (sat.ts); a decider that knows libsolv's policy
// (repo priority, best arch, newest, fewest packages, weak deps) picks among alternatives.
import { ArborError } from '../common/errors';
import { explainCore, Rule } from './explain';
import { byteCompare, isGlob, matchSpec, nearMisses, PkgId, Pool, SolverRepo } from './pool';
import { evalRich, isRich, parseRichDep, RichDep, richLeaves, richToCnf } from './richdep';
import { Decider, Lit, Sat, SatStats } from './sat';
import { Dep, formatNevra, isPrimaryFile, PackageMeta } from './types';
import { compareEvr } from './vercmp';

export interface SolveRequest {
  repos: SolverRepo[];
  /** Specs as dnf takes them: name, name-version[-release], name.arch, NEVRA, provides, paths, globs. */
  install: string[];
  /** Specs whose packages are removed from the repos first (dnf --exclude). */
  exclude?: string[];
  /** The machine's base arch; default x86_64. */
  arch?: string;
  /** Install Recommends and Supplements (dnf's install_weak_deps); default true. */
  weakDeps?: boolean;
  /**
   * False when `files` holds only primary.xml's subset (/etc, *bin/): a dependency on
   * any other path then throws FilelistsNeeded, so the caller can load filelists and
   * retry, as dnf 5 loads filelists only on demand. Default true.
   */
  filesComplete?: boolean;
}

/** Thrown when a path outside primary.xml's file subset matters and only primary was loaded. */
export class FilelistsNeeded extends Error {
  constructor(readonly path: string) {
    super(`file dependency ${path} needs filelists metadata`);
  }
}


/** Why a package is in the set, as dnf's transaction tables group them. */
export type InstallReason = 'requested' | 'dependency' | 'weak';

export interface SolvedPackage {
  pkg: PackageMeta;
  nevra: string;
  reason: InstallReason;
}

export interface SolveStats {
  poolSize: number;
  variables: number;
  clauses: number;
  sat: SatStats;
  minimizationSteps: number;
  ms: number;
}

export interface SolveResult {
  /** Sorted by NEVRA text. */
  packages: SolvedPackage[];
  stats: SolveStats;
}

/** Resolves a request; throws ArborError NotFound (a spec matches nothing) or Unsolvable (with the chain). */
export function solve(req: SolveRequest): SolveResult {
  const t0 = performance.now();
  const arch = req.arch ?? 'x86_64';
  const pool = new Pool(req.repos, arch);
  const excluded = new Set<PkgId>();
  for (const spec of req.exclude ?? []) {
    // dnf matches excludes by NEVRA forms only; provides and paths are a fallback here.
    const m = matchSpec(pool, spec, { nevraOnly: true }) ?? matchSpec(pool, spec);
    for (const id of m?.pkgs ?? []) excluded.add(id);
  }
  pool.exclude(excluded);
  if (req.filesComplete === false) {
    const path = [...(req.exclude ?? []), ...req.install].find((x) => x.startsWith('/') && !isPrimaryFile(x));
    if (path) throw new FilelistsNeeded(path);
  }
  const jobs = req.install.flatMap((spec) => jobsFor(pool, spec, req));
  const problem = new Problem(pool, req.weakDeps ?? true, req.filesComplete ?? true);
  problem.encode(jobs);
  const model = problem.run();
  if (!model) {
    const all = req.repos.flatMap((r) => r.packages);
    const exSet = new Set([...excluded].map((id) => pool.pkgs[id]));
    const why = explainCore({ pool, rules: problem.rules, all, isExcluded: (p) => exSet.has(p), arch }, problem.minimalCore());
    throw new ArborError('Unsolvable', `no set of packages satisfies the request:\n${why}`);
  }
  const packages = model
    .map(({ pkg, reason }) => ({ pkg: pool.pkgs[pkg], nevra: formatNevra(pool.pkgs[pkg]), reason }))
    .sort((a, b) => byteCompare(a.nevra, b.nevra));
  return {
    packages,
    stats: {
      poolSize: pool.size,
      variables: problem.sat.numVars,
      clauses: problem.rules.length,
      sat: problem.sat.stats,
      minimizationSteps: problem.minimizationSteps,
      ms: performance.now() - t0,
    },
  };
}

interface Job {
  spec: string;
  pkgs: PkgId[];
}

/**
 * The install jobs for one spec, grouped as dnf groups them: a glob gives one job per
 * matching name (each name gets installed); anything else is one job (one package of
 * the candidates). A bare name also accepts the packages that obsolete it.
 */
function jobsFor(pool: Pool, spec: string, req: SolveRequest): Job[] {
  const m = matchSpec(pool, spec);
  if (!m) throw notFound(pool, spec, req);
  let pkgs = m.pkgs;
  if (m.how === 'nevra' && m.justName) {
    // dnf 4.14 adds whatever obsoletes any matched version to the same job.
    const extra = new Set<PkgId>();
    for (const id of pkgs) for (const o of pool.obsoletersOf(id)) if (!pkgs.includes(o)) extra.add(o);
    pkgs = [...pkgs, ...[...extra].sort((a, b) => a - b)];
  }
  if (isGlob(spec) && !spec.startsWith('/')) {
    const byName = new Map<string, PkgId[]>();
    for (const id of pkgs) {
      const n = pool.pkgs[id].name;
      byName.set(n, [...(byName.get(n) ?? []), id]);
    }
    return [...byName.entries()].sort((a, b) => byteCompare(a[0], b[0])).map(([n, ids]) => ({ spec: `${spec} (${n})`, pkgs: ids }));
  }
  return [{ spec, pkgs }];
}

function notFound(pool: Pool, spec: string, req: SolveRequest): ArborError {
  const raw = req.repos.flatMap((r) => r.packages).filter((p) => p.name === spec || formatNevra(p) === spec);
  if (raw.length) {
    const inPool = raw.filter((p) => pool.pkgs.includes(p) || pool.byName.has(p.name));
    const why = inPool.length ? 'excluded' : `not installable on ${pool.arch}`;
    return new ArborError('NotFound', `'${spec}' matches only packages that are ${why}: ${raw.slice(0, 5).map(formatNevra).join(', ')}`);
  }
  const near = nearMisses(pool, spec);
  return new ArborError('NotFound', `no package matches '${spec}'${near.length ? `; did you mean: ${near.join(', ')}?` : ''}`);
}

/** A Recommends of a reachable package, ready for the weak phase. */
interface WeakDep {
  /** Literals of providers (simple dep) … */
  providers?: number[];
  /** … or the rich tree and its CNF. */
  rich?: RichDep;
  cnf?: number[][];
}

interface Branch {
  level: number;
  lit: Lit;
  alts: Lit[];
}

type Mode = 'choose' | 'noreorder' | 'recommend' | 'decided';

/** The encoded problem and the search over it. */
class Problem implements Decider {
  readonly sat = new Sat();
  readonly rules: Rule[] = [];
  /** The clause of each rule, for core shrinking. */
  private ruleLits: number[][] = [];
  minimizationSteps = 0;
  private varOf: Int32Array;
  private pkgOf: PkgId[] = [0];
  private jobs: Array<{ spec: string; vars: number[] }> = [];
  /** var → ids of clauses that need one of their positive literals once it is installed. */
  private owned: number[][] = [];
  private recs: Array<WeakDep[] | undefined> = [];
  private recommendedBy: Array<number[] | undefined> = [];
  private supplementers: Array<{ v: number; trees: RichDep[] }> = [];
  private suppOf = new Map<number, RichDep[]>();
  private richCache = new Map<string, RichDep>();
  // Decider state; cursors restart after every backtrack.
  private jobCursor = 0;
  private scan = 0;
  private postponed: number[] = [];
  private postponedAt = 0;
  private noPostpone = false;
  private weakBatch?: { supp: number[]; owners: number[]; at: number; rec: number; allowed: Set<number> };
  private falseCursor = 1;
  /** Trail length at the last weak search that found nothing, or -1. */
  private weakIdleAt = -1;
  private branches: Branch[] = [];
  private weakDecisions: Array<{ level: number; v: number }> = [];

  constructor(readonly pool: Pool, readonly weak: boolean, readonly filesComplete: boolean) {
    this.varOf = new Int32Array(pool.size);
  }

  private rich(text: string): RichDep {
    let r = this.richCache.get(text);
    if (!r) {
      r = parseRichDep(text);
      this.richCache.set(text, r);
    }
    return r;
  }

  /** Packages that could satisfy a dependency (for rich ones: any package it mentions). */
  private reach(dep: Dep): readonly PkgId[] {
    if (isRich(dep)) return [...new Set(richLeaves(this.rich(dep.name)).flatMap((d) => this.reach(d)))];
    if (dep.name.startsWith('rpmlib(')) return [];
    if (!this.filesComplete && dep.name.startsWith('/') && !isPrimaryFile(dep.name)) throw new FilelistsNeeded(dep.name);
    return this.pool.whatProvides(dep);
  }

  private lits = (d: Dep): number[] => {
    const out: number[] = [];
    for (const id of this.pool.whatProvides(d)) if (this.varOf[id]) out.push(this.varOf[id]);
    return out;
  };

  private addRule(lits: number[], rule: Rule): void {
    const idx = this.rules.length;
    this.rules.push(rule);
    this.ruleLits.push(lits);
    const cid = this.sat.addClause(lits, idx);
    if (cid < 0) return;
    // Clauses with positive literals ask for an install once their negative literals hold.
    if (rule.kind === 'job' || !lits.some((l) => l > 0)) return;
    for (const l of lits) if (l < 0) (this.owned[-l] ??= []).push(cid);
  }

  encode(jobs: Job[]): void {
    const { pool } = this;
    // Supplements point backwards: index who supplements what, so reaching a package
    // also reaches what would supplement it.
    const suppTrigger = new Map<PkgId, PkgId[]>();
    if (this.weak) {
      for (let id = 0; id < pool.size; id++) {
        if (pool.excluded[id] || !pool.pkgs[id].supplements.length) continue;
        for (const d of pool.pkgs[id].supplements) {
          for (const t of this.reach(d)) {
            const a = suppTrigger.get(t);
            if (a) a.push(id);
            else suppTrigger.set(t, [id]);
          }
        }
      }
    }
    const order: PkgId[] = [];
    const visit = (id: PkgId): void => {
      if (this.varOf[id] || pool.excluded[id]) return;
      order.push(id);
      this.varOf[id] = order.length;
      this.pkgOf.push(id);
    };
    for (const j of jobs) j.pkgs.forEach(visit);
    for (let i = 0; i < order.length; i++) {
      const p = pool.pkgs[order[i]];
      for (const d of p.requires) this.reach(d).forEach(visit);
      // An inferior-arch package brings its best-arch twin into play (see encodeInfarch).
      if (pool.archScore[order[i]] > 2) {
        for (const q of pool.named(p.name)) {
          const t = pool.pkgs[q];
          if (t.arch !== p.arch && pool.archScore[q] < pool.archScore[order[i]] && t.epoch === p.epoch && t.version === p.version && t.release === p.release) visit(q);
        }
      }
      if (this.weak) {
        for (const d of p.recommends) this.reach(d).forEach(visit);
        suppTrigger.get(order[i])?.forEach(visit);
      }
    }
    this.sat.addVars(order.length);

    for (const j of jobs) {
      const vars = j.pkgs.map((id) => this.varOf[id]).filter((v) => v > 0);
      this.jobs.push({ spec: j.spec, vars });
      this.addRule(vars, { kind: 'job', spec: j.spec, pkgs: j.pkgs });
    }
    for (const id of order) this.encodePackage(id);
    this.encodeInfarch(order, new Set(jobs.flatMap((j) => j.pkgs.map((id) => pool.pkgs[id].name))));
  }

  /**
   * libsolv's infarch rules: a package of an inferior arch (i686 on x86_64) installs
   * only beside the same version of its name in the best arch. Names the request
   * itself selects are exempt (dnf install foo.i686 works).
   */
  private encodeInfarch(order: PkgId[], requestedNames: Set<string>): void {
    const { pool } = this;
    const byName = new Map<string, PkgId[]>();
    for (const id of order) {
      const n = pool.pkgs[id].name;
      const a = byName.get(n);
      if (a) a.push(id);
      else byName.set(n, [id]);
    }
    for (const [name, ids] of byName) {
      if (ids.length < 2 || requestedNames.has(name)) continue;
      let best = 0;
      for (const id of ids) if (pool.archScore[id] > 1 && (!best || pool.archScore[id] < best)) best = pool.archScore[id];
      for (const p of ids) {
        const s = pool.archScore[p];
        if (s <= 1 || s === best) continue;
        const pp = pool.pkgs[p];
        const mates = ids.filter((q) => {
          const qq = pool.pkgs[q];
          return q !== p && qq.arch !== pp.arch && qq.epoch === pp.epoch && qq.version === pp.version && qq.release === pp.release && (pool.archScore[q] === 1 || pool.archScore[q] === best);
        });
        this.addRule([-this.varOf[p], ...mates.map((q) => this.varOf[q])], { kind: 'infarch', pkg: p, mates });
      }
    }
  }

  private encodePackage(id: PkgId): void {
    const { pool } = this;
    const p = pool.pkgs[id];
    const v = this.varOf[id];
    for (const d of p.requires) {
      if (d.name.startsWith('rpmlib(')) continue;
      if (isRich(d)) {
        for (const c of richToCnf(this.rich(d.name), true, this.lits)) {
          const providers = c.filter((l) => l > 0).map((l) => this.pkgOf[l]);
          this.addRule([-v, ...c], { kind: 'requires', pkg: id, dep: d, providers });
        }
        continue;
      }
      const prov = pool.whatProvides(d);
      if (prov.includes(id)) continue;
      const lits = new Array<number>(prov.length + 1);
      lits[0] = -v;
      for (let k = 0; k < prov.length; k++) lits[k + 1] = this.varOf[prov[k]];
      this.addRule(lits, { kind: 'requires', pkg: id, dep: d, providers: prov });
    }
    for (const d of p.conflicts) {
      if (isRich(d)) {
        for (const c of richToCnf(this.rich(d.name), false, this.lits)) {
          const other = c.find((l) => l < 0 && l !== -v);
          if (c.includes(-v)) continue;
          this.addRule([-v, ...c], { kind: 'conflicts', pkg: id, other: other ? this.pkgOf[-other] : id, dep: d });
        }
        continue;
      }
      for (const q of pool.whatProvides(d)) {
        if (q !== id && this.varOf[q]) this.addRule([-v, -this.varOf[q]], { kind: 'conflicts', pkg: id, other: q, dep: d });
      }
    }
    for (const d of p.obsoletes) {
      if (isRich(d)) continue;
      for (const q of pool.whatProvides(d)) {
        if (q !== id && this.varOf[q] && pool.matchesNevr(q, d)) this.addRule([-v, -this.varOf[q]], { kind: 'obsoletes', pkg: id, other: q, dep: d });
      }
    }
    for (const q of pool.byName.get(p.name) ?? []) {
      if (q > id && this.varOf[q] && pool.sameNameClash(id, q)) this.addRule([-v, -this.varOf[q]], { kind: 'samename', pkg: id, other: q });
    }
    if (this.weak) {
      const recs: WeakDep[] = [];
      for (const d of p.recommends) {
        if (isRich(d)) {
          const rich = this.rich(d.name);
          recs.push({ rich, cnf: richToCnf(rich, true, this.lits) });
          continue;
        }
        const providers = this.lits(d);
        if (providers.includes(v)) continue;
        recs.push({ providers });
        for (const q of providers) (this.recommendedBy[q] ??= []).push(v);
      }
      if (recs.length) this.recs[v] = recs;
      if (p.supplements.length) {
        const trees = p.supplements.map((d): RichDep => (isRich(d) ? this.rich(d.name) : { kind: 'dep', dep: d }));
        this.supplementers.push({ v, trees });
        this.suppOf.set(v, trees);
      }
    }
  }

  // ------------------------------------------------------------------ the search

  private isTrue = (d: Dep): boolean => this.lits(d).some((l) => this.sat.value(l) === 1);
  private anyTrue = (set: number[]): boolean => set.some((id) => this.varOf[id] > 0 && this.sat.value(this.varOf[id]) === 1);

  private supplementing(v: number): boolean {
    const trees = this.suppOf.get(v);
    return !!trees && trees.some((t) => evalRich(t, this.isTrue, this.anyTrue, (d) => this.pool.whatProvides(d)));
  }

  /**
   * libsolv's policy_filter_unwanted: the candidates in preference order (first wins).
   * 'noreorder' is the pre-check that postpones real choices; 'recommend' prunes the
   * weak candidates as a whole (so one arch and one version per name survive).
   */
  private policy(cands: number[], mode: Mode): number[] {
    const { pool } = this;
    const P = (v: number): PkgId => this.pkgOf[v];
    let c = cands;
    if (c.length > 1) {
      const best = Math.min(...c.map((v) => pool.prio[P(v)]));
      c = c.filter((v) => pool.prio[P(v)] === best);
    }
    if (c.length > 1) {
      // Best arch class wins; noarch always stays.
      let best = 0;
      for (const v of c) {
        const s = pool.archScore[P(v)];
        if (s > 1 && (!best || s < best)) best = s;
      }
      if (best) c = c.filter((v) => pool.archScore[P(v)] === 1 || pool.archScore[P(v)] === best);
    }
    if (c.length > 1) {
      // One per name: the newest (see newerOrBetter); names in byte order.
      const byName = new Map<string, number>();
      for (const v of c) {
        const n = pool.pkgs[P(v)].name;
        const cur = byName.get(n);
        if (cur === undefined || newerOrBetter(pool, P(v), P(cur))) byName.set(n, v);
      }
      c = [...byName.entries()].sort((x, y) => byteCompare(x[0], y[0])).map((e) => e[1]);
    }
    if (c.length > 1) {
      // A candidate obsoleted by another candidate of a different name loses to it.
      const obsoleted = (v: number): boolean =>
        c.some((w) => w !== v && pool.pkgs[P(w)].name !== pool.pkgs[P(v)].name && pool.pkgs[P(w)].obsoletes.some((d) => !isRich(d) && pool.matchesNevr(P(v), d)));
      const kept = c.filter((v) => !obsoleted(v));
      if (kept.length) c = kept;
    }
    if ((mode === 'choose' || mode === 'noreorder') && c.length > 1 && this.weak) {
      // Prefer what installed packages recommend, or what supplements them.
      const rec = c.filter((v) => (this.recommendedBy[v] ?? []).some((r) => this.sat.value(r) === 1) || this.supplementing(v));
      if (rec.length) c = rec;
    }
    if (mode === 'choose' && c.length > 1) {
      // Old versions (a newer one of the same name and arch exists) go last.
      const old = c.filter((v) => pool.isOldVersion(P(v)));
      if (old.length && old.length < c.length) c = [...c.filter((v) => !old.includes(v)), ...old];
    }
    return c;
  }

  private pick(cands: number[], mode: Mode, weak = false): Lit {
    const order = mode === 'decided' ? cands : this.policy(cands, mode);
    if (order.length > 1) this.branches.push({ level: this.sat.decisionLevel + 1, lit: order[0], alts: order.slice(1) });
    if (weak) this.weakDecisions.push({ level: this.sat.decisionLevel + 1, v: order[0] });
    return order[0];
  }

  next(): Lit {
    const sat = this.sat;
    // 1. The request: one package for every job, in the order given.
    for (; this.jobCursor < this.jobs.length; this.jobCursor++) {
      const vars = this.jobs[this.jobCursor].vars;
      if (vars.some((v) => sat.value(v) === 1)) continue;
      const cands = vars.filter((v) => sat.value(v) === 0);
      if (cands.length) return this.pick(cands, 'choose');
    }
    // 2. Requirements of installed packages, in the order they were installed. As in
    // libsolv, requirements with a single preferred candidate go first; real choices
    // are postponed until nothing else is left, then taken in order.
    const n = sat.trailLength;
    for (; this.scan < n; this.scan++) {
      const lit = sat.trailAt(this.scan);
      const owned = lit > 0 ? this.owned[lit] : undefined;
      if (!owned) continue;
      for (const cid of owned) {
        const cands = pendingChoice(sat, sat.clause(cid));
        if (!cands) continue;
        if (this.noPostpone) return this.pick(cands, 'choose');
        const pre = this.policy(cands, 'noreorder');
        if (pre.length === 1) return this.pick(pre, 'decided');
        this.postponed.push(cid);
      }
    }
    for (; this.postponedAt < this.postponed.length; this.postponedAt++) {
      const cands = pendingChoice(sat, sat.clause(this.postponed[this.postponedAt]));
      if (cands) {
        this.noPostpone = true;
        return this.pick(cands, 'choose');
      }
    }
    // 3. Weak dependencies, in libsolv's batches.
    if (this.weak) {
      const w = this.nextWeak();
      if (w) return w;
    }
    // 4. Nothing else is wanted: everything left stays uninstalled.
    for (; this.falseCursor <= sat.numVars; this.falseCursor++) if (sat.value(this.falseCursor) === 0) return -this.falseCursor;
    return 0;
  }

  /**
   * One weak decision, or 0. A batch starts from every open recommendation of an
   * installed package plus every package supplementing the installed set; the union
   * is pruned as a whole (priority, arch, newest per name). Supplementing survivors
   * are installed first, then each open recommendation gets its preferred survivor.
   */
  private nextWeak(): Lit {
    const sat = this.sat;
    // Weak candidates come only from installed packages: if nothing was installed since
    // the last empty search, there are still none (this keeps phase 4 linear).
    if (!this.weakBatch && this.weakIdleAt >= 0) {
      let grew = false;
      for (let i = this.weakIdleAt; i < sat.trailLength && !grew; i++) grew = sat.trailAt(i) > 0;
      this.weakIdleAt = sat.trailLength;
      if (!grew) return 0;
    }
    for (;;) {
      const b = this.weakBatch;
      if (b) {
        while (b.supp.length) {
          const v = b.supp.shift()!;
          if (sat.value(v) === 0) return this.pick([v], 'decided', true);
        }
        for (; b.at < b.owners.length; b.at++, b.rec = 0) {
          const recs = this.recs[b.owners[b.at]] ?? [];
          for (; b.rec < recs.length; b.rec++) {
            const cands = this.recommendCandidates(recs[b.rec]).filter((v) => b.allowed.has(v));
            if (cands.length) return this.pick(cands, 'choose', true);
          }
        }
        // Batch done (the strict phases ran before this call): look for more.
        this.weakBatch = undefined;
      }
      const cands = new Set<number>();
      const owners: number[] = [];
      for (let i = 0; i < sat.trailLength; i++) {
        const lit = sat.trailAt(i);
        if (lit < 0 || !this.recs[lit]) continue;
        owners.push(lit);
        for (const r of this.recs[lit]!) for (const v of this.recommendCandidates(r)) cands.add(v);
      }
      const supp: number[] = [];
      for (const s of this.supplementers) {
        if (sat.value(s.v) !== 0 || !this.supplementing(s.v)) continue;
        // libsolv does not add a second arch of an installed name through supplements.
        if (this.namesInstalled(this.pkgOf[s.v])) continue;
        supp.push(s.v);
        cands.add(s.v);
      }
      if (cands.size === 0) {
        this.weakIdleAt = sat.trailLength;
        return 0;
      }
      if (cands.size === 1) {
        const [v] = cands;
        this.resetStrict();
        return this.pick([v], 'decided', true);
      }
      const allowed = new Set(this.policy([...cands].sort((x, y) => this.pkgOf[x] - this.pkgOf[y]), 'recommend'));
      this.weakBatch = {
        supp: supp.filter((v) => allowed.has(v)).sort((x, y) => byteCompare(this.pool.pkgs[this.pkgOf[x]].name, this.pool.pkgs[this.pkgOf[y]].name)),
        owners,
        at: 0,
        rec: 0,
        allowed,
      };
      this.resetStrict();
    }
  }

  private namesInstalled(id: PkgId): boolean {
    return (this.pool.byName.get(this.pool.pkgs[id].name) ?? []).some((q) => q !== id && this.varOf[q] > 0 && this.sat.value(this.varOf[q]) === 1);
  }

  /** After a weak decision libsolv restarts its main loop: postponing applies afresh. */
  private resetStrict(): void {
    this.noPostpone = false;
    this.postponed = [];
    this.postponedAt = 0;
  }

  private recommendCandidates(r: WeakDep): number[] {
    const sat = this.sat;
    if (r.providers) {
      if (r.providers.some((l) => sat.value(l) === 1)) return [];
      return r.providers.filter((l) => sat.value(l) === 0);
    }
    // Rich: the first clause not yet true (unassigned counts as not installed).
    for (const c of r.cnf ?? []) {
      if (c.some((l) => sat.value(l) === 1 || (l < 0 && sat.value(l) === 0))) continue;
      return c.filter((l) => l > 0 && sat.value(l) === 0);
    }
    return [];
  }

  backtracked(level: number): void {
    this.jobCursor = 0;
    this.scan = 0;
    this.falseCursor = 1;
    this.weakBatch = undefined;
    this.weakIdleAt = -1;
    this.resetStrict();
    this.branches = this.branches.filter((b) => b.level <= level);
    this.weakDecisions = this.weakDecisions.filter((w) => w.level <= level);
  }

  /**
   * Searches, then minimises as libsolv does: where an alternative that was passed
   * over at a choice got installed anyway, go back and choose it there instead.
   */
  run(): Array<{ pkg: PkgId; reason: InstallReason }> | undefined {
    if (!this.sat.search(this)) return undefined;
    for (let steps = 0; steps < 1000; steps++) {
      const b = this.branches.find((br) => br.alts.some((a) => this.sat.value(a) === 1 && this.sat.levelOf(a) >= br.level));
      if (!b) break;
      const alt = b.alts.find((a) => this.sat.value(a) === 1 && this.sat.levelOf(a) >= b.level)!;
      this.minimizationSteps++;
      this.sat.backtrack(b.level - 1);
      this.backtracked(b.level - 1);
      // The passed-over choice is not offered again, so this cannot loop.
      const rest = b.alts.filter((a) => a !== alt);
      if (rest.length) this.branches.push({ level: b.level, lit: alt, alts: rest });
      this.sat.decide(alt);
      if (!this.sat.search(this)) return undefined;
    }
    const jobVars = new Set(this.jobs.flatMap((j) => j.vars));
    const weakVars = new Set(this.weakDecisions.map((w) => w.v));
    const out: Array<{ pkg: PkgId; reason: InstallReason }> = [];
    for (let v = 1; v <= this.sat.numVars; v++) {
      if (this.sat.value(v) !== 1) continue;
      out.push({ pkg: this.pkgOf[v], reason: jobVars.has(v) ? 'requested' : weakVars.has(v) ? 'weak' : 'dependency' });
    }
    return out;
  }

  /**
   * A small unsatisfiable core: the solver's core, shrunk by dropping each rule in turn
   * and keeping the drop when the rest is still unsatisfiable (cheap: cores are small).
   */
  minimalCore(): number[] {
    let core = this.sat.unsatCore();
    if (core.length > 200) return core;
    for (let i = 0; i < core.length; ) {
      const trial = core.filter((_, k) => k !== i);
      if (!satisfiable(trial.map((r) => this.clauseOf(r)))) core = trial;
      else i++;
    }
    return core;
  }

  private clauseOf(rule: number): readonly number[] {
    return this.ruleLits[rule] ?? [];
  }
}

/**
 * libsolv's per-name winner: the higher EVR; on a tie the better arch when neither is
 * noarch, otherwise the one listed first in the repos.
 */
function newerOrBetter(pool: Pool, a: PkgId, b: PkgId): boolean {
  const r = compareEvr(pool.pkgs[a], pool.pkgs[b]);
  if (r !== 0) return r > 0;
  const sa = pool.archScore[a], sb = pool.archScore[b];
  if (sa !== sb && sa > 1 && sb > 1) return sa < sb;
  return a < b;
}

/**
 * If a clause needs a decision (nothing true, every negative literal false, several
 * positive literals open), the open positive literals; otherwise undefined.
 */
function pendingChoice(sat: Sat, c: Int32Array): number[] | undefined {
  let open: number[] | undefined;
  for (let k = 0; k < c.length; k++) {
    const l = c[k];
    const val = sat.value(l);
    if (val === 1) return undefined;
    if (val === 0) {
      if (l < 0) return undefined;
      (open ??= []).push(l);
    }
  }
  return open;
}

/** Plain satisfiability of a clause set (for core shrinking): decide everything false first. */
function satisfiable(clauses: ReadonlyArray<readonly number[]>): boolean {
  const s = new Sat();
  let max = 0;
  for (const c of clauses) for (const l of c) max = Math.max(max, Math.abs(l));
  s.addVars(max);
  clauses.forEach((c, i) => s.addClause(c, i));
  let cursor = 1;
  return s.search({
    next: () => {
      while (cursor <= max && s.value(cursor) !== 0) cursor++;
      return cursor <= max ? -cursor : 0;
    },
    backtracked: () => {
      cursor = 1;
    },
  });
}
