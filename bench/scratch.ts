// Where benchmarks write: a fresh, journaled ext4 filesystem in a loop-mounted image.
//
// This host's root filesystem is ext4 *without* a journal. In that mode the kernel
// will not reuse an inode freed less than 60 s ago (300 s while its table block is
// dirty): every file creation in a block group scans past all recently freed inodes
// (recently_deleted() in fs/ext4/ialloc.c; perf shows half of open(O_CREAT) there).
// Creating 3,000 files takes 0.05 s in a quiet directory and 0.6–1.4 s after a large
// delete, so a benchmark that deletes a 50,000-file repo measures mostly that scan,
// paid by whichever tool happens to run next. Installers create journaled
// filesystems; so does this, once per benchmark process, so both tools start equal.
//
// ARBOR_BENCH_DIR=DIR runs in DIR instead (no image); without root or loop devices the
// benchmark falls back to the temp directory and says so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

export interface Scratch {
  /** An empty directory to work in. */
  dir: string;
  /** One line for the report: what filesystem the numbers come from. */
  describe: string;
  /** Unmounts and removes everything. */
  release(): void;
}

function sh(cmd: string, args: string[]): { ok: boolean; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() };
}

/** `sizeGiB` is the image's (sparse) size: room for everything the benchmark writes at once. */
export function scratch(name: string, sizeGiB: number): Scratch {
  const given = process.env.ARBOR_BENCH_DIR;
  if (given) {
    const dir = fs.mkdtempSync(path.join(given, `arbor-bench-${name}-`));
    return { dir, describe: `${given} (ARBOR_BENCH_DIR)`, release: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `arbor-bench-${name}-`));
  const image = `${base}.img`;
  const mnt = path.join(base, 'mnt');
  const fallback = (why: string): Scratch => {
    fs.rmSync(image, { force: true });
    console.log(`*** note: writing to ${base} on the root filesystem (${why}); see bench/scratch.ts on why numbers there vary`);
    return { dir: base, describe: `${os.tmpdir()} (root filesystem)`, release: () => fs.rmSync(base, { recursive: true, force: true }) };
  };
  if (process.getuid?.() !== 0) return fallback('a loop mount needs root');
  fs.mkdirSync(mnt);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, sizeGiB * 1024 ** 3);
  const mkfs = sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
  if (!mkfs.ok) return fallback(`mkfs.ext4 failed: ${mkfs.err}`);
  // Direct I/O from the loop device to its image: otherwise what `sync` flushes lands in
  // the host's page cache and is written back while the next tool runs.
  const loop = spawnSync('losetup', ['--find', '--show', '--direct-io=on', image], { encoding: 'utf8' });
  const dev = loop.status === 0 ? loop.stdout.trim() : '';
  if (!dev) return fallback(`losetup failed: ${loop.stderr}`);
  const mount = sh('mount', [dev, mnt]);
  if (!mount.ok) {
    sh('losetup', ['-d', dev]);
    return fallback(`mounting ${dev} failed: ${mount.err}`);
  }
  return {
    dir: mnt,
    describe: `a fresh ${sizeGiB} GiB journaled ext4 image (${dev}, direct I/O)`,
    release: () => {
      spawnSync('chattr', ['-R', '-i', mnt], { stdio: 'ignore' });
      const u = sh('umount', [mnt]);
      if (!u.ok) return console.log(`*** could not unmount ${mnt} (${u.err}); remove it, ${dev} and ${image} by hand`);
      sh('losetup', ['-d', dev]);
      fs.rmSync(image, { force: true });
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
