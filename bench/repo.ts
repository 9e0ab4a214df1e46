// Benchmark: Arbor's `repo` CLI against the real `ostree` CLI, same input, same run.
// Times whole processes (startup included: what a user waits for), checks that both
// tools write the same commit checksum, and prints a table of ratios against targets.
// Usage: node dist/bench/repo.js [--tree DIR | --quick] [--runs N] [--cold]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { scratch } from './scratch';

const USAGE = 'usage: repo.js [--tree DIR | --quick] [--runs N] [--cold]';

type Tool = 'ostree' | 'arbor';
interface Step { name: string; target: number; argv: (tool: Tool, dir: string) => string[]; commit?: boolean }
interface Timed { seconds: number; stdout: string }

function findRoot(): string {
  // Works both from bench/repo.ts (tsx) and from dist/bench/repo.js (tsc).
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'bin/arbor.js'))) return d;
  }
  throw new Error(`cannot find bin/arbor.js above ${__dirname}`);
}
const ARBOR = path.join(findRoot(), 'bin/arbor.js');

function parseArgs(argv: string[]): { tree: string; runs: number; cold: boolean } {
  let tree = '/usr/share', runs = 1, cold = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') tree = '/usr/share/doc';
    else if (a === '--cold') cold = true;
    else if (a === '--tree' && argv[i + 1]) tree = path.resolve(argv[++i]);
    else if (a === '--runs' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) runs = Number(argv[++i]);
    else { console.error(`unknown or incomplete argument '${a}'\n${USAGE}`); process.exit(2); }
  }
  if (!fs.statSync(tree, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`--tree: '${tree}' is not a directory`);
    process.exit(2);
  }
  return { tree, runs, cold };
}

/**
 * Counts the input and lists the directories to skip: those holding what OSTree cannot
 * commit (devices, fifos, sockets). ostree 2022.7 rejects such a file before it consults
 * the skip list, so the list must name its directory (as with /dev), not the file.
 */
function scanTree(root: string): { files: number; symlinks: number; dirs: number; bytes: number; special: string[] } {
  const s = { files: 0, symlinks: 0, dirs: 1, bytes: 0, special: [] as string[] };
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) { s.dirs++; walk(r); }
      else if (e.isSymbolicLink()) s.symlinks++;
      else if (e.isFile()) { s.files++; s.bytes += fs.lstatSync(path.join(root, r)).size; }
      else if (!s.special.includes(rel || r)) s.special.push(rel || r);
    }
  };
  walk('');
  // ostree also rejects a skip-list entry it never meets, as under a skipped directory.
  s.special = s.special.filter((d) => !s.special.some((p) => d.startsWith(p + '/')));
  return s;
}

function run(cmd: string, args: string[]): Timed {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}):\n${r.stderr}`);
  }
  return { seconds, stdout: r.stdout };
}

/** Runs one tool's command: `ostree SUB --repo=R …` or `node bin/arbor.js repo --repo R SUB …`. */
function tool(t: Tool, repo: string, sub: string, args: string[]): Timed {
  return t === 'ostree'
    ? run('ostree', [sub, `--repo=${repo}`, ...args])
    : run(process.execPath, [ARBOR, 'repo', '--repo', repo, sub, ...args]);
}

function settle(cold: boolean): void {
  spawnSync('sync');
  if (cold) fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(): void {
  const { tree, runs, cold } = parseArgs(process.argv.slice(2));
  const input = scanTree(tree);
  const ostreeVersion = /Version: '([^']+)'/.exec(run('ostree', ['--version']).stdout)?.[1] ?? '?';
  console.log(`node ${process.version}, ostree ${ostreeVersion}, nproc ${os.availableParallelism()}, ${runs} run(s)${cold ? ', cold caches' : ''}`);
  console.log(`input ${tree}: ${input.files} files, ${input.symlinks} symlinks, ${input.dirs} dirs, ` +
    `${(input.bytes / 1e6).toFixed(1)} MB${input.special.length ? `; skipping ${input.special.join(' ')} (device nodes etc.)` : ''}`);

  const space = scratch('repo', 16);
  const tmp = space.dir;
  console.log(`writing to ${space.describe}`);
  const skipList = path.join(tmp, 'skip-list');
  fs.writeFileSync(skipList, input.special.map((p) => p + '\n').join(''));
  const commitArgs = (t: Tool): string[] => [
    '--owner-uid=0', '--owner-gid=0', '--timestamp=@1', '-b', 'bench',
    ...(input.special.length ? (t === 'ostree' ? [`--skip-list=${skipList}`] : ['--skip-list', skipList]) : []),
    tree,
  ];
  const steps: Step[] = [
    { name: 'commit bare-user', target: 1.0, commit: true, argv: (t) => ['commit', 'bare-user', ...commitArgs(t)] },
    { name: 'commit archive', target: 0.7, commit: true, argv: (t) => ['commit', 'archive', ...commitArgs(t)] },
    { name: 'checkout -U -H', target: 1.2, argv: (_t, d) => ['checkout', 'bare-user', '-U', '-H', 'bench', path.join(d, 'co')] },
    { name: 'fsck archive', target: 1.0, argv: () => ['fsck', 'archive'] },
    { name: 'fsck bare-user', target: 1.0, argv: () => ['fsck', 'bare-user'] },
  ];

  const times = new Map<string, Record<Tool, number[]>>(steps.map((s) => [s.name, { ostree: [], arbor: [] }]));
  const checksums = new Map<string, string>(); // step → line to print, first mismatch wins
  const errors: string[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      const dirs = {} as Record<Tool, string>;
      for (const t of ['ostree', 'arbor'] as Tool[]) {
        dirs[t] = path.join(tmp, `run${r}`, t);
        fs.mkdirSync(dirs[t], { recursive: true });
        for (const mode of ['bare-user', 'archive']) tool(t, path.join(dirs[t], mode), 'init', [`--mode=${mode}`]);
      }
      steps.forEach((step, k) => {
        // Alternate who goes first, by step and by run, so neither tool always finds warm caches.
        const order: Tool[] = (k + r) % 2 === 0 ? ['ostree', 'arbor'] : ['arbor', 'ostree'];
        const out: Partial<Record<Tool, string>> = {};
        for (const t of order) {
          const [sub, mode, ...args] = step.argv(t, dirs[t]);
          settle(cold);
          try {
            const res = tool(t, path.join(dirs[t], mode), sub, args);
            times.get(step.name)![t].push(res.seconds);
            out[t] = res.stdout.trim();
          } catch (e) {
            errors.push(`run ${r + 1}, ${step.name}, ${t}: ${(e as Error).message.trim()}`);
          }
        }
        if (step.commit && !checksums.get(step.name)?.includes('MISMATCH')) {
          checksums.set(step.name, out.ostree && out.ostree === out.arbor
            ? `same commit ${out.ostree}`
            : `*** COMMIT CHECKSUM MISMATCH (run ${r + 1}) *** ostree ${out.ostree ?? '-'} arbor ${out.arbor ?? '-'}`);
        }
      });
    }
  } finally {
    space.release();
  }

  const fmt = (xs: number[]): string => (xs.length ? median(xs).toFixed(2) : 'error');
  console.log('');
  console.log(`${'step'.padEnd(18)} ${'ostree s'.padStart(9)} ${'arbor s'.padStart(9)} ${'ratio'.padStart(6)} ${'target'.padStart(7)}  result`);
  for (const s of steps) {
    const t = times.get(s.name)!;
    const ok = t.ostree.length === runs && t.arbor.length === runs;
    const ratio = ok ? median(t.arbor) / median(t.ostree) : NaN;
    const verdict = !ok ? 'ERROR' : ratio <= s.target ? 'PASS' : 'FAIL';
    console.log(`${s.name.padEnd(18)} ${fmt(t.ostree).padStart(9)} ${fmt(t.arbor).padStart(9)} ` +
      `${(ok ? ratio.toFixed(2) : '-').padStart(6)} ${('≤ ' + s.target.toFixed(1)).padStart(7)}  ${verdict}` +
      `  (ostree ${t.ostree.map((x) => x.toFixed(2)).join(' ')}; arbor ${t.arbor.map((x) => x.toFixed(2)).join(' ')})`);
  }
  console.log('');
  for (const [name, line] of checksums) console.log(`${name}: ${line}`);
  for (const e of errors) console.log(`*** ERROR ${e}`);
  // /usr/share is live (apt runs beside us): a tree that changed mid-run also breaks the checksums.
  const after = scanTree(tree);
  if (after.files !== input.files || after.bytes !== input.bytes || after.dirs !== input.dirs) {
    console.log(`*** WARNING: ${tree} changed during the run (now ${after.files} files, ${after.bytes} bytes)`);
  }
}

if (require.main === module) main();
