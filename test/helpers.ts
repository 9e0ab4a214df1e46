// Shared test plumbing: temp dirs that clean up, running the CLI and real tools.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, SpawnSyncOptions } from 'node:child_process';

/** The project root, from dist/test/ or test/. */
export const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
export const VECTORS = path.resolve(ROOT, '../shared/reference/ostree-vectors');

/** A fresh temp dir, removed after the current mocha suite when registered with cleanup(). */
export function tmpdir(prefix = 'arbor-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Temp dirs made through the returned function are removed by the enclosing suite's after hook. */
export function tempDirs(): (prefix?: string) => string {
  const made: string[] = [];
  after(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return (prefix = 'arbor-test-') => {
    const d = tmpdir(prefix);
    made.push(d);
    return d;
  };
}

export interface RunResult { status: number; stdout: string; stderr: string }

/** Runs a command; throws with its output when it fails, unless allowFail. */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions & { allowFail?: boolean } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  if (r.error) throw r.error;
  const res = { status: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  if (res.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}\n${res.stderr}${res.stdout}`);
  }
  return res;
}

/** Runs the compiled arbor CLI. */
export function arbor(args: string[], opts: SpawnSyncOptions & { allowFail?: boolean } = {}): RunResult {
  return run(process.execPath, [path.join(ROOT, 'bin/arbor.js'), ...args], opts);
}

export function ostree(args: string[], opts: SpawnSyncOptions & { allowFail?: boolean } = {}): RunResult {
  return run('ostree', args, opts);
}

/** The small tree of the golden vectors (see ostree-vectors/README.md). */
export function makeVectorTree(dir: string): string {
  fs.mkdirSync(`${dir}/sub`, { recursive: true });
  fs.writeFileSync(`${dir}/hello.txt`, 'hello world\n');
  fs.writeFileSync(`${dir}/sub/a.txt`, 'A\n');
  fs.symlinkSync('hello.txt', `${dir}/link`);
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(`${dir}/sub`, 0o755);
  fs.chmodSync(`${dir}/hello.txt`, 0o644);
  fs.chmodSync(`${dir}/sub/a.txt`, 0o644);
  run('setfattr', ['-n', 'user.test', '-v', 'xyz', `${dir}/sub/a.txt`]);
  return dir;
}

export const VECTOR_COMMIT = '826368e897a3abd05d80e749818919512c9f5f46c5f85c9305b36c2f10e8baf6';
