// `init-fs` and `os-init`: an empty sysroot (top-level directories and a bare
// repo under ostree/repo) and a stateroot (ostree/deploy/<os>/{deploy,var}), laid
// out as `ostree admin` does so either tool can take over.
import fs from 'node:fs';
import { ArborError, toArborError } from '../common/errors';
import { fsyncDir } from '../common/atomic-write';
import { Repo } from '../ostree/repo';

export interface InitFsOptions {
  /** Only boot and ostree (ostree's --modern): no /dev, /proc… placeholders. */
  modern?: boolean;
}

export function initFs(root: string, opts: InitFsOptions = {}): void {
  try {
    fs.mkdirSync(root, { recursive: true });
    const dirs: Array<[string, number]> = opts.modern
      ? [['boot', 0o755]]
      : [['boot', 0o755], ['dev', 0o755], ['home', 0o755], ['proc', 0o755], ['run', 0o755], ['sys', 0o755], ['root', 0o700], ['tmp', 0o1777]];
    for (const [d, mode] of dirs) {
      if (!fs.existsSync(`${root}/${d}`)) {
        fs.mkdirSync(`${root}/${d}`, { mode });
        if (mode & 0o1000) fs.chmodSync(`${root}/${d}`, mode);
      }
    }
    fs.mkdirSync(`${root}/ostree/deploy`, { recursive: true, mode: 0o755 });
    if (!fs.existsSync(`${root}/ostree/repo/config`)) Repo.init(`${root}/ostree/repo`, 'bare');
    fsyncDir(`${root}/ostree`);
    fsyncDir(root);
  } catch (e) {
    throw toArborError(e, `init-fs ${root}`);
  }
}

const OSNAME_RE = /^[A-Za-z0-9_][-A-Za-z0-9_.]*$/;

export function validateOsname(osname: string): string {
  if (!OSNAME_RE.test(osname)) throw new ArborError('InvalidArgument', `stateroot name '${osname}' is invalid (letters, digits, '-', '_', '.'; not starting with '-' or '.')`);
  return osname;
}

export function osInit(root: string, osname: string): void {
  validateOsname(osname);
  if (!fs.existsSync(`${root}/ostree/deploy`)) throw new ArborError('NotFound', `${root}: not a sysroot (no ostree/deploy; run init-fs first)`);
  const base = `${root}/ostree/deploy/${osname}`;
  try {
    fs.mkdirSync(base, { mode: 0o777 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ArborError('Exists', `stateroot '${osname}' already exists in ${root}`);
    throw toArborError(e, `os-init ${osname}`);
  }
  try {
    fs.mkdirSync(`${base}/var`, { mode: 0o777 });
    fs.mkdirSync(`${base}/var/tmp`, { mode: 0o1777 });
    fs.chmodSync(`${base}/var/tmp`, 0o1777);
    fs.mkdirSync(`${base}/var/lib`, { mode: 0o777 });
    fs.mkdirSync(`${base}/var/log`, { mode: 0o755 });
    fs.symlinkSync('../run', `${base}/var/run`);
    fs.symlinkSync('../run/lock', `${base}/var/lock`);
    fsyncDir(`${base}/var`);
    fsyncDir(base);
    fsyncDir(`${root}/ostree/deploy`);
  } catch (e) {
    throw toArborError(e, `os-init ${osname}`);
  }
}
