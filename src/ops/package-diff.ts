// The package diff between two trees, as `rpm-ostree db diff` and `upgrade --preview`
// compute it: merge both package lists by name; same name on both sides with another
// EVR (or a single package that changed arch) is an upgrade or a downgrade by rpm's
// version comparison; a name on one side only is added or removed.
import { compareEvr } from '../rpm/vercmp';
import { Nevra, formatEvr, formatNevra } from '../rpm/types';

export interface PackageChange {
  name: string;
  from: Nevra;
  to: Nevra;
}

export interface PackageDiff {
  added: Nevra[];
  removed: Nevra[];
  upgraded: PackageChange[];
  downgraded: PackageChange[];
}

export function emptyPackageDiff(): PackageDiff {
  return { added: [], removed: [], upgraded: [], downgraded: [] };
}

export function isEmptyDiff(d: PackageDiff): boolean {
  return !d.added.length && !d.removed.length && !d.upgraded.length && !d.downgraded.length;
}

const byNevra = (a: Nevra, b: Nevra): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : compareEvr(a, b));

export function diffPackages(before: Nevra[], after: Nevra[]): PackageDiff {
  const group = (list: Nevra[]): Map<string, Nevra[]> => {
    const m = new Map<string, Nevra[]>();
    for (const p of list) {
      const g = m.get(p.name);
      if (g) g.push(p);
      else m.set(p.name, [p]);
    }
    return m;
  };
  const a = group(before);
  const b = group(after);
  const out = emptyPackageDiff();
  const modified = (from: Nevra, to: Nevra): void => {
    const c = compareEvr(from, to);
    if (c === 0 && from.arch === to.arch) return;
    // An arch change at the same EVR counts as an upgrade: something new replaces it.
    (c > 0 ? out.downgraded : out.upgraded).push({ name: to.name, from, to });
  };
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const olds = a.get(name) ?? [];
    const news = b.get(name) ?? [];
    if (olds.length === 1 && news.length === 1) {
      modified(olds[0], news[0]);
      continue;
    }
    // Multilib (or multiple versions, as kernels): pair by arch, report the rest separately.
    const oldByArch = new Map<string, Nevra[]>();
    for (const p of olds) oldByArch.set(p.arch, [...(oldByArch.get(p.arch) ?? []), p]);
    for (const n of news) {
      const same = oldByArch.get(n.arch) ?? [];
      const exact = same.findIndex((o) => compareEvr(o, n) === 0);
      if (exact >= 0) {
        same.splice(exact, 1);
        continue;
      }
      if (same.length === 1 && news.filter((x) => x.arch === n.arch).length === 1) {
        modified(same.pop()!, n);
        continue;
      }
      out.added.push(n);
    }
    for (const rest of oldByArch.values()) out.removed.push(...rest);
  }
  out.added.sort(byNevra);
  out.removed.sort(byNevra);
  out.upgraded.sort((x, y) => byNevra(x.to, y.to));
  out.downgraded.sort((x, y) => byNevra(x.to, y.to));
  return out;
}

/** The block format of `rpm-ostree upgrade --preview` / `db diff`. */
export function renderPackageDiff(d: PackageDiff, indent = ''): string {
  const lines: string[] = [];
  const change = (c: PackageChange): string => `${indent}  ${c.name} ${formatEvr(c.from)}${c.from.arch !== c.to.arch ? `.${c.from.arch}` : ''} -> ${formatEvr(c.to)}${c.from.arch !== c.to.arch ? `.${c.to.arch}` : ''}`;
  if (d.upgraded.length) lines.push(`${indent}Upgraded:`, ...d.upgraded.map(change));
  if (d.downgraded.length) lines.push(`${indent}Downgraded:`, ...d.downgraded.map(change));
  if (d.removed.length) lines.push(`${indent}Removed:`, ...d.removed.map((p) => `${indent}  ${formatNevra(p)}`));
  if (d.added.length) lines.push(`${indent}Added:`, ...d.added.map((p) => `${indent}  ${formatNevra(p)}`));
  return lines.length ? `${lines.join('\n')}\n` : `${indent}No package changes.\n`;
}
