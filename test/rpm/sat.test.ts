// The CDCL core on its own: models are real models, "unsatisfiable" is true (checked by
// brute force), cores are themselves unsatisfiable, and learning/backjumping happen.
import assert from 'node:assert/strict';
import { Decider, Sat } from '../../src/rpm/sat';
import { prng } from './solve-helpers';

/** Decides the lowest unassigned variable, false first (a neutral heuristic). */
function lowestFalse(s: Sat): Decider {
  let c = 1;
  return {
    next: () => {
      while (c <= s.numVars && s.value(c) !== 0) c++;
      return c <= s.numVars ? -c : 0;
    },
    backtracked: () => { c = 1; },
  };
}

function solveCnf(n: number, clauses: number[][]): { ok: boolean; model: boolean[]; s: Sat } {
  const s = new Sat();
  s.addVars(n);
  clauses.forEach((c, i) => s.addClause(c, i));
  const ok = s.search(lowestFalse(s));
  const model = [false];
  for (let v = 1; v <= n; v++) model.push(s.value(v) === 1);
  return { ok, model, s };
}

const satisfies = (model: boolean[], clauses: number[][]): boolean => clauses.every((c) => c.some((l) => (l > 0 ? model[l] : !model[-l])));

function bruteForce(n: number, clauses: number[][]): boolean {
  const m = [false];
  for (let bits = 0; bits < 1 << n; bits++) {
    for (let v = 1; v <= n; v++) m[v] = ((bits >> (v - 1)) & 1) === 1;
    if (satisfies(m, clauses)) return true;
  }
  return false;
}

function random3Sat(rand: () => number, n: number, m: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m; i++) {
    const c: number[] = [];
    while (c.length < 3) {
      const v = 1 + Math.floor(rand() * n);
      if (c.some((l) => Math.abs(l) === v)) continue;
      c.push(rand() < 0.5 ? v : -v);
    }
    out.push(c);
  }
  return out;
}

/** n+1 pigeons into n holes: unsatisfiable, and hard enough to need learning. */
function pigeonhole(n: number): { vars: number; clauses: number[][] } {
  const v = (p: number, h: number): number => p * n + h + 1;
  const clauses: number[][] = [];
  for (let p = 0; p <= n; p++) clauses.push(Array.from({ length: n }, (_, h) => v(p, h)));
  for (let h = 0; h < n; h++) for (let p = 0; p <= n; p++) for (let q = p + 1; q <= n; q++) clauses.push([-v(p, h), -v(q, h)]);
  return { vars: (n + 1) * n, clauses };
}

describe('sat: CDCL core', () => {
  it('agrees with brute force on 300 seeded random 3-SAT instances near the threshold', () => {
    const rand = prng(42);
    let sat = 0, unsat = 0;
    for (let i = 0; i < 300; i++) {
      const n = 8 + Math.floor(rand() * 7);
      const clauses = random3Sat(rand, n, Math.round(n * 4.26));
      const r = solveCnf(n, clauses);
      assert.equal(r.ok, bruteForce(n, clauses), `instance ${i}`);
      if (r.ok) {
        assert.ok(satisfies(r.model, clauses), `model of instance ${i} violates a clause`);
        sat++;
      } else unsat++;
    }
    assert.ok(sat > 30 && unsat > 30, `a mix of outcomes (sat ${sat}, unsat ${unsat})`);
  });

  it('proves the pigeonhole principle for 7 pigeons in 6 holes by learning clauses', () => {
    const { vars, clauses } = pigeonhole(6);
    const r = solveCnf(vars, clauses);
    assert.equal(r.ok, false);
    assert.ok(r.s.stats.learned > 10, `learned ${r.s.stats.learned}`);
  });

  it('returns an unsatisfiable core that excludes irrelevant clauses', () => {
    // x1 and not-x1 via a chain, plus unrelated satisfiable clauses on other variables.
    const clauses = [[1], [-1, 2], [-2, 3], [-3, -1], [4, 5], [-4, 6], [5, -6, 7]];
    const r = solveCnf(7, clauses);
    assert.equal(r.ok, false);
    const core = r.s.unsatCore();
    assert.deepEqual(core, [0, 1, 2, 3]);
    assert.equal(bruteForce(7, core.map((i) => clauses[i])), false);
  });

  it('returns cores that are themselves unsatisfiable on random instances', () => {
    const rand = prng(7);
    let checked = 0;
    for (let i = 0; i < 200 && checked < 40; i++) {
      const n = 10;
      const clauses = random3Sat(rand, n, 50);
      const r = solveCnf(n, clauses);
      if (r.ok) continue;
      const core = r.s.unsatCore().map((k) => clauses[k]);
      assert.ok(core.length <= clauses.length);
      assert.equal(bruteForce(n, core), false, `core of instance ${i} is satisfiable`);
      checked++;
    }
    assert.ok(checked >= 20);
  });

  it('jumps back over unrelated decisions when a conflict does not involve them', () => {
    // Decide x1..x5 true (unrelated), then x6 true forces a conflict that depends on x6 alone:
    // the learned clause is the unit ¬x6, asserted at level 0, not at level 5.
    const s = new Sat();
    s.addVars(8);
    s.addClause([-6, 7], 0);
    s.addClause([-6, 8], 1);
    s.addClause([-7, -8], 2);
    const order = [1, 2, 3, 4, 5, 6];
    let levelOfNot6 = -1;
    const ok = s.search({
      next: () => {
        for (const v of order) if (s.value(v) === 0) return v;
        for (let v = 1; v <= 8; v++) if (s.value(v) === 0) return -v;
        return 0;
      },
      backtracked: (level) => { if (levelOfNot6 < 0) levelOfNot6 = level; },
    });
    assert.equal(ok, true);
    assert.equal(levelOfNot6, 0, 'backjumped to level 0');
    assert.equal(s.value(6), -1);
    assert.equal(s.levelOf(6), 0);
  });

  it('reports unsatisfiable at once for contradictory unit clauses', () => {
    const s = new Sat();
    s.addVars(1);
    s.addClause([1], 0);
    s.addClause([-1], 1);
    assert.equal(s.search(lowestFalse(s)), false);
    assert.deepEqual(s.unsatCore(), [0, 1]);
  });
});
