// .repo files read the way dnf 4 (libdnf 0.69's IniParser and ConfigRepo) reads them:
// the same comment, continuation and section rules, $var/${var} substitution in ids and
// values, list splitting, defaults, and "warn and skip" for bad files, ids and values.
import fs from 'node:fs';
import path from 'node:path';
import { ArborError, toArborError } from '../common/errors';
import { RepoSource } from './repomd';

export interface RepoConfig {
  id: string;
  name: string;
  baseurl: string[];
  /** Recorded, not fetched: Arbor needs a baseurl to load a repo. */
  metalink?: string;
  mirrorlist?: string;
  enabled: boolean;
  gpgcheck: boolean;
  repoGpgcheck: boolean;
  gpgkey: string[];
  priority: number;
  cost: number;
  excludepkgs: string[];
  includepkgs: string[];
  skipIfUnavailable: boolean;
  /** The .repo file it came from. */
  file: string;
  /** Every key as written (after substitution), including ones Arbor does not model. */
  options: Record<string, string>;
}

/** Substitution variables: releasever, basearch, arch, and any others dnf's vars dir would hold. */
export type RepoVars = Record<string, string>;

export interface RepoFileOptions {
  /** Collects what dnf would print as warnings (skipped files, ids and values). */
  warnings?: string[];
  /** Throw on anything dnf would only warn about. */
  strict?: boolean;
}

/** dnf's allowed repo id characters (dnf.repo.repo_id_invalid). */
const ID_CHARS = /^[A-Za-z0-9\-_.:]+$/;

interface Section { name: string; values: Map<string, string> }

/** libdnf 0.69's IniParser: throws `message at line N` as it does. */
export function parseIni(text: string, source: string): Section[] {
  const sections = new Map<string, Section>();
  let cur: Section | undefined;
  let lastKey: string | undefined;
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const fail = (msg: string, n: number): never => {
    throw new ArborError('InvalidArgument', `${source}: ${msg} at line ${n}`);
  };
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = i === 0 && raw.startsWith('\ufeff') ? raw.slice(1) : raw;
    if (line[0] === '#' || line[0] === ';') { lastKey = undefined; return; }
    const start = line.search(/[^ \t\r]/);
    if (start < 0) { lastKey = undefined; return; }
    const end = line.length - (line.length - line.replace(/[ \t\r]+$/, '').length);
    if (line[start] === '[') {
      const close = line.indexOf(']', start + 1);
      if (close < 0) fail("Missing ']'", n);
      if (close === start + 1) fail('Empty section name', n);
      for (let k = close + 1; k < end; k++) {
        const ch = line[k];
        if (ch === '#' || ch === ';') break;
        if (ch !== ' ' && ch !== '\t' && ch !== '\r') fail('Text after section', n);
      }
      const name = line.slice(start + 1, close);
      cur = sections.get(name);
      if (!cur) {
        cur = { name, values: new Map() };
        sections.set(name, cur);
      }
      lastKey = undefined;
      return;
    }
    if (!cur) return fail('Missing section header', n);
    if (start > 0) {
      if (lastKey === undefined) fail('Illegal continuation line', n);
      cur.values.set(lastKey!, `${cur.values.get(lastKey!)}\n${line.slice(start, end)}`);
      return;
    }
    if (line[0] === '=') fail('Missing key', n);
    const eq = line.indexOf('=');
    if (eq < 0) fail("Missing '='", n);
    const key = line.slice(0, eq).replace(/[ \t]+$/, '');
    const value = line.slice(eq + 1, Math.max(eq + 1, end)).replace(/^[ \t]+/, '');
    cur.values.set(key, value);
    lastKey = key;
  });
  return [...sections.values()];
}

/** `$name` and `${name}` (letters, digits, '_'), replaced when known, kept otherwise. */
export function substituteVars(text: string, vars: RepoVars): string {
  return text.replace(/\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]*))/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    return Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : whole;
  });
}

/** libdnf's OptionStringList: items split on ' ', ',' and newlines (not tabs). */
export function splitList(value: string): string[] {
  const out: string[] = [];
  const notSpace = (from: number): number => {
    for (let k = from; k < value.length; k++) if (value[k] !== ' ') return k;
    return -1;
  };
  let start = notSpace(0);
  while (start >= 0 && start < value.length) {
    let end = -1;
    for (let k = start; k < value.length; k++) {
      if (value[k] === ' ' || value[k] === ',' || value[k] === '\n') { end = k; break; }
    }
    if (end < 0) { out.push(value.slice(start)); break; }
    out.push(value.slice(start, end));
    start = notSpace(end + 1);
    // "a , b" is one separator, not an empty item.
    if (start >= 0 && value[start] === ',' && value[end] === ' ') start = notSpace(start + 1);
  }
  return out;
}

const TRUE = new Set(['1', 'yes', 'true', 'on']);
const FALSE = new Set(['0', 'no', 'false', 'off']);

/** The repos of one .repo file's text. */
export function parseRepoFile(text: string, file: string, vars: RepoVars, opts: RepoFileOptions = {}): RepoConfig[] {
  const warn = (msg: string): void => {
    if (opts.strict) throw new ArborError('InvalidArgument', msg);
    opts.warnings?.push(msg);
  };
  const repos: RepoConfig[] = [];
  for (const section of parseIni(text, file)) {
    if (section.name === 'main') continue;
    const id = substituteVars(section.name, vars);
    if (!ID_CHARS.test(id)) {
      const bad = [...id].findIndex((c) => !/[A-Za-z0-9\-_.:]/.test(c));
      warn(`${file}: bad id for repo: '${id}', byte = '${id[bad] ?? ''}' ${bad}; skipping it`);
      continue;
    }
    const options: Record<string, string> = {};
    for (const [k, v] of section.values) options[k] = substituteVars(v, vars);
    const bool = (key: string, dflt: boolean): boolean => {
      const v = options[key];
      if (v === undefined) return dflt;
      const l = v.toLowerCase();
      if (TRUE.has(l)) return true;
      if (FALSE.has(l)) return false;
      warn(`${file}: invalid configuration value: ${key}=${v} in repo '${id}'; invalid boolean value '${v}'`);
      return dflt;
    };
    const int = (key: string, dflt: number): number => {
      const v = options[key];
      if (v === undefined) return dflt;
      if (/^[+-]?\d+$/.test(v.trim())) return Number(v.trim());
      warn(`${file}: invalid configuration value: ${key}=${v} in repo '${id}'; invalid value`);
      return dflt;
    };
    const list = (...keys: string[]): string[] => {
      const key = keys.find((k) => options[k] !== undefined);
      return key === undefined ? [] : splitList(options[key]);
    };
    if (options.name === undefined) warn(`${file}: repository '${id}' is missing name in configuration, using id`);
    repos.push({
      id,
      name: options.name ?? id,
      baseurl: list('baseurl'),
      ...(options.metalink ? { metalink: options.metalink } : {}),
      ...(options.mirrorlist ? { mirrorlist: options.mirrorlist } : {}),
      enabled: bool('enabled', true),
      gpgcheck: bool('gpgcheck', false),
      repoGpgcheck: bool('repo_gpgcheck', false),
      gpgkey: list('gpgkey'),
      priority: int('priority', 99),
      cost: int('cost', 1000),
      excludepkgs: list('excludepkgs', 'exclude'),
      includepkgs: list('includepkgs'),
      skipIfUnavailable: bool('skip_if_unavailable', false),
      file,
      options,
    });
  }
  return repos;
}

/**
 * Reads `*.repo` in a directory (sorted, as dnf globs them) or the given files. A file
 * dnf cannot parse is skipped with a warning, as dnf does; so is a repo id seen before.
 */
export function loadRepoFiles(src: string | string[], vars: RepoVars, opts: RepoFileOptions = {}): RepoConfig[] {
  let files: string[];
  if (Array.isArray(src)) files = src;
  else {
    try {
      files = fs.readdirSync(src).filter((f) => f.endsWith('.repo')).sort().map((f) => path.join(src, f));
    } catch (err) {
      throw toArborError(err, 'reading repo files');
    }
  }
  const out: RepoConfig[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw toArborError(err, 'reading repo file');
    }
    let repos: RepoConfig[];
    try {
      repos = parseRepoFile(text, file, vars, opts);
    } catch (err) {
      if (opts.strict || !(err instanceof ArborError) || err.code !== 'InvalidArgument') throw err;
      opts.warnings?.push(`failed loading '${file}', skipping: ${err.message}`);
      continue;
    }
    for (const r of repos) {
      if (seen.has(r.id)) {
        const msg = `${file}: repository '${r.id}' is listed more than once in the configuration; keeping the first`;
        if (opts.strict) throw new ArborError('InvalidArgument', msg);
        opts.warnings?.push(msg);
        continue;
      }
      seen.add(r.id);
      out.push(r);
    }
  }
  return out;
}

/** What loadRepo needs: the first baseurl. Metalinks and mirrorlists are not fetched. */
export function repoSource(cfg: RepoConfig): RepoSource {
  if (cfg.baseurl.length && cfg.baseurl[0]) return { id: cfg.id, baseurl: cfg.baseurl[0] };
  if (cfg.metalink || cfg.mirrorlist) {
    const what = cfg.metalink ? `a metalink (${cfg.metalink})` : `a mirrorlist (${cfg.mirrorlist})`;
    throw new ArborError('Unsupported', `repo '${cfg.id}' (${cfg.file}) has only ${what}: Arbor does not fetch metalinks or mirrorlists; add a baseurl= line`);
  }
  throw new ArborError('InvalidArgument', `repo '${cfg.id}' (${cfg.file}) has no baseurl, metalink or mirrorlist`);
}

