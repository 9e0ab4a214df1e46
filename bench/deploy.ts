// Benchmark: `arbor admin deploy` against `ostree admin deploy` on twin tmpfs
// sysroots holding the same realistic commit (/usr/share/doc plus a fake kernel
// under usr/lib/modules, ≥ 5,000 files). Times whole processes, first deploy and
// an upgrade-style second deploy (with /etc merge and cleanup), and prints ratios.
// Usage: node dist/bench/deploy.js [--tree DIR] [--runs N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

function findRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'bin/arbor.js'))) return d;
  }
  throw new Error(`cannot find bin/arbor.js above ${__dirname}`);
}
const ARBOR = path.join(findRoot(), 'bin/arbor.js');

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function timed(cmd: string, args: string[]): number {
  const t = process.hrtime.bigint();
  sh(cmd, args);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function countFiles(dir: string): number {
  return Number(sh('sh', ['-c', `find '${dir}' -type f | wc -l`]).trim());
}

function buildTree(dir: string, doc: string): void {
  fs.mkdirSync(`${dir}/usr/share`, { recursive: true });
  sh('cp', ['-a', doc, `${dir}/usr/share/doc`]);
  const kdir = `${dir}/usr/lib/modules/6.1.0-bench`;
  fs.mkdirSync(kdir, { recursive: true });
  fs.writeFileSync(`${kdir}/vmlinuz`, Buffer.alloc(8 << 20, 1));
  fs.writeFileSync(`${kdir}/initramfs.img`, Buffer.alloc(16 << 20, 2));
  fs.writeFileSync(`${dir}/usr/lib/os-release`, 'NAME=Bench\nPRETTY_NAME="Bench OS"\n');
  fs.mkdirSync(`${dir}/usr/etc/conf.d`, { recursive: true });
  for (let i = 0; i < 200; i++) fs.writeFileSync(`${dir}/usr/etc/conf.d/c${i}.conf`, `setting=${i}\n`);
  // Top up to at least 5,000 files with small module-like files.
  const have = countFiles(dir);
  for (let i = 0; i < Math.max(0, 5200 - have); i++) {
    const d = `${kdir}/kernel/drivers/d${i % 40}`;
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(`${d}/m${i}.ko`, `module ${i}\n`.repeat(20));
  }
  fs.mkdirSync(`${dir}/var`, { recursive: true });
}

function main(): void {
  let doc = '/usr/share/doc';
  let runs = 3;
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--tree' && argv[i + 1]) doc = path.resolve(argv[++i]);
    else if (argv[i] === '--runs' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) runs = Number(argv[++i]);
    else { console.error('usage: deploy.js [--tree DIR] [--runs N]'); process.exit(2); }
  }
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'arbor-bench-deploy-'));
  sh('mount', ['-t', 'tmpfs', '-o', 'size=2g', 'arbor-test', mnt]);
  try {
    const tree = `${mnt}/tree`;
    buildTree(tree, doc);
    const files = countFiles(tree);
    const results: Record<'first' | 'second', { arbor: number[]; ostree: number[] }> = { first: { arbor: [], ostree: [] }, second: { arbor: [], ostree: [] } };
    for (let r = 0; r < runs; r++) {
      for (const tool of (r % 2 ? ['ostree', 'arbor'] : ['arbor', 'ostree']) as Array<'arbor' | 'ostree'>) {
        const S = `${mnt}/${tool}-${r}`;
        fs.mkdirSync(S);
        if (tool === 'arbor') {
          sh(process.execPath, [ARBOR, 'admin', '--sysroot', S, 'init-fs']);
          sh(process.execPath, [ARBOR, 'admin', '--sysroot', S, 'os-init', 'bench']);
        } else {
          sh('ostree', ['admin', 'init-fs', S]);
          sh('ostree', ['admin', `--sysroot=${S}`, 'os-init', 'bench']);
        }
        sh('ostree', [`--repo=${S}/ostree/repo`, 'commit', '-b', 'bench/os', `--tree=dir=${tree}`, '--owner-uid=0', '--owner-gid=0', '--timestamp=2024-01-01T00:00:00Z', '--add-metadata-string=version=1']);
        const deployArgs = (): [string, string[]] => tool === 'arbor'
          ? [process.execPath, [ARBOR, 'admin', '--sysroot', S, 'deploy', '--os=bench', '--karg=root=LABEL=root', 'bench/os']]
          : ['ostree', ['admin', `--sysroot=${S}`, 'deploy', '--os=bench', '--karg=root=LABEL=root', 'bench/os']];
        results.first[tool].push(timed(...deployArgs()));
        results.second[tool].push(timed(...deployArgs()));
        spawnSync('chattr', ['-R', '-i', S], { stdio: 'ignore' });
        fs.rmSync(S, { recursive: true, force: true });
      }
    }
    console.log(`deploy of a ${files}-file commit (${doc} + fake kernel), tmpfs sysroots, median of ${runs} runs, whole processes`);
    console.log('step                         ostree s   arbor s   ratio  target');
    for (const step of ['first', 'second'] as const) {
      const o = median(results[step].ostree);
      const a = median(results[step].arbor);
      const label = step === 'first' ? 'first deploy' : 'second deploy (merge+cleanup)';
      console.log(`${label.padEnd(29)}${o.toFixed(3).padStart(8)}${a.toFixed(3).padStart(10)}${(a / o).toFixed(2).padStart(7)}x  <= 1.0x`);
    }
  } finally {
    spawnSync('chattr', ['-R', '-i', mnt], { stdio: 'ignore' });
    spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
}

if (require.main === module) main();
