// `arbor rpm solve`: resolve package specs against rpm-md repositories into the set
// dnf would install, printed as sorted NEVRAs (or JSON). Local work, no daemon.
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ArborError } from '../common/errors';
import { loadRepo, LoadedRepo } from '../rpm/repomd';
import { FilelistsNeeded, solve } from '../rpm/solve';

interface SolveArgs {
  repo: string[];
  exclude?: string[];
  'weak-deps': boolean;
  arch: string;
  json?: boolean;
  'cache-dir'?: string;
  pkgs: string[];
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** A repo id from its location, as dnf's --repofrompath would want one: short and unique. */
function repoId(url: string, i: number, taken: Set<string>): string {
  let id = path.basename(url.replace(/\/+$/, '')).replace(/[^A-Za-z0-9._-]/g, '_') || `repo${i}`;
  while (taken.has(id)) id = `${id}-${i}`;
  taken.add(id);
  return id;
}

export const solveCommand: CommandModule<object, SolveArgs> = {
  command: 'solve <pkgs..>',
  describe: 'resolve packages to the full set to install (as dnf install would)',
  builder: (y: Argv) =>
    y
      .positional('pkgs', { type: 'string', array: true, describe: 'specs: name, name-version[-release], name.arch, NEVRA, provide, /path, glob' })
      .option('repo', { type: 'string', demandOption: true, describe: 'rpm-md repository URL or directory (repeatable; earlier ones take priority on ties)' })
      .option('exclude', { type: 'string', describe: 'leave out packages matching SPEC (repeatable)' })
      .option('weak-deps', { type: 'boolean', default: true, describe: 'install Recommends and Supplements (--no-weak-deps to skip)' })
      .option('arch', { type: 'string', default: 'x86_64', describe: 'base arch of the target system' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' })
      .option('cache-dir', { type: 'string', describe: 'cache parsed metadata here' }) as unknown as Argv<SolveArgs>,
  handler: async (a) => {
    const urls = asList(a.repo);
    if (!urls.length) throw new ArborError('InvalidArgument', 'name at least one --repo');
    const taken = new Set<string>();
    const sources = urls.map((u, i) => ({ id: repoId(u, i, taken), baseurl: u }));
    const load = (filelists: boolean): Promise<LoadedRepo[]> =>
      Promise.all(sources.map((s) => loadRepo(s, { cacheDir: a['cache-dir'], filelists })));
    const request = {
      install: asList(a.pkgs),
      exclude: asList(a.exclude),
      arch: a.arch,
      weakDeps: a['weak-deps'],
    };
    // Primary first; filelists only when a path outside primary's subset matters.
    let repos = await load(false);
    let result;
    try {
      result = solve({ ...request, repos: repos.map((r) => ({ id: r.id, packages: r.packages })), filesComplete: false });
    } catch (e) {
      if (!(e instanceof FilelistsNeeded)) throw e;
      repos = await load(true);
      result = solve({ ...request, repos: repos.map((r) => ({ id: r.id, packages: r.packages })) });
    }
    if (a.json) {
      const packages = result.packages.map((p) => ({
        nevra: p.nevra, name: p.pkg.name, epoch: p.pkg.epoch, version: p.pkg.version, release: p.pkg.release, arch: p.pkg.arch,
        repo: p.pkg.repo, location: p.pkg.location, reason: p.reason,
      }));
      process.stdout.write(JSON.stringify({ packages, stats: result.stats }, null, 2) + '\n');
    } else {
      process.stdout.write(result.packages.map((p) => p.nevra).join('\n') + (result.packages.length ? '\n' : ''));
    }
  },
};
