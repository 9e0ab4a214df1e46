// Benchmark of the RPM reader: header + file-list parsing throughput, and payload
// extraction against `rpm2cpio X | cpio -idm` over the same corpus. Run after a build:
//   node dist/bench/rpm-read.js [--rounds N]
// The corpus (about 30 packages, cached under .cache/fixtures) is cut from this host's
// own /usr trees, so it holds real binaries, scripts, docs, hardlinks and symlinks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readRpm, RpmPackage } from '../src/rpm/package';
import { extractRpm } from '../src/rpm/extract';
import { FixtureFile, PackageSpec, buildRpms } from '../test/fixtures/rpmbuild';

// Names rpm's %files takes literally (no globs, macros or quotes to escape).
const PLAIN = /^[A-Za-z0-9._+\-/@,=:~]+$/;

interface Source { dir: string; maxBytes: number; maxFiles: number; compression: PackageSpec['compression']; level: number }

// Levels as distributions build: Fedora uses zstd 19 (w19.zstdio), older Fedora and
// RHEL xz 2 (w2.xzdio); decompression speed hardly depends on the level.
const SOURCES: Source[] = [
  { dir: '/usr/lib/python3.11', maxBytes: 6 << 20, maxFiles: 600, compression: 'zstd', level: 19 },
  { dir: '/usr/share/doc', maxBytes: 4 << 20, maxFiles: 700, compression: 'xz', level: 2 },
  { dir: '/usr/share/zoneinfo', maxBytes: 8 << 20, maxFiles: 2000, compression: 'zstd', level: 19 },
  { dir: '/usr/bin', maxBytes: 12 << 20, maxFiles: 120, compression: 'zstd', level: 19 },
  { dir: '/usr/lib/x86_64-linux-gnu/perl', maxBytes: 8 << 20, maxFiles: 400, compression: 'xz', level: 2 },
  { dir: '/usr/share/vim', maxBytes: 8 << 20, maxFiles: 800, compression: 'gzip', level: 9 },
  { dir: '/usr/include', maxBytes: 6 << 20, maxFiles: 900, compression: 'zstd', level: 19 },
];
const PER_SOURCE = 5;
const MAX_PACKAGES = 32;

/** Cuts a host tree into package specs of bounded size; same-inode files become hardlink sets. */
export function corpusSpecs(): PackageSpec[] {
  const specs: PackageSpec[] = [];
  for (const src of SOURCES) {
    if (!fs.existsSync(src.dir)) continue;
    const limit = Math.min(MAX_PACKAGES, specs.length + PER_SOURCE);
    let files: FixtureFile[] = [];
    let bytes = 0;
    let inodes = new Map<number, string>();
    const flush = (): void => {
      if (!files.length || specs.length >= limit) return;
      const n = specs.length;
      specs.push({
        name: `corpus-${path.basename(src.dir)}-${n}`,
        version: '1.0',
        arch: 'x86_64',
        compression: src.compression,
        compressionLevel: src.level,
        files,
      });
      files = [];
      bytes = 0;
      inodes = new Map();
    };
    const walk = (dir: string): void => {
      let names: string[];
      try {
        names = fs.readdirSync(dir).sort();
      } catch {
        return;
      }
      for (const name of names) {
        const p = path.join(dir, name);
        if (!PLAIN.test(p)) continue;
        const st = fs.lstatSync(p);
        if (st.isDirectory()) {
          walk(p);
          continue;
        }
        const pathInPkg = `/opt/corpus${p}`;
        if (st.isSymbolicLink()) {
          const t = fs.readlinkSync(p);
          if (PLAIN.test(t)) files.push({ path: pathInPkg, symlink: t });
        } else if (st.isFile() && st.size < 8 << 20) {
          try {
            fs.accessSync(p, fs.constants.R_OK);
          } catch {
            continue;
          }
          const first = inodes.get(st.ino);
          if (first) files.push({ path: pathInPkg, hardlinkOf: first, mode: st.mode & 0o777 });
          else {
            inodes.set(st.ino, pathInPkg);
            files.push({ path: pathInPkg, copyFrom: p, mode: st.mode & 0o777 });
            bytes += st.size;
          }
        }
        if (bytes >= src.maxBytes || files.length >= src.maxFiles) flush();
        if (specs.length >= limit) return;
      }
    };
    walk(src.dir);
    flush();
  }
  return specs;
}

function time<T>(f: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const r = f();
  return [r, Number(process.hrtime.bigint() - t) / 1e6];
}

async function timeAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await f();
  return [r, Number(process.hrtime.bigint() - t) / 1e6];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function main(): Promise<void> {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;
  const specs = corpusSpecs();
  const [files, buildMs] = await timeAsync(() => buildRpms(specs));
  const totalBytes = files.reduce((a, f) => a + fs.statSync(f).size, 0);
  const pkgs: RpmPackage[] = [];
  for (const f of files) pkgs.push(await readRpm(f));
  const entries = pkgs.reduce((a, p) => a + p.files().length, 0);
  const unpacked = pkgs.reduce((a, p) => a + (p.meta().installedSize ?? 0), 0);
  const byComp: Record<string, number> = {};
  for (const p of pkgs) {
    const c = p.payloadInfo().compressor;
    byComp[c] = (byComp[c] ?? 0) + 1;
  }
  console.log(`corpus: ${files.length} packages from ${SOURCES.map((s) => s.dir).join(', ')}`);
  console.log(`        ${(totalBytes / 1e6).toFixed(1)} MB of RPMs, ${(unpacked / 1e6).toFixed(1)} MB unpacked, ${entries} files; payloads ${JSON.stringify(byComp)}; built/cached in ${(buildMs / 1000).toFixed(1)} s`);

  // 1. Header + file list parsing: readRpm (digests verified) + files() + meta().
  const headerBytes = pkgs.reduce((a, p) => a + (p.payloadOffset - p.headerOffset), 0);
  const parseTimes: number[] = [];
  for (let r = 0; r < rounds * 3; r++) {
    const [, ms] = await timeAsync(async () => {
      for (const f of files) {
        const p = await readRpm(f);
        p.files();
        p.meta();
      }
    });
    parseTimes.push(ms);
  }
  const pms = median(parseTimes);
  console.log(`parse:  ${(files.length / (pms / 1000)).toFixed(0)} packages/s, ${(headerBytes / 1e6 / (pms / 1000)).toFixed(1)} MB/s of headers (${(headerBytes / 1e6).toFixed(2)} MB), ${((entries / pms) * 1000).toFixed(0)} file entries/s — median of ${parseTimes.length}: ${pms.toFixed(0)} ms`);

  // 2. Extraction of the whole corpus, ours vs rpm2cpio | cpio -idm, alternating.
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'arbor-bench-rpm-'));
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    const runOurs = async (dir: string): Promise<number> => {
      const [, ms] = await timeAsync(async () => {
        for (const p of pkgs) await extractRpm(p, dir);
      });
      return ms;
    };
    const runCpio = (dir: string): number =>
      time(() => {
        for (const f of files) {
          const res = spawnSync('sh', ['-c', `rpm2cpio '${f}' | cpio -idm --quiet --no-absolute-filenames`], { cwd: dir });
          if (res.status !== 0) throw new Error(`cpio failed on ${f}: ${res.stderr}`);
        }
      })[1];
    for (let r = 0; r < rounds; r++) {
      const a = path.join(base, `ours-${r}`);
      const b = path.join(base, `cpio-${r}`);
      fs.mkdirSync(a);
      fs.mkdirSync(b);
      // Flush earlier writes first, and alternate who goes first: neither pays for the other's writeback.
      const order = r % 2 === 0 ? ['ours', 'cpio'] : ['cpio', 'ours'];
      for (const who of order) {
        spawnSync('sync');
        if (who === 'ours') ours.push(await runOurs(a));
        else theirs.push(runCpio(b));
      }
      fs.rmSync(a, { recursive: true, force: true });
      fs.rmSync(b, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  const a = median(ours);
  const b = median(theirs);
  console.log(`extract: arbor ${a.toFixed(0)} ms (${(unpacked / 1e6 / (a / 1000)).toFixed(0)} MB/s), rpm2cpio|cpio -idm ${b.toFixed(0)} ms; ratio ${(a / b).toFixed(2)}x (target <= 1.2x); rounds: arbor ${ours.map((x) => x.toFixed(0)).join('/')} cpio ${theirs.map((x) => x.toFixed(0)).join('/')}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
