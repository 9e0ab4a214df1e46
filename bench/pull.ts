// Benchmark: `arbor repo pull` against `ostree pull` over loopback HTTP (nginx), from
// an archive repo holding a realistic commit (≥ 5,000 files of /usr/share) into empty
// archive and bare-user repos. Times whole processes, checks both fetched the same
// objects, prints the ratio (target ≤ 1.0) and CPU times.
// Usage: node dist/bench/pull.js [--runs N] [--mode archive|bare-user]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { scratch } from './scratch';

const TREES = ['/usr/share/doc', '/usr/share/perl', '/usr/share/zoneinfo'];
const TARGET = 1.0;

function findRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'bin/arbor.js'))) return d;
  }
  throw new Error(`cannot find bin/arbor.js above ${__dirname}`);
}
const ROOT = findRoot();
const ARBOR = path.join(ROOT, 'bin/arbor.js');

function run(cmd: string, args: string[]): { seconds: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.stdout}`);
  return { seconds, stdout: r.stdout };
}

interface Timing { seconds: number; cpu: number }

/** Like run(), also measuring the process's CPU time (user + system, threads included) with time(1). */
function timed(cmd: string, args: string[]): Timing {
  const out = path.join(os.tmpdir(), `arbor-bench-time-${process.pid}`);
  const r = run('/usr/bin/time', ['-f', '%U %S', '-o', out, cmd, ...args]);
  const [user, sys] = fs.readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  fs.rmSync(out, { force: true });
  return { seconds: r.seconds, cpu: user + sys };
}

/** A cheap fingerprint of the input trees (paths, sizes, mtimes): the cache key for the served repo. */
function fingerprint(trees: string[]): { hash: string; files: number; bytes: number } {
  const h = createHash('sha256');
  let files = 0;
  let bytes = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      h.update(`${p}\0${st.mode}\0${st.size}\0${st.mtimeMs}\n`);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) { files++; bytes += st.size; }
    }
  };
  for (const t of trees) walk(t);
  return { hash: h.digest('hex').slice(0, 16), files, bytes };
}

/** The served archive repo, committed by ostree once per input fingerprint and cached under .cache/. */
function servedRepo(): { repo: string; files: number; bytes: number } {
  const fp = fingerprint(TREES);
  const dir = path.join(ROOT, '.cache', `bench-pull-${fp.hash}`);
  const repo = path.join(dir, 'repo');
  if (!fs.existsSync(path.join(dir, 'done'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    console.log(`committing ${TREES.join(' ')} (${fp.files} files) into ${repo} (cached for later runs)…`);
    run('ostree', ['init', `--repo=${repo}`, '--mode=archive']);
    run('ostree', ['commit', `--repo=${repo}`, '-b', 'bench/x86_64', '--owner-uid=0', '--owner-gid=0', '--timestamp=@1', '-s', 'bench',
      ...TREES.map((t) => `--tree=dir=${t}`)]);
    run('ostree', ['summary', '-u', `--repo=${repo}`]);
    fs.writeFileSync(path.join(dir, 'done'), '');
  }
  return { repo, files: fp.files, bytes: fp.bytes };
}

function startNginx(root: string, prefix: string): { url: string; pid: number } {
  fs.mkdirSync(`${prefix}/logs`, { recursive: true });
  fs.mkdirSync(`${prefix}/tmp`, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    fs.writeFileSync(`${prefix}/nginx.conf`, [
      'daemon on;', 'worker_processes 1;', ...(process.getuid?.() === 0 ? ['user root root;'] : []), `pid ${prefix}/nginx.pid;`, `error_log ${prefix}/logs/error.log;`,
      'events { worker_connections 512; }', 'http {', '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/tmp/${t};`),
      '  sendfile on; tcp_nopush on; keepalive_requests 100000;',
      `  server { listen 127.0.0.1:${port}; root ${root}; }`, '}', '',
    ].join('\n'));
    const r = spawnSync('nginx', ['-p', prefix, '-c', `${prefix}/nginx.conf`], { encoding: 'utf8' });
    if (r.status === 0) return { url: `http://127.0.0.1:${port}/`, pid: Number(fs.readFileSync(`${prefix}/nginx.pid`, 'utf8')) };
    if (attempt > 5) throw new Error(`nginx did not start: ${r.stderr}`);
  }
}

function objectSet(repo: string): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(`${repo}/objects`)) {
    for (const f of fs.readdirSync(`${repo}/objects/${d}`)) out.push(`${d}${f.replace(/\.filez$/, '.file')}`);
  }
  return out.sort();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

type Tool = 'ostree' | 'arbor';

function pullOnce(t: Tool, mode: string, dst: string, url: string): Timing {
  if (t === 'ostree') {
    run('ostree', ['init', `--repo=${dst}`, `--mode=${mode}`]);
    run('ostree', ['remote', 'add', `--repo=${dst}`, '--no-gpg-verify', 'origin', url]);
    spawnSync('sync');
    return timed('ostree', ['pull', `--repo=${dst}`, 'origin', 'bench/x86_64']);
  }
  run(process.execPath, [ARBOR, 'repo', '--repo', dst, 'init', `--mode=${mode}`]);
  run(process.execPath, [ARBOR, 'remote', '--repo', dst, 'add', '--no-gpg-verify', 'origin', url]);
  spawnSync('sync');
  return timed(process.execPath, [ARBOR, 'repo', '--repo', dst, 'pull', 'origin', 'bench/x86_64']);
}

export function main(argv = process.argv.slice(2)): void {
  let runs = 3;
  let modes = ['archive', 'bare-user'];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) runs = Number(argv[++i]);
    else if (argv[i] === '--mode' && modes.includes(argv[i + 1] ?? '')) modes = [argv[++i]];
    else { console.error(`unknown argument '${argv[i]}'\nusage: pull.js [--runs N] [--mode archive|bare-user]`); process.exit(2); }
  }
  const served = servedRepo();
  const objects = fs.readdirSync(`${served.repo}/objects`).reduce((n, d) => n + fs.readdirSync(`${served.repo}/objects/${d}`).length, 0);
  console.log(`node ${process.version}, nproc ${os.availableParallelism()}, ${runs} run(s); served: ${served.files} files ` +
    `(${(served.bytes / 1e6).toFixed(0)} MB unpacked), ${objects} objects in ${served.repo}`);
  const space = scratch('pull', 8);
  const tmp = space.dir;
  console.log(`pulling into ${space.describe}`);
  const nginx = startNginx(served.repo, path.join(tmp, 'nginx'));
  const rows: string[] = [];
  let worst = 0;
  try {
    for (const mode of modes) {
      const times: Record<Tool, number[]> = { ostree: [], arbor: [] };
      const cpu: Record<Tool, number[]> = { ostree: [], arbor: [] };
      let same = true;
      for (let r = 0; r < runs; r++) {
        const order: Tool[] = r % 2 === 0 ? ['ostree', 'arbor'] : ['arbor', 'ostree'];
        const sets: Partial<Record<Tool, string[]>> = {};
        for (const t of order) {
          const dst = path.join(tmp, `${mode}-${t}-${r}`);
          const tm = pullOnce(t, mode, dst, nginx.url);
          times[t].push(tm.seconds);
          cpu[t].push(tm.cpu);
          sets[t] = objectSet(dst);
          fs.rmSync(dst, { recursive: true, force: true });
        }
        same &&= JSON.stringify(sets.ostree) === JSON.stringify(sets.arbor);
      }
      const ratio = median(times.arbor) / median(times.ostree);
      worst = Math.max(worst, ratio);
      rows.push(`pull → ${mode.padEnd(9)} ${median(times.ostree).toFixed(2).padStart(8)} ${median(times.arbor).toFixed(2).padStart(8)} ` +
        `${ratio.toFixed(2).padStart(6)}  ≤ ${TARGET.toFixed(1)}  ${ratio <= TARGET ? 'PASS' : 'FAIL'}  ${same ? 'same objects' : '*** OBJECT SETS DIFFER ***'}` +
        `  (ostree ${times.ostree.map((x) => x.toFixed(2)).join(' ')}; arbor ${times.arbor.map((x) => x.toFixed(2)).join(' ')})` +
        `  cpu s: ostree ${median(cpu.ostree).toFixed(2)}, arbor ${median(cpu.arbor).toFixed(2)}`);
    }
  } finally {
    try { process.kill(nginx.pid, 'SIGTERM'); } catch { /* gone */ }
    space.release();
  }
  console.log('');
  console.log(`${'step'.padEnd(18)} ${'ostree s'.padStart(8)} ${'arbor s'.padStart(8)} ${'ratio'.padStart(6)}  target`);
  for (const r of rows) console.log(r);
  if (worst > TARGET) process.exitCode = 1;
}

if (require.main === module) main();
