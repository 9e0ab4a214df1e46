// `arbor remote …`: the remotes of a repository, stored in its config as ostree does.
// Flag names follow `ostree remote add|list|delete|show-url`.
import type { Argv, CommandModule } from 'yargs';
import { ArborError } from '../common/errors';
import { Repo } from '../ostree/repo';
import { addRemote, deleteRemote, getRemote, listRemotes } from '../ostree/remotes';

type Args = { repo: string } & Record<string, unknown>;

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

function asList(v: unknown): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

const commands: Array<CommandModule<{ repo: string }, Args>> = [
  {
    command: 'add <name> <url> [branches..]',
    describe: 'add a remote repository',
    builder: (y) => y
      // yargs reads --no-gpg-verify / --no-sign-verify as these options set to false.
      .option('gpg-verify', { type: 'boolean', describe: 'verify GPG signatures (--no-gpg-verify disables; Arbor cannot check GPG)' })
      .option('sign-verify', { type: 'string', describe: 'verify signatures with KEYTYPE=inline:PUBKEY or KEYTYPE=file:/path/to/key (--no-sign-verify disables)' })
      .option('set', { type: 'string', describe: 'set config option KEY=VALUE for the remote (repeatable)' })
      .option('if-not-exists', { type: 'boolean', describe: 'do nothing if the remote exists' })
      .option('force', { type: 'boolean', describe: 'replace the remote if it exists' })
      .option('contenturl', { type: 'string', describe: 'fetch objects from this URL' })
      .option('collection-id', { type: 'string', describe: 'collection ID of the remote' }),
    handler: (a) => {
      const repo = Repo.open(a.repo);
      const set = asList(a.set).map((s): [string, string] => {
        const i = s.indexOf('=');
        if (i <= 0) throw new ArborError('InvalidArgument', `--set: '${s}' is not KEY=VALUE`);
        return [s.slice(0, i), s.slice(i + 1)];
      });
      const noGpg = a['gpg-verify'] === false;
      const noSign = asList(a['sign-verify']).includes('false');
      addRemote(repo, a.name as string, a.url as string, {
        gpgVerify: noGpg ? false : undefined,
        signVerify: noSign ? false : undefined,
        signVerifyKeys: noSign ? [] : asList(a['sign-verify']),
        set,
        branches: asList(a.branches),
        contentUrl: a.contenturl as string | undefined,
        collectionId: a['collection-id'] as string | undefined,
        ifNotExists: Boolean(a['if-not-exists']),
        force: Boolean(a.force),
      });
    },
  },
  {
    command: 'list',
    describe: 'list remote names',
    builder: (y) => y.option('show-urls', { alias: 'u', type: 'boolean', describe: 'show remote URLs' }),
    handler: (a) => {
      const repo = Repo.open(a.repo);
      const names = listRemotes(repo).sort();
      if (!names.length) return;
      if (!a['show-urls']) return out(names.join('\n'));
      const width = Math.max(...names.map((n) => n.length));
      out(names.map((n) => `${n.padEnd(width)}  ${getRemote(repo, n).url}`).join('\n'));
    },
  },
  {
    command: 'delete <name>',
    describe: 'delete a remote',
    builder: (y) => y.option('if-exists', { type: 'boolean', describe: 'do nothing if the remote does not exist' }),
    handler: (a) => {
      deleteRemote(Repo.open(a.repo), a.name as string, { ifExists: Boolean(a['if-exists']) });
    },
  },
  {
    command: 'show-url <name>',
    describe: 'print the URL of a remote',
    handler: (a) => out(getRemote(Repo.open(a.repo), a.name as string).url),
  },
];

export const remoteCommand: CommandModule = {
  command: 'remote <command>',
  describe: 'remotes of a repository: add, list, delete, show-url',
  builder: (y: Argv) => {
    let b = y.option('repo', { type: 'string', demandOption: true, describe: 'path to the OSTree repository' }) as Argv<{ repo: string }>;
    for (const c of commands) b = b.command(c as CommandModule<{ repo: string }, { repo: string }>);
    return b.demandCommand(1, 'name a remote command; see arbor remote --help');
  },
  handler: () => undefined,
};
