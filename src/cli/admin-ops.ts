// `arbor admin upgrade|check|rebase|deploy-rev` on a sysroot path, without the
// daemon: the client use cases of src/ops run in-process, rendered as rpm-ostree
// renders them. (`arbor admin deploy REFSPEC` stays the ostree-style deploy of
// any ref or commit; `deploy-rev` is rpm-ostree's deploy of a version or commit
// of the origin's ref.)
import type { CommandModule } from 'yargs';
import { ProgressEvent, formatBytes } from '../common/progress';
import { Sysroot } from '../sysroot';
import type { CheckResult } from '../ops';
import type { CommitInfo } from '../ops/base';
import type { PackageDiff } from '../ops/package-diff';

// The use cases pull in pull, HTTP and the rpmdb: loaded when one of these commands
// runs, not for every `arbor admin` command (status, deploy…).
const ops = (): typeof import('../ops') => require('../ops');

// Shared with admin.ts (which loads this module anyway).
export type Args = { sysroot: string } & Record<string, unknown>;

export function out(s: string): void {
  process.stdout.write(s.endsWith('\n') || s === '' ? s : s + '\n');
}

export function load(a: Args): Sysroot {
  return Sysroot.load(a.sysroot, { booted: a.booted as string | undefined, runDir: a['run-dir'] as string | undefined });
}

export function progress(e: ProgressEvent): void {
  if (e.message && process.env.ARBOR_VERBOSE) process.stderr.write(`${e.phase}: ${e.message}\n`);
}

function commitLine(label: string, c: CommitInfo): string {
  return `${label}: ${c.version ?? '(no version)'} (${new Date(c.timestamp * 1000).toISOString().replace(/\.\d+Z$/, 'Z')})\n  Commit: ${c.checksum}`;
}

function diffText(d: PackageDiff | null): string {
  return d ? ops().renderPackageDiff(d, '  ') : '  (no package lists to compare)\n';
}

export function renderCheck(r: CheckResult, preview: boolean): string {
  if (!r.available) return `No updates available (${r.refspec} is at ${r.to.checksum}).\n`;
  let s = `${commitLine('AvailableUpdate', r.to)}\n  Refspec: ${r.refspec}\n`;
  if (r.downgrade) s += '  Note: this commit is older than the current one; upgrade needs --allow-downgrade\n';
  const d = r.download;
  if (d) {
    s += d.exact
      ? `  Download: ${formatBytes(d.bytes)} in ${d.objects} objects\n`
      : `  Download: ~${formatBytes(d.bytes)} in ${d.objects} objects (estimate${d.unsizedObjects ? `; ${d.unsizedObjects} of unknown size` : ''})\n`;
  }
  const pd = r.packageDiff;
  if (pd) {
    s += `  Diff: ${pd.upgraded.length} upgraded, ${pd.downgraded.length} downgraded, ${pd.removed.length} removed, ${pd.added.length} added\n`;
    if (preview) s += diffText(pd);
  }
  return s;
}

export const upgradeCommand: CommandModule<{ sysroot: string }, Args> = {
  command: 'upgrade',
  describe: "pull the origin ref and deploy its new commit (rpm-ostree upgrade)",
  builder: (y) => y
    .option('os', { type: 'string', describe: 'stateroot (default: the booted one)' })
    .option('check', { type: 'boolean', describe: 'only say whether an update is available (commit metadata only)' })
    .option('preview', { type: 'boolean', describe: 'like --check, and list the package changes' })
    .option('stage', { type: 'boolean', describe: 'stage the new deployment; the boot entries change at finalize-staged' })
    .option('allow-downgrade', { type: 'boolean', describe: 'accept a commit older than the current one' })
    .option('download-only', { type: 'boolean', describe: 'pull, but do not deploy' })
    .option('unchanged-exit-77', { type: 'boolean', describe: 'exit with 77 when there is no update' }),
  handler: async (a) => {
    const s = load(a);
    if (a.check || a.preview) {
      const r = await ops().check(s, { osname: a.os as string | undefined, progress });
      out(renderCheck(r, !!a.preview));
      if (!r.available && a['unchanged-exit-77']) process.exitCode = 77;
      return;
    }
    const r = await ops().upgrade(s, {
      osname: a.os as string | undefined, stage: !!a.stage, allowDowngrade: !!a['allow-downgrade'], downloadOnly: !!a['download-only'], progress,
    });
    if (!r.changed) {
      out('No upgrade available.');
      if (a['unchanged-exit-77']) process.exitCode = 77;
      return;
    }
    out(`Fetched ${formatBytes(r.bytesFetched)} in ${r.objectsFetched} objects`);
    out(`${commitLine('From', r.from)}\n${commitLine('To', r.to)}`);
    out(diffText(r.packageDiff));
    if (a['download-only']) out('Downloaded; not deployed (--download-only).');
    else if (r.staged) out(`Staged deployment ${r.deployment!.csum}.${r.deployment!.deployserial}; it becomes the default at finalize-staged (shutdown).`);
    else out(`Deployed ${r.deployment!.csum}.${r.deployment!.deployserial}; reboot to use it.`);
  },
};

export const checkCommand: CommandModule<{ sysroot: string }, Args> = {
  command: 'check',
  describe: 'is there an update on the origin ref? (same as upgrade --preview)',
  builder: (y) => y
    .option('os', { type: 'string', describe: 'stateroot (default: the booted one)' })
    .option('json', { type: 'boolean', describe: 'machine-readable output' }),
  handler: async (a) => {
    const r = await ops().check(load(a), { osname: a.os as string | undefined, progress });
    out(a.json ? JSON.stringify(r, null, 2) : renderCheck(r, true));
  },
};

export const rebaseCommand: CommandModule<{ sysroot: string }, Args> = {
  command: 'rebase <refspec> [revision]',
  describe: 'switch the origin to another REMOTE:REF (or REF, or REMOTE:), pull and deploy it',
  builder: (y) => y
    .positional('refspec', { type: 'string', describe: 'REMOTE:REF, REF (same remote) or REMOTE: (same ref)' })
    .positional('revision', { type: 'string', describe: 'a version or commit on that ref instead of its tip' })
    .option('os', { type: 'string', describe: 'stateroot (default: the booted one)' })
    .option('stage', { type: 'boolean', describe: 'stage the new deployment' })
    .option('skip-purge', { type: 'boolean', describe: 'keep the previous ref in the repo' }),
  handler: async (a) => {
    const r = await ops().rebase(load(a), {
      osname: a.os as string | undefined, refspec: String(a.refspec), revision: a.revision as string | undefined,
      stage: !!a.stage, skipPurge: !!a['skip-purge'], progress,
    });
    out(`Rebased ${r.fromRefspec} -> ${r.toRefspec}`);
    out(`${commitLine('From', r.from)}\n${commitLine('To', r.to)}`);
    out(diffText(r.packageDiff));
    if (r.purgedRef) out(`Deleted ref ${r.purgedRef}`);
    out(r.staged ? `Staged deployment ${r.deployment.csum}.${r.deployment.deployserial}` : `Deployed ${r.deployment.csum}.${r.deployment.deployserial}; reboot to use it.`);
  },
};

export const deployRevCommand: CommandModule<{ sysroot: string }, Args> = {
  command: 'deploy-rev <revision>',
  describe: "deploy a version or commit of the origin's ref (rpm-ostree deploy)",
  builder: (y) => y
    .positional('revision', { type: 'string', describe: 'VERSION, version=VERSION, CHECKSUM or revision=CHECKSUM' })
    .option('os', { type: 'string', describe: 'stateroot (default: the booted one)' })
    .option('stage', { type: 'boolean', describe: 'stage the new deployment' }),
  handler: async (a) => {
    const r = await ops().deployRevision(load(a), { osname: a.os as string | undefined, revision: String(a.revision), stage: !!a.stage, progress });
    if (!r.changed) {
      out(`Already on ${r.to.checksum}; nothing to deploy.`);
      return;
    }
    out(`${commitLine('From', r.from)}\n${commitLine('To', r.to)}`);
    out(diffText(r.packageDiff));
    out(r.staged ? `Staged deployment ${r.deployment!.csum}.${r.deployment!.deployserial}` : `Deployed ${r.deployment!.csum}.${r.deployment!.deployserial}; reboot to use it.`);
  },
};

export const opsCommands = [upgradeCommand, checkCommand, rebaseCommand, deployRevCommand];
