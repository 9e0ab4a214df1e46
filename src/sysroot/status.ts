// The status model (one record per deployment, with booted / staged / pending /
// rollback marks, version, origin, pin) and its two renderings: JSON, and the
// text `ostree admin status` prints.
import { metadataGet } from '../ostree/objects';
import { Deployment, deploymentId, isPinned, originRefspec, sameDeployment } from './deployment';
import { Sysroot } from './sysroot';

export interface DeploymentStatus {
  index: number;
  osname: string;
  checksum: string;
  deployserial: number;
  id: string;
  booted: boolean;
  staged: boolean;
  pending: boolean;
  rollback: boolean;
  pinned: boolean;
  version: string | null;
  /** Commit time, Unix seconds; null when the commit is not in the repo. */
  timestamp: number | null;
  sourceTitle: string | null;
  origin: { refspec: string | null } | null;
  kargs: string;
  bootcsum: string;
  bootserial: number;
  path: string;
}

export interface SysrootStatus {
  path: string;
  bootversion: number;
  subbootversion: number;
  deployments: DeploymentStatus[];
}

export function sysrootStatus(s: Sysroot): SysrootStatus {
  const { pending, rollback } = s.pendingAndRollback();
  return {
    path: s.path,
    bootversion: s.bootversion,
    subbootversion: s.subbootversion,
    deployments: s.deployments.map((d) => deploymentStatus(s, d, sameDeployment(d, pending), sameDeployment(d, rollback))),
  };
}

function deploymentStatus(s: Sysroot, d: Deployment, pending: boolean, rollback: boolean): DeploymentStatus {
  let version: string | null = null;
  let timestamp: number | null = null;
  let sourceTitle: string | null = null;
  try {
    const c = s.repo().loadCommit(d.csum);
    const v = metadataGet(c.metadata, 'version');
    const t = metadataGet(c.metadata, 'ostree.source-title');
    version = typeof v === 'string' ? v : null;
    sourceTitle = typeof t === 'string' ? t : null;
    timestamp = c.timestamp;
  } catch { /* commit pruned or missing: show what the entry says */ }
  return {
    index: d.index, osname: d.osname, checksum: d.csum, deployserial: d.deployserial, id: deploymentId(d),
    booted: sameDeployment(d, s.booted), staged: d.staged, pending, rollback, pinned: isPinned(d),
    version, timestamp, sourceTitle, origin: d.origin ? { refspec: originRefspec(d) } : null,
    kargs: d.options, bootcsum: d.bootcsum, bootserial: d.bootserial, path: s.deploymentDir(d),
  };
}

/** The text of `ostree admin status` (2022.7). */
export function renderStatus(st: SysrootStatus): string {
  if (!st.deployments.length) return 'No deployments.\n';
  let out = '';
  for (const d of st.deployments) {
    const mark = d.staged ? ' (staged)' : d.pending ? ' (pending)' : d.rollback ? ' (rollback)' : '';
    out += `${d.booted ? '*' : ' '} ${d.osname} ${d.id}${mark}\n`;
    if (d.version) out += `    Version: ${d.version}\n`;
    if (d.pinned) out += '    Pinned: yes\n';
    if (!d.origin) out += '    origin: none\n';
    else {
      out += d.origin.refspec ? `    origin refspec: ${d.origin.refspec}\n` : '    origin: <unknown origin type>\n';
      if (d.sourceTitle) out += `    \`- ${d.sourceTitle}\n`;
    }
  }
  return out;
}
