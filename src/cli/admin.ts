// `arbor admin --sysroot PATH …`: deployments on any sysroot path, without the
// daemon (as `ostree admin --sysroot` works); installers and tests use it. Flag
// names follow `ostree admin` where the meaning is the same.
import type { Argv, CommandModule } from 'yargs';
import { ArborError } from '../common/errors';
import {
  cleanup, configDiff, deploy, finalizeStaged, initFs, osInit, pin, renderConfigDiff, renderStatus,
  rollback, setKargs, sysrootStatus, undeploy,
} from '../sysroot';
import { KeyFile } from '../common/keyfile';
import fs from 'node:fs';
import { Args, load, opsCommands, out, progress } from './admin-ops';

function list(v: unknown): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

function index(v: unknown, what: string): number {
  const s = String(v);
  if (!/^\d+$/.test(s)) throw new ArborError('InvalidArgument', `${what}: '${s}' is not a deployment index (0, 1, …)`);
  return Number(s);
}

const commands: Array<CommandModule<{ sysroot: string }, Args>> = [
  {
    command: 'init-fs [path]',
    describe: 'create an empty sysroot (boot, ostree/repo, ostree/deploy …)',
    builder: (y) => y
      .positional('path', { type: 'string', describe: 'sysroot to create (default: --sysroot)' })
      .option('modern', { type: 'boolean', describe: 'only boot and ostree, no /dev, /proc … placeholders' }),
    handler: (a) => initFs((a.path as string | undefined) ?? a.sysroot, { modern: !!a.modern }),
  },
  {
    command: 'os-init <osname>',
    describe: 'create a stateroot (ostree/deploy/OSNAME with its /var)',
    handler: (a) => osInit(a.sysroot, String(a.osname)),
  },
  {
    command: 'deploy <refspec>',
    describe: 'check out a commit as a new deployment and make it the default',
    builder: (y) => y
      .positional('refspec', { type: 'string', describe: 'ref, remote:ref or commit checksum in the sysroot repo' })
      .option('os', { type: 'string', describe: 'stateroot (default: the booted one)' })
      .option('origin-file', { type: 'string', describe: 'use this file as the origin instead of [origin] refspec=REFSPEC' })
      .option('karg', { type: 'string', describe: 'set a kernel argument KEY=VALUE, replacing the merge deployment\'s' })
      .option('karg-append', { type: 'string', describe: 'append a kernel argument' })
      .option('karg-none', { type: 'boolean', describe: 'start from no kernel arguments instead of the merge deployment\'s' })
      .option('stage', { type: 'boolean', describe: 'write the deployment; change boot entries only at finalize-staged' })
      .option('retain', { type: 'boolean', describe: 'keep all existing deployments' })
      .option('retain-pending', { type: 'boolean', describe: 'keep deployments newer than the booted one' })
      .option('retain-rollback', { type: 'boolean', describe: 'keep deployments older than the booted one' })
      .option('not-as-default', { type: 'boolean', describe: 'add the deployment after the booted one, not first' })
      .option('prune', { type: 'boolean', default: true, describe: 'clean up and prune the repo afterwards (--no-prune skips it)' }),
    handler: async (a) => {
      const s = load(a);
      let origin: KeyFile | undefined;
      if (a['origin-file']) {
        const f = String(a['origin-file']);
        try {
          origin = KeyFile.parse(fs.readFileSync(f, 'utf8'), f);
        } catch (e) {
          throw new ArborError('InvalidArgument', `--origin-file: ${(e as Error).message}`);
        }
      }
      const before = s.bootDeployments.length;
      const r = await deploy(s, {
        osname: a.os as string | undefined,
        revision: String(a.refspec),
        origin,
        kargs: { replace: list(a.karg), append: list(a['karg-append']), none: !!a['karg-none'] },
        stage: !!a.stage,
        retain: !!a.retain,
        retainPending: !!a['retain-pending'],
        retainRollback: !!a['retain-rollback'],
        notAsDefault: !!a['not-as-default'],
        noCleanup: a.prune === false,
      }, { progress: progress });
      if (r.etcChanges) out(`Copying /etc changes: ${r.etcChanges.modified.length} modified, ${r.etcChanges.removed.length} removed, ${r.etcChanges.added.length} added`);
      if (a.stage) out(`Staged deployment ${r.deployment.csum}.${r.deployment.deployserial}; it becomes the default at finalize-staged`);
      else out(`Bootloader updated; bootversion: boot.${r.sysroot.bootversion}.${r.sysroot.subbootversion}, deployment count change: ${r.sysroot.bootDeployments.length - before}`);
    },
  },
  {
    command: 'finalize-staged',
    describe: 'write the staged deployment to the boot entries (run at shutdown)',
    handler: async (a) => {
      const r = await finalizeStaged(load(a));
      if (r.outcome === 'locked') out('Not finalizing; found staged-deployment-locked');
      else if (r.outcome === 'nothing-staged') out('No staged deployment');
    },
  },
  {
    command: 'undeploy <index>',
    describe: 'remove deployment INDEX (see status)',
    handler: async (a) => {
      const r = await undeploy(load(a), index(a.index, 'undeploy'));
      out(`Deleted deployment ${r.removed.csum}.${r.removed.deployserial}`);
    },
  },
  {
    command: 'pin <index>',
    describe: 'keep deployment INDEX from automatic removal',
    builder: (y) => y.option('unpin', { alias: 'u', type: 'boolean', describe: 'remove the pin instead' }),
    handler: async (a) => {
      const i = index(a.index, 'pin');
      await pin(load(a), i, !a.unpin);
      out(`Deployment ${i} is now ${a.unpin ? 'unpinned' : 'pinned'}`);
    },
  },
  {
    command: 'rollback',
    describe: 'make the previous deployment the default',
    handler: async (a) => {
      const r = await rollback(load(a));
      out(`Moving '${r.target.csum}.${r.target.deployserial}' to be first deployment`);
    },
  },
  {
    command: 'cleanup',
    describe: 'delete unreferenced deployments, boot files and repo objects',
    handler: (a) => {
      const s = load(a);
      const unlock = s.lock();
      try {
        const r = cleanup(s.reload());
        for (const d of r.deletedDeployments) out(`Deleted deployment ${d}`);
        if (r.prunedObjects) out(`Freed objects: ${r.bytesFreed} bytes`);
      } finally {
        unlock();
      }
    },
  },
  {
    command: 'kargs',
    describe: 'show or edit the kernel arguments of a deployment',
    builder: (y) => y
      .option('deployment', { type: 'number', describe: 'deployment index (default: the booted one, else 0)' })
      .option('append', { type: 'string', describe: 'append KEY[=VALUE]' })
      .option('replace', { type: 'string', describe: 'KEY=VALUE or KEY=OLD=NEW' })
      .option('delete', { type: 'string', describe: 'KEY or KEY=VALUE' })
      .option('append-if-missing', { type: 'string', describe: 'append unless KEY is set' })
      .option('delete-if-present', { type: 'string', describe: 'delete when set' }),
    handler: async (a) => {
      const s = load(a);
      const i = a.deployment !== undefined ? index(a.deployment, '--deployment') : s.booted ? s.booted.index : 0;
      if (!s.deployments[i]) throw new ArborError('NotFound', `no deployment with index ${i}`);
      const edit = {
        append: list(a.append), replace: list(a.replace), delete: list(a.delete),
        appendIfMissing: list(a['append-if-missing']), deleteIfPresent: list(a['delete-if-present']),
      };
      if (!Object.values(edit).some((v) => v.length)) {
        out(s.deployments[i].options);
        return;
      }
      const r = await setKargs(s, i, edit);
      out(r.kargs);
    },
  },
  {
    command: 'status',
    describe: 'list deployments',
    builder: (y) => y.option('json', { type: 'boolean', describe: 'machine-readable output' }),
    handler: (a) => {
      const st = sysrootStatus(load(a));
      out(a.json ? JSON.stringify(st, null, 2) : renderStatus(st));
    },
  },
  {
    command: 'config-diff',
    describe: "changes of the merge deployment's /etc against its defaults",
    builder: (y) => y.option('os', { type: 'string', describe: 'stateroot (default: the booted one)' }),
    handler: (a) => {
      out(renderConfigDiff(configDiff(load(a), a.os as string | undefined)));
    },
  },
  ...opsCommands,
];

export const adminCommand: CommandModule = {
  command: 'admin <command>',
  describe: 'deployments on a sysroot: deploy, upgrade, rollback, status',
  builder: (y: Argv) => {
    y = y
      .option('sysroot', { type: 'string', default: '/', describe: 'path to the system root' })
      .option('booted', { type: 'string', describe: 'treat OS:COMMIT.SERIAL as the booted deployment (default: $ARBOR_BOOTED)' })
      .option('run-dir', { type: 'string', describe: 'where ostree/staged-deployment lives (default: SYSROOT/run)' });
    for (const c of commands) y = y.command(c as unknown as CommandModule);
    return y.demandCommand(1, 'name an admin command; see arbor admin --help');
  },
  handler: () => undefined,
};
