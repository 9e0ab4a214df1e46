// `arbor rpm …`: inspect RPM files and resolve package sets (local work, no daemon).
import type { Argv, CommandModule } from 'yargs';
import { contentsCommand, infoCommand } from './rpm-file';
import { solveCommand } from './rpm-solve';

// Each subcommand is a CommandModule; rpm-file, repo and solver work add theirs here.
const commands: CommandModule[] = [infoCommand as CommandModule, contentsCommand as CommandModule, solveCommand as unknown as CommandModule];

export const rpmCommand: CommandModule = {
  command: 'rpm <command>',
  describe: 'RPM packages: inspect files, resolve package sets',
  builder: (y: Argv) => {
    for (const c of commands) y = y.command(c);
    return y.demandCommand(1, 'name an rpm command; see arbor rpm --help');
  },
  handler: () => undefined,
};
