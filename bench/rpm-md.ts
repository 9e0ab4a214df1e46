// Benchmark: rpm-md loading at distribution scale. Generates a realistic 50,000-package
// pool (generateRealisticPool), writes it as a synthetic repo, and times loadRepo cold
// (stream + parse + cache write) and cached, with and without filelists, each load in
// its own process so peak RSS is that load's, with CPU time (all threads: zlib and GC
// helpers included) beside wall time, which load on a shared machine stretches. Not a
// test: prints a table.
// Usage: node dist/bench/rpm-md.js [--n 50000] [--seed 1] [--compress gz|xz|zst] [--keep DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadRepo } from '../src/rpm/repomd';
import { generateRealisticPool, writeSyntheticRepo } from '../test/fixtures/synthetic-repo';
import { PackageMeta } from '../src/rpm/types';

export interface LoadMeasure { ms: number; cpuMs: number; rssMb: number; packages: number }

export interface BenchArgs { n: number; seed: number; compress: 'gz' | 'xz' | 'zst'; keep?: string }

function parseArgs(argv: string[]): BenchArgs {
  const a: BenchArgs = { n: 50_000, seed: 1, compress: 'gz' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--n' && /^\d+$/.test(v ?? '')) { a.n = Number(v); i++; }
    else if (k === '--seed' && /^\d+$/.test(v ?? '')) { a.seed = Number(v); i++; }
    else if (k === '--compress' && ['gz', 'xz', 'zst'].includes(v ?? '')) { a.compress = v as BenchArgs['compress']; i++; }
    else if (k === '--keep' && v) { a.keep = path.resolve(v); i++; }
    else {
      console.error(`unknown or incomplete argument '${k}'\nusage: rpm-md.js [--n N] [--seed S] [--compress gz|xz|zst] [--keep DIR]`);
      process.exit(2);
    }
  }
  return a;
}

/** Shape of the pool, to show the generator produced what a solver benchmark needs. */
export function describePool(pool: PackageMeta[]): Record<string, number> {
  let requires = 0, versioned = 0, fileDeps = 0, rich = 0, conflicts = 0, obsoletes = 0, weak = 0, provides = 0;
  const names = new Set<string>();
  const providers = new Map<string, number>();
  for (const p of pool) {
    names.add(p.name);
    provides += p.provides.length;
    for (const d of p.provides) providers.set(d.name, (providers.get(d.name) ?? 0) + 1);
    for (const d of p.requires) {
      requires++;
      if (d.op) versioned++;
      if (d.name.startsWith('/')) fileDeps++;
      if (d.name.startsWith('(')) rich++;
    }
    conflicts += p.conflicts.length;
    obsoletes += p.obsoletes.length;
    weak += p.recommends.length + p.suggests.length + p.supplements.length;
  }
  const alternatives = [...providers.entries()].filter(([n, c]) => c > 1 && n.startsWith('virtual-')).length;
  return { packages: pool.length, names: names.size, provides, requires, versioned, fileDeps, rich, conflicts, obsoletes, weak, alternatives };
}

/** Runs one loadRepo in a child process (this file with --child) and returns its numbers. */
export function measureLoad(repo: string, cacheDir: string, filelists: boolean): LoadMeasure {
  const r = spawnSync(process.execPath, [__filename, '--child', repo, cacheDir, String(filelists)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`load failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as LoadMeasure;
}

async function child(repo: string, cacheDir: string, filelists: boolean): Promise<void> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const r = await loadRepo({ id: 'bench', baseurl: repo }, { cacheDir, filelists });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(c0);
  console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMb: process.resourceUsage().maxRSS / 1024, packages: r.packages.length }));
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  if (argv[0] === '--child') return child(argv[1], argv[2], argv[3] === 'true');
  const args = parseArgs(argv);
  const work = args.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'arbor-bench-rpmmd-'));
  const repo = path.join(work, 'repo');
  const cacheDir = path.join(work, 'mdcache');
  fs.rmSync(cacheDir, { recursive: true, force: true });
  try {
    let t = Date.now();
    const pool = generateRealisticPool(args.n, args.seed);
    const genMs = Date.now() - t;
    t = Date.now();
    writeSyntheticRepo(repo, pool, { compress: args.compress, level: 1 });
    const writeMs = Date.now() - t;
    const sizes = fs.readdirSync(path.join(repo, 'repodata')).map((f) => `${f.replace(/^[0-9a-f]+-/, '')} ${(fs.statSync(path.join(repo, 'repodata', f)).size / 2 ** 20).toFixed(1)} MB`);
    console.log(`pool: ${JSON.stringify(describePool(pool))}`);
    console.log(`generate ${genMs} ms, write repo ${writeMs} ms (${sizes.join(', ')})`);
    const rows: Array<[string, LoadMeasure]> = [
      ['primary, cold', measureLoad(repo, cacheDir, false)],
      ['primary, cached', measureLoad(repo, cacheDir, false)],
      ['primary+filelists, cold', measureLoad(repo, cacheDir, true)],
      ['primary+filelists, cached', measureLoad(repo, cacheDir, true)],
    ];
    console.log(`\n${'load'.padEnd(28)}${'time'.padStart(10)}${'CPU'.padStart(10)}${'peak RSS'.padStart(12)}${'packages'.padStart(10)}`);
    for (const [name, m] of rows) {
      console.log(`${name.padEnd(28)}${`${m.ms.toFixed(0)} ms`.padStart(10)}${`${m.cpuMs.toFixed(0)} ms`.padStart(10)}${`${m.rssMb.toFixed(0)} MB`.padStart(12)}${String(m.packages).padStart(10)}`);
    }
    console.log(`\nload average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
  } finally {
    if (!args.keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
