// Why a request cannot be satisfied: turns the solver's unsatisfiable core (the rules
// that together admit no package set) into a chain a person can act on, e.g.
// "app-2.0-1.x86_64 requires libfoo >= 2, but nothing provides it (newest: libfoo-1.5-1.x86_64)".
import { formatDep } from './richdep';
import { Dep, formatNevra, PackageMeta } from './types';
import { compareEvr } from './vercmp';
import type { PkgId, Pool } from './pool';

/** One rule of the encoded problem; clauses carry its index so cores map back to it. */
export type Rule =
  | { kind: 'job'; spec: string; pkgs: PkgId[] }
  | { kind: 'requires'; pkg: PkgId; dep: Dep; providers: readonly PkgId[] }
  | { kind: 'conflicts'; pkg: PkgId; other: PkgId; dep: Dep }
  | { kind: 'obsoletes'; pkg: PkgId; other: PkgId; dep: Dep }
  | { kind: 'samename'; pkg: PkgId; other: PkgId }
  | { kind: 'infarch'; pkg: PkgId; mates: PkgId[] };

export interface ExplainContext {
  pool: Pool;
  rules: Rule[];
  /** Every package in the repos before arch filtering and excludes, for hints. */
  all: PackageMeta[];
  isExcluded: (p: PackageMeta) => boolean;
  arch: string;
}

/** Renders a core (rule indices) as an indented chain, requested specs first. */
export function explainCore(ctx: ExplainContext, core: number[]): string {
  const { pool, rules } = ctx;
  const name = (id: PkgId): string => formatNevra(pool.pkgs[id]);
  const inCore = core.map((i) => rules[i]);
  const jobs = inCore.filter((r): r is Extract<Rule, { kind: 'job' }> => r.kind === 'job');
  const byPkg = new Map<PkgId, Rule[]>();
  const add = (p: PkgId, r: Rule): void => {
    const a = byPkg.get(p);
    if (a) a.push(r);
    else byPkg.set(p, [r]);
  };
  for (const r of inCore) {
    if (r.kind === 'requires' || r.kind === 'infarch') add(r.pkg, r);
    else if (r.kind !== 'job') {
      add(r.pkg, r);
      add(r.other, r);
    }
  }
  // Who wants a package: a requested spec, or a core requires rule listing it.
  const wantedBy = (p: PkgId): string | undefined => {
    const j = jobs.find((x) => x.pkgs.includes(p));
    if (j) return `requested as '${j.spec}'`;
    const r = inCore.find((x) => x.kind === 'requires' && x.providers.includes(p)) as Extract<Rule, { kind: 'requires' }> | undefined;
    return r ? `required by ${name(r.pkg)} (${formatDep(r.dep)})` : undefined;
  };

  const lines: string[] = [];
  const visited = new Set<PkgId>();
  const why = (p: PkgId, indent: string, from?: Rule): void => {
    if (visited.has(p)) {
      lines.push(`${indent}${name(p)}: see above`);
      return;
    }
    visited.add(p);
    for (const r of byPkg.get(p) ?? []) {
      if (r === from) continue;
      switch (r.kind) {
        case 'requires':
          if (r.providers.length === 0) {
            lines.push(`${indent}${name(p)} requires ${formatDep(r.dep)}, but nothing provides it${missingHint(ctx, r)}`);
          } else {
            lines.push(`${indent}${name(p)} requires ${formatDep(r.dep)}, provided by ${r.providers.map(name).join(', ')}, none of which can be installed:`);
            for (const q of r.providers) why(q, indent + '  ', r);
          }
          break;
        case 'infarch':
          lines.push(
            `${indent}${name(p)} has an inferior arch: it installs only beside ${r.mates.length ? r.mates.map(name).join(' or ') : `the same version in the best arch, which does not exist`}` +
              ` (request it by arch, e.g. '${pool.pkgs[p].name}.${pool.pkgs[p].arch}', to lift this)`,
          );
          for (const q of r.mates) why(q, indent + '  ', r);
          break;
        case 'conflicts':
        case 'obsoletes':
        case 'samename': {
          const other = r.pkg === p ? r.other : r.pkg;
          const text =
            r.kind === 'samename'
              ? `${name(p)} cannot be installed alongside ${name(other)} (only one version of ${pool.pkgs[p].name} at a time)`
              : r.pkg === p
                ? `${name(p)} ${r.kind === 'conflicts' ? 'conflicts with' : 'obsoletes'} ${name(other)} (${r.kind}: ${formatDep(r.dep)})`
                : `${name(p)} is ${r.kind === 'conflicts' ? 'in conflict with' : 'obsoleted by'} ${name(other)} (${r.kind}: ${formatDep(r.dep)})`;
          const w = wantedBy(other);
          lines.push(`${indent}${text}${w ? `, which is ${w}` : ''}`);
          break;
        }
      }
    }
  };

  if (jobs.length === 0) {
    lines.push('the repositories contain contradictory packages:');
    for (const p of byPkg.keys()) why(p, '  ');
  }
  for (const j of jobs) {
    const shown = j.pkgs.slice(0, 8).map(name).join(', ') + (j.pkgs.length > 8 ? `, … (${j.pkgs.length} in all)` : '');
    lines.push(j.pkgs.length === 1 ? `requested '${j.spec}' (${shown}):` : `requested '${j.spec}' (candidates: ${shown}), none can be installed:`);
    for (const p of j.pkgs) why(p, '  ');
  }
  if (jobs.length > 1) lines.push(`these requests cannot all be satisfied together: ${jobs.map((j) => `'${j.spec}'`).join(', ')}`);
  return lines.join('\n');
}

/** Says what exists instead of an unprovided dependency: newer/older versions, excluded or foreign-arch packages. */
function missingHint(ctx: ExplainContext, r: Extract<Rule, { kind: 'requires' }>): string {
  const depName = r.dep.name;
  if (!depName || depName.startsWith('(')) return '';
  const available = ctx.pool.named(depName);
  const excluded = (ctx.pool.byName.get(depName) ?? []).filter((id) => ctx.pool.excluded[id]);
  if (!available.length && excluded.length) {
    return ` (${excluded.slice(0, 3).map((id) => formatNevra(ctx.pool.pkgs[id])).join(', ')} ${excluded.length === 1 ? 'is' : 'are'} excluded)`;
  }
  if (available.length) {
    const newest = available.reduce((a, b) => (compareEvr(ctx.pool.pkgs[b], ctx.pool.pkgs[a]) > 0 ? b : a));
    return ` (${formatNevra(ctx.pool.pkgs[newest])} is the newest available)`;
  }
  const raw = ctx.all.filter((p) => p.name === depName || p.provides.some((d) => d.name === depName));
  if (raw.length) {
    const ex = raw.filter(ctx.isExcluded);
    if (ex.length) return ` (${ex.slice(0, 3).map(formatNevra).join(', ')} ${ex.length === 1 ? 'is' : 'are'} excluded)`;
    return ` (${raw.slice(0, 3).map(formatNevra).join(', ')} cannot be installed on ${ctx.arch})`;
  }
  return '';
}
