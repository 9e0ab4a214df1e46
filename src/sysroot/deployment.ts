// The typed host model: one `Deployment` per checked-out tree, as the sysroot
// lists them. status --json, the CLI and later the D-Bus properties all render
// this one model (cf. bootc's host status).
import { ArborError } from '../common/errors';
import { KeyFile } from '../common/keyfile';
import { Checksum } from '../ostree/checksum';

export interface Deployment {
  /** Position in boot order: 0 is the default (or the staged one, listed first). */
  index: number;
  osname: string;
  csum: Checksum;
  deployserial: number;
  /** sha256 of the kernel and initramfs; names /boot/ostree/<os>-<bootcsum>. */
  bootcsum: string;
  /** Counts deployments sharing a bootcsum; -1 until the deployment is written to /boot. */
  bootserial: number;
  /** The BLS `options` line as written (with its ostree= argument), or the kargs a staged deployment will get. */
  options: string;
  /** The `.origin` keyfile; null when the file is missing. */
  origin: KeyFile | null;
  staged: boolean;
  /** BLS `version` of the entry, when loaded from one. */
  bootVersion?: string;
}

export function deploymentId(d: Pick<Deployment, 'csum' | 'deployserial'>): string {
  return `${d.csum}.${d.deployserial}`;
}

export function sameDeployment(a: Deployment | null | undefined, b: Deployment | null | undefined): boolean {
  return !!a && !!b && a.osname === b.osname && a.csum === b.csum && a.deployserial === b.deployserial;
}

export function isPinned(d: Deployment): boolean {
  if (!d.origin) return false;
  try {
    return d.origin.getBoolean('libostree-transient', 'pinned', false);
  } catch {
    return false;
  }
}

export function originRefspec(d: Deployment): string | null {
  return d.origin?.get('origin', 'refspec') ?? null;
}

/** `/ostree/deploy/<os>/deploy/<commit>.<serial>`, relative to the sysroot. */
export function deploymentRelPath(d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): string {
  return `ostree/deploy/${d.osname}/deploy/${deploymentId(d)}`;
}

/** What a booted (or simulated booted) deployment is named by: `<os>:<commit>.<serial>`. */
export interface DeploymentRef { osname: string; csum: string; deployserial: number }

export function parseDeploymentRef(s: string, what = 'booted deployment'): DeploymentRef {
  const m = /^([^:/]+):([0-9a-f]{64})\.(\d+)$/.exec(s);
  if (!m) {
    throw new ArborError('InvalidArgument', `${what}: '${s}' is not OSNAME:COMMIT.SERIAL`);
  }
  return { osname: m[1], csum: m[2], deployserial: Number(m[3]) };
}
