// The package model every RPM module shares: what a header, an rpm-md primary entry
// and the rpmdb all describe, and what the solver reasons about.

export interface Evr {
  /** Missing epochs are 0, as rpm treats them. */
  epoch: number;
  version: string;
  /** '' when a dependency names no release (it then matches any release). */
  release: string;
}

export interface Nevra extends Evr {
  name: string;
  arch: string;
}

export type DepOp = 'LT' | 'LE' | 'EQ' | 'GE' | 'GT';

/**
 * A dependency as rpm-md writes it: a name, optionally a comparison with an EVR.
 * Rich (boolean) dependencies keep their whole text in `name`, starting with '('.
 */
export interface Dep {
  name: string;
  op?: DepOp;
  evr?: Evr;
  /** Requires(pre)/(post): must be installed before the scriptlet runs. */
  pre?: boolean;
}

export interface PackageMeta extends Nevra {
  provides: Dep[];
  requires: Dep[];
  conflicts: Dep[];
  obsoletes: Dep[];
  recommends: Dep[];
  suggests: Dep[];
  supplements: Dep[];
  enhances: Dep[];
  /** Files known for the package (primary's subset, or all of filelists/the header). */
  files: string[];
  summary?: string;
  license?: string;
  sourcerpm?: string;
  buildtime?: number;
  /** Where to fetch it, relative to its repo's baseurl. */
  location?: string;
  checksum?: { type: string; value: string };
  packageSize?: number;
  installedSize?: number;
  /** The repo id it came from. */
  repo?: string;
}

// rpm's RPMSENSE_* comparison bits, for converting header flags.
export const RPMSENSE_LESS = 0x02;
export const RPMSENSE_GREATER = 0x04;
export const RPMSENSE_EQUAL = 0x08;

export function opFromSense(flags: number): DepOp | undefined {
  const l = flags & RPMSENSE_LESS, g = flags & RPMSENSE_GREATER, e = flags & RPMSENSE_EQUAL;
  if (l && e) return 'LE';
  if (g && e) return 'GE';
  if (l) return 'LT';
  if (g) return 'GT';
  if (e) return 'EQ';
  return undefined;
}

/** Parses '[E:]V[-R]' as rpm does: the release follows the last '-'. */
export function parseEvr(s: string): Evr {
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0 && /^\d*$/.test(s.slice(0, colon))) {
    epoch = colon === 0 ? 0 : Number(s.slice(0, colon));
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest, release: '' };
}

export function formatEvr(e: Evr): string {
  return `${e.epoch ? `${e.epoch}:` : ''}${e.version}${e.release ? `-${e.release}` : ''}`;
}

/** name-[epoch:]version-release.arch, as dnf prints it. */
export function formatNevra(n: Nevra): string {
  return `${n.name}-${formatEvr(n)}.${n.arch}`;
}

/** createrepo_c's rule for the files primary.xml lists (and requires may name without filelists); the rest are only in filelists. */
export function isPrimaryFile(p: string): boolean {
  return p.startsWith('/etc/') || p.includes('bin/') || p === '/usr/lib/sendmail';
}
