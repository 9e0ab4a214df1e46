// `arbor admin --sysroot PATH …`: deployments on any sysroot path, without the
// daemon (as `ostree admin --sysroot` works); installers and tests use it.
import type { Argv, CommandModule } from 'yargs';

const commands: CommandModule[] = [];

export const adminCommand: CommandModule = {
  command: 'admin <command>',
  describe: 'deployments on a sysroot: deploy, upgrade, rollback, status',
  builder: (y: Argv) => {
    y = y.option('sysroot', { type: 'string', default: '/', describe: 'path to the system root' });
    for (const c of commands) y = y.command(c);
    return y.demandCommand(1, 'name an admin command; see arbor admin --help');
  },
  handler: () => undefined,
};
