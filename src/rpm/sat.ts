// A CDCL SAT solver sized for package problems: two watched literals, unit propagation,
// first-UIP conflict analysis with clause learning, and non-chronological backjumping.
// It never picks a decision itself: a Decider does, which is how package preferences
// (newest, best arch, fewest packages) steer the search, as in libsolv.

/** +v asserts variable v (v ≥ 1), -v denies it. */
export type Lit = number;

export interface Decider {
  /**
   * The next literal to assert (its variable unassigned), or 0 when the model is
   * complete. Called only at a fixpoint: everything propagated, no conflict.
   */
  next(): Lit;
  /** The trail was cut back to `level` (after a conflict or an explicit backtrack). */
  backtracked?(level: number): void;
}

export interface SatStats {
  decisions: number;
  propagations: number;
  conflicts: number;
  learned: number;
  maxLevel: number;
}

const idx = (lit: Lit): number => (lit > 0 ? lit << 1 : (-lit << 1) | 1);

export class Sat {
  private nVars = 0;
  private vals = new Int8Array(16); // per variable: 1 true, -1 false, 0 unassigned
  private levels = new Int32Array(16);
  private reasons = new Int32Array(16); // clause id, or -1 for decisions / unassigned
  private trail = new Int32Array(16);
  private trailLen = 0;
  private qhead = 0;
  private trailLim: number[] = [];
  private seen = new Uint8Array(16);
  private stampOf = new Int32Array(16);
  private signOf = new Int8Array(16);
  private addStamp = 0;
  private watches: number[][] = [[], []];
  private readonly clauses: Int32Array[] = [];
  /** The caller's tag for each original clause; -1 for learned ones. */
  private readonly origins: number[] = [];
  /** For learned clauses: the clauses resolved to derive them (for unsat cores). */
  private readonly antecedents: Array<number[] | null> = [];
  private finalConflict = -1;
  readonly stats: SatStats = { decisions: 0, propagations: 0, conflicts: 0, learned: 0, maxLevel: 0 };

  get numVars(): number {
    return this.nVars;
  }

  get unsat(): boolean {
    return this.finalConflict >= 0;
  }

  /** Adds `n` variables and returns the first new one. */
  addVars(n: number): number {
    const first = this.nVars + 1;
    this.nVars += n;
    const need = this.nVars + 1;
    if (need > this.vals.length) {
      const cap = Math.max(need, this.vals.length * 2);
      const grow = <T extends Int8Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T, fill = 0): T => {
        const b = make(cap);
        b.set(a);
        if (fill) b.fill(fill, a.length);
        return b;
      };
      this.vals = grow(this.vals, (k) => new Int8Array(k));
      this.levels = grow(this.levels, (k) => new Int32Array(k));
      this.reasons = grow(this.reasons, (k) => new Int32Array(k), -1);
      this.trail = grow(this.trail, (k) => new Int32Array(k));
      this.seen = grow(this.seen, (k) => new Uint8Array(k));
      this.stampOf = grow(this.stampOf, (k) => new Int32Array(k));
      this.signOf = grow(this.signOf, (k) => new Int8Array(k));
    }
    for (let v = first; v <= this.nVars; v++) this.reasons[v] = -1;
    while (this.watches.length < 2 * need) this.watches.push([]);
    return first;
  }

  /** 1 true, -1 false, 0 unassigned: the value of a literal. */
  value(lit: Lit): number {
    const v = this.vals[lit > 0 ? lit : -lit];
    return lit > 0 ? v : -v;
  }

  levelOf(v: number): number {
    return this.levels[v];
  }

  get decisionLevel(): number {
    return this.trailLim.length;
  }

  get trailLength(): number {
    return this.trailLen;
  }

  trailAt(i: number): Lit {
    return this.trail[i];
  }

  /** The literal decided at `level` (1-based). */
  decisionAt(level: number): Lit {
    return this.trail[this.trailLim[level - 1]];
  }

  clause(id: number): Int32Array {
    return this.clauses[id];
  }

  originOf(id: number): number {
    return this.origins[id];
  }

  /** The clause that implied variable v, or -1 (decided, unassigned). */
  reasonOf(v: number): number {
    return this.reasons[v];
  }

  /**
   * Adds a clause at decision level 0 with a caller tag (kept for unsat cores).
   * Returns its id, or -1 when it is a tautology. An empty or falsified clause makes
   * the problem unsatisfiable.
   */
  addClause(lits: readonly Lit[], origin: number): number {
    if (this.trailLim.length) throw new Error('Sat.addClause: only at decision level 0');
    // Drop duplicate literals and tautologies, with a per-call stamp instead of a Set.
    const stamp = ++this.addStamp;
    const uniq: Lit[] = [];
    for (const l of lits) {
      const v = l > 0 ? l : -l;
      if (this.stampOf[v] === stamp) {
        if (this.signOf[v] !== (l > 0 ? 1 : -1)) return -1;
        continue;
      }
      this.stampOf[v] = stamp;
      this.signOf[v] = l > 0 ? 1 : -1;
      uniq.push(l);
    }
    // Watch non-false literals first.
    if (this.trailLen) uniq.sort((a, b) => (this.value(a) === -1 ? 1 : 0) - (this.value(b) === -1 ? 1 : 0));
    const id = this.store(Int32Array.from(uniq), origin, null);
    if (this.unsat) return id;
    if (uniq.length === 0 || this.value(uniq[0]) === -1) {
      this.finalConflict = id;
    } else if (uniq.length === 1 || this.value(uniq[1]) === -1) {
      if (this.value(uniq[0]) === 0) this.enqueue(uniq[0], id);
    }
    return id;
  }

  private store(lits: Int32Array, origin: number, ante: number[] | null): number {
    const id = this.clauses.length;
    this.clauses.push(lits);
    this.origins.push(origin);
    this.antecedents.push(ante);
    if (lits.length >= 2) {
      this.watches[idx(lits[0])].push(id);
      this.watches[idx(lits[1])].push(id);
    }
    return id;
  }

  private enqueue(lit: Lit, reason: number): void {
    const v = lit > 0 ? lit : -lit;
    this.vals[v] = lit > 0 ? 1 : -1;
    this.levels[v] = this.trailLim.length;
    this.reasons[v] = reason;
    this.trail[this.trailLen++] = lit;
  }

  /** Unit propagation over the watched literals; returns a conflicting clause id or -1. */
  private propagate(): number {
    const vals = this.vals;
    while (this.qhead < this.trailLen) {
      const falseLit = -this.trail[this.qhead++];
      this.stats.propagations++;
      const ws = this.watches[idx(falseLit)];
      let i = 0, j = 0;
      while (i < ws.length) {
        const cid = ws[i++];
        const c = this.clauses[cid];
        if (c[0] === falseLit) {
          c[0] = c[1];
          c[1] = falseLit;
        }
        const first = c[0];
        const fv = first > 0 ? vals[first] : -vals[-first];
        if (fv === 1) {
          ws[j++] = cid;
          continue;
        }
        let moved = false;
        for (let k = 2; k < c.length; k++) {
          const l = c[k];
          const lv = l > 0 ? vals[l] : -vals[-l];
          if (lv !== -1) {
            c[1] = l;
            c[k] = falseLit;
            this.watches[idx(l)].push(cid);
            moved = true;
            break;
          }
        }
        if (moved) continue;
        ws[j++] = cid;
        if (fv === -1) {
          while (i < ws.length) ws[j++] = ws[i++];
          ws.length = j;
          this.qhead = this.trailLen;
          return cid;
        }
        this.enqueue(first, cid);
      }
      ws.length = j;
    }
    return -1;
  }

  /** First-UIP analysis: the learned clause (asserting literal first) and the level to jump to. */
  private analyze(confl: number): { learnt: Lit[]; level: number; ante: number[] } {
    const seen = this.seen;
    const level = this.trailLim.length;
    const learnt: Lit[] = [0];
    const ante: number[] = [];
    let pathC = 0;
    let p: Lit = 0;
    let t = this.trailLen - 1;
    let clause = confl;
    for (;;) {
      ante.push(clause);
      const c = this.clauses[clause];
      for (let k = 0; k < c.length; k++) {
        const q = c[k];
        const v = q > 0 ? q : -q;
        if (p !== 0 && v === (p > 0 ? p : -p)) continue;
        if (seen[v] || this.levels[v] === 0) continue;
        seen[v] = 1;
        if (this.levels[v] >= level) pathC++;
        else learnt.push(q);
      }
      while (!seen[Math.abs(this.trail[t])]) t--;
      p = this.trail[t--];
      const pv = p > 0 ? p : -p;
      seen[pv] = 0;
      if (--pathC <= 0) break;
      clause = this.reasons[pv];
    }
    learnt[0] = -p;
    let back = 0;
    for (let k = 1; k < learnt.length; k++) {
      const v = Math.abs(learnt[k]);
      seen[v] = 0;
      if (this.levels[v] > back) {
        back = this.levels[v];
        [learnt[1], learnt[k]] = [learnt[k], learnt[1]];
      }
    }
    return { learnt, level: back, ante };
  }

  /** Undoes every assignment above `level`. */
  backtrack(level: number): void {
    if (this.trailLim.length <= level) return;
    const start = this.trailLim[level];
    for (let i = this.trailLen - 1; i >= start; i--) {
      const v = Math.abs(this.trail[i]);
      this.vals[v] = 0;
      this.reasons[v] = -1;
    }
    this.trailLen = start;
    this.qhead = start;
    this.trailLim.length = level;
  }

  /**
   * Runs to a model or to unsatisfiability. May be called again after backtrack() to
   * continue from an earlier level (libsolv's "minimisation" takes other branches so).
   */
  search(decider: Decider): boolean {
    if (this.unsat) return false;
    for (;;) {
      const confl = this.propagate();
      if (confl >= 0) {
        this.stats.conflicts++;
        if (this.trailLim.length === 0) {
          this.finalConflict = confl;
          return false;
        }
        const { learnt, level, ante } = this.analyze(confl);
        this.backtrack(level);
        const id = this.store(Int32Array.from(learnt), -1, ante);
        this.stats.learned++;
        this.enqueue(learnt[0], id);
        decider.backtracked?.(level);
        continue;
      }
      const lit = decider.next();
      if (lit === 0) return true;
      if (this.value(lit) !== 0) throw new Error(`Sat.search: decider chose assigned literal ${lit}`);
      this.stats.decisions++;
      this.trailLim.push(this.trailLen);
      if (this.trailLim.length > this.stats.maxLevel) this.stats.maxLevel = this.trailLim.length;
      this.enqueue(lit, -1);
    }
  }

  /** Takes a decision without searching (the caller then calls search()). */
  decide(lit: Lit): void {
    if (this.value(lit) !== 0) throw new Error(`Sat.decide: literal ${lit} is assigned`);
    this.stats.decisions++;
    this.trailLim.push(this.trailLen);
    this.enqueue(lit, -1);
  }

  /**
   * After search() returned false: the caller tags of the original clauses that
   * together are unsatisfiable (not necessarily minimal).
   */
  unsatCore(): number[] {
    if (this.finalConflict < 0) return [];
    const tags = new Set<number>();
    const done = new Uint8Array(this.clauses.length);
    const work = [this.finalConflict];
    while (work.length) {
      const c = work.pop()!;
      if (c < 0 || done[c]) continue;
      done[c] = 1;
      const ante = this.antecedents[c];
      if (ante) work.push(...ante);
      else tags.add(this.origins[c]);
      // Literals fixed at level 0 were resolved away silently: follow their reasons.
      for (const l of this.clauses[c]) {
        const v = Math.abs(l);
        if (this.vals[v] !== 0 && this.levels[v] === 0 && this.reasons[v] >= 0) work.push(this.reasons[v]);
      }
    }
    return [...tags].sort((a, b) => a - b);
  }
}
