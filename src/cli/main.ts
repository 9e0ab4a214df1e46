// The `arbor` command line. Each command group lives in its own module; this file
// wires them into yargs and turns errors into one clear line and an exit status.
import fs from 'node:fs';
import path from 'node:path';
import yargs, { Argv, CommandModule } from 'yargs';
import { ArborError, ERROR_TABLE } from '../common/errors';

// Command groups are loaded only when invoked: each pulls in its whole layer, and a
// CLI that loads every layer at start-up pays for it on every call.
const GROUPS: Array<[command: string, describe: string, load: () => CommandModule]> = [
  ['repo <command>', 'OSTree repository: init, commit, checkout, inspect, verify, pull, prune', () => require('./repo').repoCommand],
  ['remote <command>', 'remotes of a repository: add, list, delete, show-url', () => require('./remote').remoteCommand],
  ['admin <command>', 'deployments on a sysroot: deploy, upgrade, rollback, status', () => require('./admin').adminCommand],
  ['rpm <command>', 'RPM packages: inspect files, resolve package sets', () => require('./rpm').rpmCommand],
];

function lazyGroup([command, describe, load]: (typeof GROUPS)[number]): CommandModule {
  return {
    command,
    describe,
    builder: (y: Argv) => (load().builder as (y: Argv) => Argv)(y),
    handler: () => undefined,
  };
}

export async function main(argv: string[]): Promise<void> {
  try {
    await yargs(argv)
      .scriptName('arbor')
      .usage('$0 <command> [options]\n\nDeploy and upgrade operating systems as whole, versioned OSTree trees.')
      .command(GROUPS.map(lazyGroup))
      .demandCommand(1, 'name a command; see --help')
      .recommendCommands()
      .strict()
      .help()
      .alias('h', 'help')
      .version(packageVersion())
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail((msg, err) => {
        if (err) throw err;
        process.stderr.write(`error: ${msg}\nRun with --help for usage.\n`);
        process.exit(ERROR_TABLE.InvalidArgument.exit);
      })
      .parseAsync();
  } catch (e) {
    process.exitCode = reportError(e);
  }
}

/** The version in package.json, which sits three levels above dist/src/cli/ in a checkout and an install alike. */
function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function reportError(e: unknown): number {
  if (e instanceof ArborError) {
    process.stderr.write(`error: ${e.message}\n`);
    if (process.env.ARBOR_DEBUG) process.stderr.write(`${e.stack}\n`);
    return ERROR_TABLE[e.code].exit;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'EPIPE') return 0;
  process.stderr.write(`error: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.ARBOR_DEBUG) process.stderr.write(`${err?.stack}\n`);
  else process.stderr.write('(set ARBOR_DEBUG=1 for details, and please report this)\n');
  return 1;
}
