// Rich (boolean) dependencies, rpm ≥ 4.13: parse "(a and (b or c >= 2))" into a tree.
// The meaning of each operator follows libsolv (what dnf runs), e.g. "A unless B" is
// "A and not B"; the solver turns the tree into clauses (see solve.ts).
import { ArborError } from '../common/errors';
import { Dep, DepOp, parseEvr } from './types';

export type RichOp = 'and' | 'or' | 'if' | 'unless' | 'with' | 'without';

export type RichDep =
  | { kind: 'dep'; dep: Dep }
  | { kind: 'and' | 'or' | 'with' | 'without'; args: RichDep[] }
  | { kind: 'if' | 'unless'; then: RichDep; cond: RichDep; else?: RichDep };

const OPS: Record<string, DepOp> = { '<': 'LT', '<=': 'LE', '=': 'EQ', '==': 'EQ', '>=': 'GE', '>': 'GT' };
const KEYWORDS = new Set(['and', 'or', 'if', 'else', 'unless', 'with', 'without']);

export function isRich(dep: Dep | string): boolean {
  return (typeof dep === 'string' ? dep : dep.name).startsWith('(');
}

/** Parses a rich dependency's text; throws InvalidArgument with the position on bad syntax. */
export function parseRichDep(text: string): RichDep {
  const toks = tokenize(text);
  let i = 0;
  const fail = (what: string): never => {
    throw new ArborError('InvalidArgument', `rich dependency '${text}': ${what} at token ${i + 1} ('${toks[i] ?? 'end'}')`);
  };
  const peek = (): string | undefined => toks[i];

  // term := '(' expr ')' | name [op evr]
  const term = (): RichDep => {
    if (peek() === '(') {
      i++;
      const e = expr();
      if (toks[i] !== ')') fail("expected ')'");
      i++;
      return e;
    }
    const name = toks[i];
    if (name === undefined || name === ')' || KEYWORDS.has(name)) fail('expected a package name');
    i++;
    const op = OPS[peek() ?? ''];
    if (op) {
      i++;
      const evr = toks[i];
      if (evr === undefined || evr === '(' || evr === ')' || KEYWORDS.has(evr)) fail('expected a version');
      i++;
      return { kind: 'dep', dep: { name, op, evr: parseEvr(evr) } };
    }
    return { kind: 'dep', dep: { name } };
  };

  // expr := term [op term {op term}] — rpm forbids mixing operators without parentheses,
  // except that 'if'/'unless' take one optional 'else'.
  const expr = (): RichDep => {
    const first = term();
    const op = peek();
    if (op === undefined || op === ')') return first;
    if (!KEYWORDS.has(op) || op === 'else') fail('expected an operator');
    i++;
    if (op === 'if' || op === 'unless') {
      const cond = term();
      let alt: RichDep | undefined;
      if (peek() === 'else') {
        i++;
        alt = term();
      }
      return { kind: op, then: first, cond, else: alt };
    }
    const args = [first, term()];
    while (peek() === op) {
      i++;
      args.push(term());
    }
    if (peek() !== undefined && peek() !== ')') fail(`cannot mix '${op}' with '${peek()}' without parentheses`);
    return { kind: op as 'and' | 'or' | 'with' | 'without', args };
  };

  if (toks[0] !== '(') fail("a rich dependency starts with '('");
  const tree = term();
  if (i !== toks.length) fail('unexpected text after the closing parenthesis');
  return tree;
}

function tokenize(text: string): string[] {
  const toks: string[] = [];
  let cur = '';
  let depth = 0;
  const flush = (): void => {
    if (cur) toks.push(cur);
    cur = '';
  };
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    // Parentheses inside a name belong to it ("perl(Foo::Bar)", "libc.so.6()(64bit)"):
    // a '(' opens a group only at a token boundary.
    if (c === '(' && cur === '') {
      toks.push('(');
    } else if (c === '(') {
      depth++;
      cur += c;
    } else if (c === ')' && depth > 0) {
      depth--;
      cur += c;
    } else if (c === ')') {
      flush();
      toks.push(')');
    } else if (c === ' ' || c === '\t' || c === '\n') {
      flush();
    } else cur += c;
  }
  flush();
  return toks;
}

/** Prints a tree back as rpm text (used in explanations). */
export function formatRichDep(r: RichDep): string {
  switch (r.kind) {
    case 'dep':
      return formatDep(r.dep);
    case 'if':
    case 'unless':
      return `(${formatRichDep(r.then)} ${r.kind} ${formatRichDep(r.cond)}${r.else ? ` else ${formatRichDep(r.else)}` : ''})`;
    default:
      return `(${r.args.map(formatRichDep).join(` ${r.kind} `)})`;
  }
}

const OP_TEXT: Record<DepOp, string> = { LT: '<', LE: '<=', EQ: '=', GE: '>=', GT: '>' };

/** 'name', or 'name >= [e:]v[-r]' as rpm prints it. */
export function formatDep(d: Dep): string {
  if (!d.op || !d.evr) return d.name;
  const e = d.evr;
  return `${d.name} ${OP_TEXT[d.op]} ${e.epoch ? `${e.epoch}:` : ''}${e.version}${e.release ? `-${e.release}` : ''}`;
}

/** Every simple dependency named anywhere in the tree. */
export function richLeaves(r: RichDep, out: Dep[] = []): Dep[] {
  if (r.kind === 'dep') out.push(r.dep);
  else if ('args' in r) for (const a of r.args) richLeaves(a, out);
  else {
    richLeaves(r.then, out);
    richLeaves(r.cond, out);
    if (r.else) richLeaves(r.else, out);
  }
  return out;
}

/** The packages a 'with'/'without' (or plain) term stands for: one package must match all of it. */
function termSet(r: RichDep, providers: (d: Dep) => readonly number[]): number[] {
  if (r.kind === 'dep') return [...providers(r.dep)];
  if (r.kind === 'with' || r.kind === 'and') {
    let s = termSet(r.args[0], providers);
    for (const a of r.args.slice(1)) {
      const t = new Set(termSet(a, providers));
      s = s.filter((x) => t.has(x));
    }
    return s;
  }
  if (r.kind === 'without') {
    const drop = new Set(r.args.slice(1).flatMap((a) => termSet(a, providers)));
    return termSet(r.args[0], providers).filter((x) => !drop.has(x));
  }
  if ('args' in r) return [...new Set(r.args.flatMap((a) => termSet(a, providers)))];
  return termSet(r.then, providers);
}

/** A formula in conjunctive normal form over literals (+p installed, -p not); [] is true, [[]] false. */
export type Cnf = number[][];

/**
 * CNF of "the dependency holds" (positive) or "it does not hold" (negative), with
 * libsolv's meanings: A if B = A or not B; A if B else C = (A or not B) and (C or B);
 * A unless B = A and not B; A unless B else C = (A and not B) or (C and B).
 * `providers` maps a simple dependency to literals of the packages providing it.
 */
export function richToCnf(r: RichDep, positive: boolean, providers: (d: Dep) => readonly number[], limit = 20000): Cnf {
  const and = (parts: Cnf[]): Cnf => parts.flat();
  const or = (parts: Cnf[]): Cnf => {
    let acc: Cnf = [[]];
    for (const p of parts) {
      const next: Cnf = [];
      for (const a of acc) {
        for (const b of p) {
          const merged = [...new Set([...a, ...b])];
          if (!merged.some((l) => merged.includes(-l))) next.push(merged);
        }
      }
      if (next.length > limit) throw new ArborError('Unsupported', `rich dependency ${formatRichDep(r)} is too large to encode (${next.length} clauses)`);
      acc = next;
    }
    return acc;
  };
  const atom = (set: readonly number[], pos: boolean): Cnf => (pos ? [[...set]] : set.map((p) => [-p]));
  const go = (n: RichDep, pos: boolean): Cnf => {
    switch (n.kind) {
      case 'dep':
        return atom(providers(n.dep), pos);
      case 'with':
      case 'without':
        return atom(termSet(n, providers), pos);
      case 'and':
        return pos ? and(n.args.map((a) => go(a, true))) : or(n.args.map((a) => go(a, false)));
      case 'or':
        return pos ? or(n.args.map((a) => go(a, true))) : and(n.args.map((a) => go(a, false)));
      case 'if':
        if (!n.else) return pos ? or([go(n.then, true), go(n.cond, false)]) : and([go(n.then, false), go(n.cond, true)]);
        return pos
          ? and([or([go(n.then, true), go(n.cond, false)]), or([go(n.else, true), go(n.cond, true)])])
          : or([and([go(n.then, false), go(n.cond, true)]), and([go(n.else, false), go(n.cond, false)])]);
      case 'unless':
        if (!n.else) return pos ? and([go(n.then, true), go(n.cond, false)]) : or([go(n.then, false), go(n.cond, true)]);
        return pos
          ? or([and([go(n.then, true), go(n.cond, false)]), and([go(n.else, true), go(n.cond, true)])])
          : and([or([go(n.then, false), go(n.cond, true)]), or([go(n.else, false), go(n.cond, false)])]);
    }
  };
  return go(r, positive);
}

/** Does the dependency hold when exactly the packages `installed` accepts are installed? */
export function evalRich(r: RichDep, holds: (d: Dep) => boolean, anyOf: (set: number[]) => boolean, providers: (d: Dep) => readonly number[]): boolean {
  const ev = (n: RichDep): boolean => {
    switch (n.kind) {
      case 'dep':
        return holds(n.dep);
      case 'with':
      case 'without':
        return anyOf(termSet(n, providers));
      case 'and':
        return n.args.every(ev);
      case 'or':
        return n.args.some(ev);
      case 'if':
        return ev(n.cond) ? ev(n.then) : n.else ? ev(n.else) : true;
      case 'unless':
        return ev(n.cond) ? (n.else ? ev(n.else) : false) : ev(n.then);
    }
  };
  return ev(r);
}
