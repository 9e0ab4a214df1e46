// `arbor remote …`: the remotes of a repository, stored in its config as ostree does.
import type { Argv, CommandModule } from 'yargs';

const commands: CommandModule[] = [];

export const remoteCommand: CommandModule = {
  command: 'remote <command>',
  describe: 'remotes of a repository: add, list, delete, show-url',
  builder: (y: Argv) => {
    for (const c of commands) y = y.command(c);
    return y.demandCommand(1, 'name a remote command; see arbor remote --help');
  },
  handler: () => undefined,
};
