// A sysroot as libostree lays it out (`ostree admin`): which boot version is
// live, the deployments its BLS entries name (in boot order), the booted and the
// staged one. `Sysroot.load` reads it all; every write re-loads afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { ArborError, toArborError } from '../common/errors';
import { KeyFile } from '../common/keyfile';
import { native } from '../common/native';
import { decode } from '../gvariant';
import { Checksum, isChecksum } from '../ostree/checksum';
import { Repo } from '../ostree/repo';
import { metadataGet } from '../ostree/objects';
import { BootEntry, strverscmp } from './boot-entry';
import { Deployment, DeploymentRef, deploymentRelPath, parseDeploymentRef, sameDeployment } from './deployment';
import { KernelArgs } from './kargs';

export interface LoadOptions {
  /**
   * The deployment the running system booted, as `<os>:<commit>.<serial>`.
   * Nothing here boots into the sysroot it manages, so tests and installers name
   * it; default: the ARBOR_BOOTED environment variable, else none.
   */
  booted?: string | DeploymentRef | null;
  /** Where `ostree/staged-deployment` lives; default `<sysroot>/run`. */
  runDir?: string;
}

export const STAGED_FILE = 'ostree/staged-deployment';
export const STAGED_LOCK_FILE = 'ostree/staged-deployment-locked';

export class Sysroot {
  private repoCache: Repo | null = null;

  private constructor(
    readonly path: string,
    readonly runDir: string,
    readonly bootversion: number,
    readonly subbootversion: number,
    /** Boot order; a staged deployment comes first. */
    readonly deployments: Deployment[],
    readonly booted: Deployment | null,
    readonly staged: Deployment | null,
    private readonly loadOpts: LoadOptions,
  ) {}

  static load(sysrootPath: string, opts: LoadOptions = {}): Sysroot {
    const root = path.resolve(sysrootPath);
    if (!fs.existsSync(`${root}/ostree/repo/config`)) {
      throw new ArborError('NotFound', `${sysrootPath}: not a sysroot (no ostree/repo; run 'arbor admin --sysroot ${sysrootPath} init-fs')`);
    }
    const runDir = path.resolve(opts.runDir ?? `${root}/run`);
    try {
      const bootversion = readVersionLink(`${root}/boot/loader`, /^loader\.([01])$/);
      const subbootversion = readVersionLink(`${root}/ostree/boot.${bootversion}`, new RegExp(`^boot\\.${bootversion}\\.([01])$`));
      const deployments = readEntries(root, bootversion);
      const bootedRef = opts.booted !== undefined ? opts.booted : process.env.ARBOR_BOOTED || null;
      let booted: Deployment | null = null;
      if (bootedRef) {
        const ref = typeof bootedRef === 'string' ? parseDeploymentRef(bootedRef) : bootedRef;
        booted = deployments.find((d) => d.osname === ref.osname && d.csum === ref.csum && d.deployserial === ref.deployserial) ?? null;
        if (!booted) throw new ArborError('NotFound', `booted deployment ${ref.osname}:${ref.csum}.${ref.deployserial} is not among the sysroot's boot entries`);
      }
      const staged = readStaged(root, runDir, deployments);
      if (staged) deployments.unshift(staged);
      deployments.forEach((d, i) => { d.index = i; });
      return new Sysroot(root, runDir, bootversion, subbootversion, deployments, booted, staged, opts);
    } catch (e) {
      throw toArborError(e, `loading sysroot ${sysrootPath}`);
    }
  }

  /** The same sysroot read again from disk (after a write). */
  reload(): Sysroot {
    const booted = this.booted ? { osname: this.booted.osname, csum: this.booted.csum, deployserial: this.booted.deployserial } : null;
    return Sysroot.load(this.path, { ...this.loadOpts, booted, runDir: this.runDir });
  }

  get loadOptions(): LoadOptions {
    return this.loadOpts;
  }

  repo(): Repo {
    return (this.repoCache ??= Repo.open(`${this.path}/ostree/repo`));
  }

  deploymentDir(d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): string {
    return `${this.path}/${deploymentRelPath(d)}`;
  }

  originPath(d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): string {
    return `${this.deploymentDir(d)}.origin`;
  }

  get stagedFile(): string {
    return `${this.runDir}/${STAGED_FILE}`;
  }

  /** Stateroots: the directories under ostree/deploy. */
  osnames(): string[] {
    try {
      return fs.readdirSync(`${this.path}/ostree/deploy`).filter((n) => fs.statSync(`${this.path}/ostree/deploy/${n}`).isDirectory()).sort();
    } catch {
      return [];
    }
  }

  /** The deployments written to /boot (the staged one excluded). */
  get bootDeployments(): Deployment[] {
    return this.deployments.filter((d) => !d.staged);
  }

  /** Whose /etc a new deployment of `osname` inherits: the booted one, else the first of that stateroot. */
  mergeDeployment(osname: string): Deployment | null {
    if (this.booted && this.booted.osname === osname) return this.booted;
    return this.deployments.find((d) => d.osname === osname) ?? null;
  }

  /** As ostree_sysroot_query_deployments_for: the deployment before and after the booted one. */
  pendingAndRollback(osname?: string): { pending: Deployment | null; rollback: Deployment | null } {
    if (!this.booted) return { pending: null, rollback: null };
    const os = osname ?? this.booted.osname;
    let pending: Deployment | null = null;
    let rollback: Deployment | null = null;
    let seenBooted = false;
    for (const d of this.deployments) {
      if (sameDeployment(d, this.booted)) { seenBooted = true; continue; }
      if (d.osname !== os) continue;
      if (!seenBooted && !pending) pending = d;
      else if (seenBooted && !rollback) rollback = d;
    }
    return { pending, rollback };
  }

  /** The commit's `version` metadata, or null (also when the commit is gone). */
  commitVersion(csum: Checksum): string | null {
    try {
      const v = metadataGet<string>(this.repo().loadCommit(csum).metadata, 'version');
      return typeof v === 'string' ? v : null;
    } catch {
      return null;
    }
  }

  /**
   * Takes the sysroot lock (`ostree/lock`, as ostree does); throws Locked when it
   * is held. Like libostree (glnx lock files), the file is unlinked on release, so
   * after locking we check that the file we hold is still the one on disk.
   */
  lock(): () => void {
    const p = `${this.path}/ostree/lock`;
    for (;;) {
      const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      if (!native.flock(fd, true, false)) {
        fs.closeSync(fd);
        throw new ArborError('Locked', `${this.path}: another process is changing this sysroot (ostree/lock is held); try again when it finishes`);
      }
      const held = fs.fstatSync(fd);
      let onDisk: fs.Stats | null = null;
      try {
        onDisk = fs.statSync(p);
      } catch { /* unlinked by the previous holder */ }
      if (onDisk && onDisk.ino === held.ino && onDisk.dev === held.dev) {
        return () => {
          fs.rmSync(p, { force: true });
          native.funlock(fd);
          fs.closeSync(fd);
        };
      }
      native.funlock(fd);
      fs.closeSync(fd);
    }
  }
}

function readVersionLink(link: string, re: RegExp): number {
  let target: string;
  try {
    target = fs.readlinkSync(link);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  const m = re.exec(target);
  if (!m) throw new ArborError('Corrupted', `${link}: unexpected symlink target '${target}'`);
  return Number(m[1]);
}

function readEntries(root: string, bootversion: number): Deployment[] {
  const dir = `${root}/boot/loader.${bootversion}/entries`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const entries = names
    .filter((n) => n.startsWith('ostree-') && n.endsWith('.conf'))
    .map((n) => ({ name: n, entry: BootEntry.parse(fs.readFileSync(`${dir}/${n}`, 'utf8'), `${dir}/${n}`) }));
  // Highest BLS version first: index 0 is the default.
  entries.sort((a, b) => {
    const va = a.entry.get('version');
    const vb = b.entry.get('version');
    if (va !== undefined && vb !== undefined) return -strverscmp(va, vb);
    return va !== undefined ? -1 : 1;
  });
  return entries.map(({ name, entry }, index) => deploymentFromEntry(root, bootversion, `${dir}/${name}`, entry, index));
}

function deploymentFromEntry(root: string, bootversion: number, file: string, entry: BootEntry, index: number): Deployment {
  const options = entry.get('options') ?? '';
  const ostreeArg = KernelArgs.parse(options).values('ostree')[0];
  if (!ostreeArg) throw new ArborError('Corrupted', `${file}: the options line has no ostree= argument`);
  const m = /^\/ostree\/boot\.([01])\/([^/]+)\/([0-9a-f]{64})\/(\d+)$/.exec(ostreeArg);
  if (!m || Number(m[1]) !== bootversion) throw new ArborError('Corrupted', `${file}: ostree=${ostreeArg} is not /ostree/boot.${bootversion}/OS/BOOTCSUM/SERIAL`);
  const [, , osname, bootcsum, bootserial] = m;
  const link = `${root}${ostreeArg}`;
  let target: string;
  try {
    target = fs.readlinkSync(link);
  } catch (e) {
    throw new ArborError('Corrupted', `${file}: boot link ${link} is missing (${(e as Error).message})`);
  }
  const t = /^\.\.\/\.\.\/\.\.\/deploy\/([^/]+)\/deploy\/([0-9a-f]{64})\.(\d+)$/.exec(target);
  if (!t || t[1] !== osname || !isChecksum(t[2])) throw new ArborError('Corrupted', `${link}: unexpected target '${target}'`);
  const d: Deployment = {
    index, osname, csum: t[2], deployserial: Number(t[3]), bootcsum, bootserial: Number(bootserial), options,
    origin: null, staged: false, bootVersion: entry.get('version'),
  };
  if (!fs.existsSync(`${root}/${deploymentRelPath(d)}`)) throw new ArborError('Corrupted', `${file}: deployment ${deploymentRelPath(d)} does not exist`);
  d.origin = readOrigin(`${root}/${deploymentRelPath(d)}.origin`);
  return d;
}

export function readOrigin(p: string): KeyFile | null {
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    return KeyFile.parse(text, p);
  } catch (e) {
    throw new ArborError('Corrupted', (e as Error).message);
  }
}

type Vardict = Array<[string, { type: string; value: unknown }]>;

function lookup<T>(dict: Vardict, key: string): T | undefined {
  return dict.find(([k]) => k === key)?.[1].value as T | undefined;
}

/** The staged deployment from `<run>/ostree/staged-deployment`, or null. */
function readStaged(root: string, runDir: string, deployments: Deployment[]): Deployment | null {
  const file = `${runDir}/${STAGED_FILE}`;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const state = decodeStagedState(bytes, file);
  const t = state.target;
  const d: Deployment = {
    index: 0, osname: t.osname, csum: t.csum, deployserial: t.deployserial, bootcsum: t.bootcsum, bootserial: -1,
    options: '', origin: null, staged: true,
  };
  // Already in the boot entries: finalization was cut short after the swap; the file is stale.
  if (deployments.some((x) => sameDeployment(x, d))) return null;
  const m = state.merge;
  const merge = m ? deployments.find((x) => x.osname === m.osname && x.csum === m.csum && x.deployserial === m.deployserial) : undefined;
  d.options = state.kargs ? state.kargs.join(' ') : merge?.options ?? '';
  if (!fs.existsSync(`${root}/${deploymentRelPath(d)}`)) throw new ArborError('Corrupted', `${file}: staged deployment ${deploymentRelPath(d)} does not exist`);
  d.origin = readOrigin(`${root}/${deploymentRelPath(d)}.origin`);
  return d;
}

export interface StagedTarget { osname: string; csum: Checksum; deployserial: number; bootcsum: string }
export interface StagedState { target: StagedTarget; merge: StagedTarget | null; kargs: string[] | null; overlayInitrds: string[] | null }

export function decodeStagedState(bytes: Uint8Array, file: string): StagedState {
  let dict: Vardict;
  try {
    dict = decode<Vardict>('a{sv}', bytes);
  } catch (e) {
    throw new ArborError('Corrupted', `${file}: not a GVariant a{sv} (${(e as Error).message})`);
  }
  const target = (key: string): StagedTarget | null => {
    const v = lookup<Vardict>(dict, key);
    if (!v) return null;
    const name = lookup<string>(v, 'name') ?? '';
    const m = /^([0-9a-f]{64})\.(\d+)$/.exec(name);
    const osname = lookup<string>(v, 'osname');
    if (!m || !osname) throw new ArborError('Corrupted', `${file}: ${key} has no valid name/osname`);
    return { osname, csum: m[1] as Checksum, deployserial: Number(m[2]), bootcsum: lookup<string>(v, 'bootcsum') ?? '' };
  };
  const t = target('target');
  if (!t) throw new ArborError('Corrupted', `${file}: no target deployment`);
  return { target: t, merge: target('merge-deployment'), kargs: lookup<string[]>(dict, 'kargs') ?? null, overlayInitrds: lookup<string[]>(dict, 'overlay-initrds') ?? null };
}
