// Benchmark: `arbor rpm solve` against `dnf install --assumeno` on one generated
// 50,000-package rpm-md repo and a 500-package request, whole processes timed in the
// same run, both from a cold metadata cache (and Arbor warm too). Also checks that both
// resolve the same set (through dnf's Python API, untimed). Not a test.
// Usage: node dist/bench/solve.js [--packages N] [--request N] [--runs N] [--seed S]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { generateRealisticPool, writeSyntheticRepo } from '../test/fixtures/synthetic-repo';
import { dnfOracle } from '../test/rpm/solve-helpers';
import { PackageMeta } from '../src/rpm/types';

function findRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) if (fs.existsSync(path.join(d, 'bin/arbor.js'))) return d;
  throw new Error(`cannot find bin/arbor.js above ${__dirname}`);
}

function args(argv: string[]): { packages: number; request: number; runs: number; seed: number } {
  const o = { packages: 50000, request: 500, runs: 1, seed: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '') as keyof typeof o;
    if (!(k in o) || !/^\d+$/.test(argv[i + 1] ?? '')) {
      console.error('usage: solve.js [--packages N] [--request N] [--runs N] [--seed S]');
      process.exit(2);
    }
    o[k] = Number(argv[i + 1]);
  }
  return o;
}

/**
 * Runs a command under /usr/bin/time: wall seconds, and CPU seconds (user+sys), which
 * tell more than wall time on a machine shared with other jobs.
 */
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env, okStatus = [0]): { seconds: number; cpu: number; stdout: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', cmd, ...argv], { encoding: 'utf8', env, maxBuffer: 256 << 20 });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (!okStatus.includes(r.status ?? -1)) throw new Error(`${cmd} exited ${r.status}:\n${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { seconds, cpu: m ? Number(m[1]) + Number(m[2]) : NaN, stdout: r.stdout };
}

/** A request of `n` names spread over the pool: newest builds of main packages, a few -devel. */
function pickRequest(pool: PackageMeta[], n: number, seed: number): string[] {
  const names = [...new Set(pool.filter((p) => p.arch !== 'i686').map((p) => p.name))].sort();
  let a = seed * 2654435761;
  const out = new Set<string>();
  while (out.size < n) {
    a = (a * 1103515245 + 12345) >>> 0;
    out.add(names[a % names.length]);
  }
  return [...out];
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const o = args(argv);
  const root = findRoot();
  const arborBin = path.join(root, 'bin/arbor.js');
  const repo = path.join(root, '.cache', `bench-solve-${o.packages}-${o.seed}`);
  const t0 = Date.now();
  const pool = generateRealisticPool(o.packages, o.seed);
  if (!fs.existsSync(path.join(repo, 'repodata/repomd.xml'))) {
    fs.mkdirSync(repo, { recursive: true });
    writeSyntheticRepo(repo, pool, { level: 1 });
  }
  console.log(`repo: ${pool.length} packages at ${repo} (${((Date.now() - t0) / 1000).toFixed(1)} s to generate)`);

  // A request dnf can satisfy: drop names until the oracle agrees it resolves.
  let request = pickRequest(pool, o.request, o.seed);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'arbor-bench-solve-'));
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      const [r] = dnfOracle([{ repos: [{ id: 'bench', dir: repo }], install: request }]);
      if (r.ok) break;
      const bad = request.filter((n) => r.error?.includes(n));
      if (!bad.length) throw new Error(`dnf cannot resolve the request: ${r.error?.slice(0, 500)}`);
      request = request.filter((n) => !bad.includes(n));
    }
    const [oracle] = dnfOracle([{ repos: [{ id: 'bench', dir: repo }], install: request }]);
    console.log(`request: ${request.length} specs → dnf installs ${oracle.packages.length} packages`);

    const rows: Array<{ name: string; seconds: number[]; cpu: number[] }> = [
      { name: 'dnf install --assumeno (cold)', seconds: [], cpu: [] },
      { name: 'arbor rpm solve (cold cache)', seconds: [], cpu: [] },
      { name: 'arbor rpm solve (warm cache)', seconds: [], cpu: [] },
    ];
    let arborSet: string[] = [];
    for (let run = 0; run < o.runs; run++) {
      const dnfRoot = path.join(work, `dnf-root-${run}`);
      // --assumeno exits 1 ("Operation aborted") after resolving: that is the measured work.
      const dnf = timed('dnf', [
        `--installroot=${dnfRoot}`, '--releasever=1', `--repofrompath=bench,file://${repo}`, '--repo=bench', '--nogpgcheck',
        '--setopt=reposdir=/dev/null', `--setopt=cachedir=${path.join(dnfRoot, 'cache')}`, '--assumeno', 'install', ...request,
      ], { ...process.env, HOME: work }, [0, 1]);
      if (!/Transaction Summary/.test(dnf.stdout)) throw new Error(`dnf failed:\n${dnf.stdout.slice(-2000)}`);
      rows[0].seconds.push(dnf.seconds);
      rows[0].cpu.push(dnf.cpu);

      const cache = path.join(work, `arbor-cache-${run}`);
      const cold = timed(process.execPath, [arborBin, 'rpm', 'solve', '--repo', repo, '--cache-dir', cache, ...request]);
      rows[1].seconds.push(cold.seconds);
      rows[1].cpu.push(cold.cpu);
      const warm = timed(process.execPath, [arborBin, 'rpm', 'solve', '--repo', repo, '--cache-dir', cache, ...request]);
      rows[2].seconds.push(warm.seconds);
      rows[2].cpu.push(warm.cpu);
      arborSet = cold.stdout.trim().split('\n');
    }
    const dnfSet = oracle.packages.map((p) => p.nevra);
    const only = (a: string[], b: string[]): string[] => a.filter((x) => !b.includes(x));
    const same = only(arborSet, dnfSet).length === 0 && only(dnfSet, arborSet).length === 0;
    console.log(`same set as dnf: ${same ? 'yes' : `no (+${only(arborSet, dnfSet).length} -${only(dnfSet, arborSet).length}: ${only(arborSet, dnfSet).slice(0, 5).join(', ')} / ${only(dnfSet, arborSet).slice(0, 5).join(', ')})`} (${arborSet.length} vs ${dnfSet.length})`);
    const best = (r: { seconds: number[] }): number => Math.min(...r.seconds);
    const bestCpu = (r: { cpu: number[] }): number => Math.min(...r.cpu);
    for (const r of rows) {
      console.log(`${r.name.padEnd(34)} ${best(r).toFixed(2).padStart(7)} s wall  ${bestCpu(r).toFixed(2).padStart(6)} s CPU   (wall runs: ${r.seconds.map((s) => s.toFixed(2)).join(', ')}; CPU runs: ${r.cpu.map((s) => s.toFixed(2)).join(', ')})`);
    }
    console.log(`load average now: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs (wall times stretch under load)`);
    const ratio = best(rows[1]) / best(rows[0]);
    console.log(`ratio arbor cold / dnf cold: ${ratio.toFixed(2)} (target ≤ 0.50) ${ratio <= 0.5 ? 'OK' : 'MISSED'}`);
    console.log(`ratio arbor warm / dnf cold: ${(best(rows[2]) / best(rows[0])).toFixed(2)}`);
    console.log(`CPU ratio arbor cold / dnf cold: ${(bestCpu(rows[1]) / bestCpu(rows[0])).toFixed(2)}, warm: ${(bestCpu(rows[2]) / bestCpu(rows[0])).toFixed(2)}`);
    if (o.runs > 1) {
      // Each run times dnf and Arbor back to back, so per-run ratios cancel most of the drift in machine load.
      const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
      const per = (i: number, key: 'seconds' | 'cpu'): number[] => rows[i][key].map((v, run) => v / rows[0][key][run]);
      console.log(`median per-run ratio, cold: ${median(per(1, 'seconds')).toFixed(2)} wall, ${median(per(1, 'cpu')).toFixed(2)} CPU; warm: ${median(per(2, 'seconds')).toFixed(2)} wall, ${median(per(2, 'cpu')).toFixed(2)} CPU`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
