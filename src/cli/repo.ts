// `arbor repo …`: OSTree repository maintenance, flag names as `ostree` spells
// them where the meaning is the same. All local work; no daemon involved.
import fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { ArborError } from '../common/errors';
import { Variant, bswap64 } from '../gvariant';
import { checkout } from '../ostree/checkout';
import { commitTree } from '../ostree/commit';
import { diffCommits } from '../ostree/diff';
import { fsck } from '../ostree/fsck';
import { Metadata, isDirMode, metadataGet, sha256 } from '../ostree/objects';
import { checksumToBytes } from '../ostree/checksum';
import { prune } from '../ostree/prune';
import { validateRef } from '../ostree/refs';
import { Repo, RepoMode } from '../ostree/repo';
import { readSummary, updateSummary } from '../ostree/summary';
import { TreeEntry, listDir, lookupPath } from '../ostree/tree';
import { formatDate, formatMode, printValue, printXattrs } from './format';
import { pullCommand, signCommand } from './pull';

type Args = { repo: string } & Record<string, unknown>;

function withRepo(y: Argv): Argv<{ repo: string }> {
  return y.option('repo', { type: 'string', demandOption: true, describe: 'path to the OSTree repository' }) as Argv<{ repo: string }>;
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

function parseTimestamp(s: string): number {
  const m = /^@(\d+)$/.exec(s);
  if (m) return Number(m[1]);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new ArborError('InvalidArgument', `--timestamp: cannot parse '${s}' (use ISO 8601 like 2024-01-01T00:00:00Z, or @SECONDS)`);
  return Math.floor(t / 1000);
}

function keyValue(s: string, flag: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0) throw new ArborError('InvalidArgument', `${flag}: '${s}' is not KEY=VALUE`);
  return [s.slice(0, i), s.slice(i + 1)];
}

function asList(v: unknown): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

const commands: Array<CommandModule<{ repo: string }, Args>> = [
  {
    command: 'init',
    describe: 'create a repository',
    builder: (y) => y
      .option('mode', { choices: ['bare', 'bare-user', 'archive', 'archive-z2'], default: 'bare', describe: 'object storage mode' })
      .option('collection-id', { type: 'string', describe: 'collection ID for bindings' }),
    handler: (a) => {
      const mode = (a.mode === 'archive-z2' ? 'archive' : a.mode) as RepoMode;
      Repo.init(a.repo, mode, { collectionId: a['collection-id'] as string | undefined });
    },
  },
  {
    command: 'commit [path]',
    describe: 'commit a directory tree to a branch',
    builder: (y) => y
      .positional('path', { type: 'string', describe: 'directory to commit (default: current directory)' })
      .option('branch', { alias: 'b', type: 'string', describe: 'branch (ref) to move to the new commit' })
      .option('subject', { alias: 's', type: 'string', describe: 'one-line subject' })
      .option('body', { alias: 'm', type: 'string', describe: 'full description' })
      .option('add-metadata-string', { type: 'string', describe: 'KEY=VALUE string metadata (repeatable, kept in order)' })
      .option('timestamp', { type: 'string', describe: 'commit time (ISO 8601 or @SECONDS); default SOURCE_DATE_EPOCH, else now' })
      .option('parent', { type: 'string', describe: "parent commit checksum, or 'none'" })
      .option('owner-uid', { type: 'number', describe: 'force this uid on every file' })
      .option('owner-gid', { type: 'number', describe: 'force this gid on every file' })
      .option('bind-ref', { type: 'string', describe: 'also bind the commit to this ref' })
      .option('no-bindings', { type: 'boolean', describe: 'add no ostree.ref-binding / collection binding' })
      .option('skip-list', { type: 'string', describe: 'file of tree paths to leave out, one per line (e.g. /dev)' })
      .option('skip-if-unchanged', { type: 'boolean', describe: 'do nothing when the tree equals the branch head' }),
    handler: async (a) => {
      const repo = Repo.open(a.repo);
      const metadata: Metadata = asList(a['add-metadata-string']).map((s) => {
        const [k, v] = keyValue(s, '--add-metadata-string');
        return [k, new Variant('s', v)];
      });
      let skip: Set<string> | undefined;
      if (a['skip-list']) {
        const lines = fs.readFileSync(a['skip-list'] as string, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
        skip = new Set(lines.map((l) => (l.startsWith('/') ? l : `/${l}`).replace(/\/+$/, '')));
      }
      const parent = a.parent === undefined ? undefined : a.parent === 'none' ? null : repo.resolveRev(a.parent as string);
      const r = await commitTree(repo, (a.path as string | undefined) ?? '.', {
        branch: a.branch as string | undefined,
        subject: a.subject as string | undefined,
        body: a.body as string | undefined,
        metadata,
        timestamp: a.timestamp ? parseTimestamp(a.timestamp as string) : undefined,
        parent,
        ownerUid: a['owner-uid'] as number | undefined,
        ownerGid: a['owner-gid'] as number | undefined,
        bindRefs: asList(a['bind-ref']).map((r) => validateRef(r, '--bind-ref')),
        noBindings: a.bindings === false || Boolean(a['no-bindings']),
        skip,
        skipIfUnchanged: Boolean(a['skip-if-unchanged']),
      });
      out(r.checksum);
    },
  },
  {
    command: 'checkout <rev> <destination>',
    describe: 'check out a commit into a new directory',
    builder: (y) => y
      .option('user-mode', { alias: 'U', type: 'boolean', describe: 'do not change ownership or set xattrs' })
      .option('union', { type: 'boolean', describe: 'write into an existing directory, replacing files in the way' })
      .option('subpath', { type: 'string', describe: 'check out only this path' })
      .option('require-hardlinks', { alias: 'H', type: 'boolean', describe: 'fail rather than copy' })
      .option('force-copy', { alias: 'C', type: 'boolean', describe: 'never hardlink' }),
    handler: async (a) => {
      const repo = Repo.open(a.repo);
      await checkout(repo, repo.resolveRev(a.rev as string), a.destination as string, {
        mode: a['user-mode'] ? 'user' : 'none',
        union: Boolean(a.union),
        subpath: a.subpath as string | undefined,
        requireHardlinks: Boolean(a['require-hardlinks']),
        forceCopy: Boolean(a['force-copy']),
      });
    },
  },
  {
    command: 'ls <rev> [paths..]',
    describe: 'list paths in a commit',
    builder: (y) => y
      .option('recursive', { alias: 'R', type: 'boolean', describe: 'list directories recursively' })
      .option('checksum', { alias: 'C', type: 'boolean', describe: 'show object checksums' })
      .option('xattrs', { alias: 'X', type: 'boolean', describe: 'show extended attributes' })
      .option('dironly', { alias: 'd', type: 'boolean', describe: 'list a directory itself, not its contents' })
      .option('nul-filenames-only', { type: 'boolean', describe: 'print only names, each ended by NUL' }),
    handler: async (a) => {
      const repo = Repo.open(a.repo);
      const commit = repo.resolveRev(a.rev as string);
      const paths = asList(a.paths);
      for (const p of paths.length ? paths : ['/']) {
        const start = lookupPath(repo, commit, p);
        const lines: string[] = [];
        const show = async (e: TreeEntry): Promise<void> => { lines.push(await lsLine(repo, e, a)); };
        if (a.recursive && !a.dironly) {
          const all: TreeEntry[] = [];
          const walk = (e: TreeEntry): void => {
            all.push(e);
            if (e.kind === 'dir') for (const c of lsChildren(repo, e)) walk(c);
          };
          walk(start);
          for (const e of all) await show(e);
        } else {
          await show(start);
          if (start.kind === 'dir' && !a.dironly) for (const e of lsChildren(repo, start)) await show(e);
        }
        process.stdout.write(a['nul-filenames-only'] ? lines.join('') : lines.join('\n') + '\n');
      }
    },
  },
  {
    command: 'cat <rev> <paths..>',
    describe: 'print the contents of files in a commit',
    handler: async (a) => {
      const repo = Repo.open(a.repo);
      const commit = repo.resolveRev(a.rev as string);
      for (const p of asList(a.paths)) {
        const e = lookupPath(repo, commit, p);
        if (e.kind !== 'file') throw new ArborError('InvalidArgument', `${p} is a directory in ${commit}`);
        const f = await repo.loadFile(e.checksum);
        process.stdout.write(f.content ?? f.header.symlinkTarget);
      }
    },
  },
  {
    command: 'show <rev>',
    describe: 'show a commit',
    builder: (y) => y
      .option('print-metadata-key', { type: 'string', describe: 'print only this metadata value' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' }),
    handler: (a) => {
      const repo = Repo.open(a.repo);
      const csum = repo.resolveRev(a.rev as string);
      const c = repo.loadCommit(csum);
      const key = a['print-metadata-key'] as string | undefined;
      if (key) {
        const v = c.metadata.find(([k]) => k === key);
        if (!v) throw new ArborError('NotFound', `commit ${csum} has no metadata key '${key}'`);
        out(printValue(v[1].value, v[1].type));
      } else if (a.json) {
        out(JSON.stringify(commitJson(csum, c), null, 2));
      } else out(logEntry(csum, c));
    },
  },
  {
    command: 'log <rev>',
    describe: 'show a commit and its ancestors',
    handler: (a) => {
      const repo = Repo.open(a.repo);
      let csum: ReturnType<Repo['resolveRev']> | null = repo.resolveRev(a.rev as string);
      const parts: string[] = [];
      while (csum) {
        if (!repo.hasObject('commit', csum)) {
          parts.push(`<< History beyond this commit not fetched >>\n`);
          break;
        }
        const c = repo.loadCommit(csum);
        parts.push(logEntry(csum, c));
        csum = c.parent;
      }
      process.stdout.write(parts.join(''));
    },
  },
  {
    command: 'refs [prefix]',
    describe: 'list, create or delete refs',
    builder: (y) => y
      .option('create', { type: 'string', describe: 'create this ref pointing at <prefix> (a rev)' })
      .option('delete', { type: 'boolean', describe: 'delete the refs matching <prefix>' })
      .option('list', { type: 'boolean', describe: 'list refs (the default)' }),
    handler: (a) => {
      const repo = Repo.open(a.repo);
      const prefix = a.prefix as string | undefined;
      if (a.create) {
        if (!prefix) throw new ArborError('InvalidArgument', '--create needs the commit to point at, as the positional argument');
        repo.setRef(a.create as string, repo.resolveRev(prefix));
        return;
      }
      // As ostree: PREFIX names a ref or a directory of refs, not the start of a name ('foo' is not 'foobar').
      const under = prefix && (prefix.endsWith('/') || prefix.endsWith(':') ? prefix : `${prefix}/`);
      const refs = [...repo.listRefs().keys()].filter((r) => !prefix || r === prefix || r.startsWith(under as string));
      if (a.delete) {
        if (!prefix) throw new ArborError('InvalidArgument', '--delete needs a ref or prefix');
        for (const r of refs) repo.setRef(r, null);
        return;
      }
      if (refs.length) out(refs.join('\n'));
    },
  },
  {
    command: 'diff <from> <to>',
    describe: 'paths added (A), modified (M) and removed (D) between two commits',
    builder: (y) => y.option('json', { type: 'boolean' }),
    handler: (a) => {
      const repo = Repo.open(a.repo);
      const d = diffCommits(repo, repo.resolveRev(a.from as string), repo.resolveRev(a.to as string));
      if (a.json) return out(JSON.stringify(d, null, 2));
      const lines = [...d.modified.map((p) => `M    ${p}`), ...d.removed.map((p) => `D    ${p}`), ...d.added.map((p) => `A    ${p}`)];
      if (lines.length) out(lines.join('\n'));
    },
  },
  {
    command: 'fsck',
    describe: 'verify every object and that every commit is complete',
    builder: (y) => y.option('quiet', { alias: 'q', type: 'boolean' }),
    handler: async (a) => {
      const repo = Repo.open(a.repo);
      const r = await fsck(repo);
      for (const e of r.errors) process.stderr.write(`error: ${e}\n`);
      if (r.errors.length) {
        throw new ArborError('Corrupted', `fsck of ${a.repo}: ${r.errors.length} error(s) in ${r.objects} objects`);
      }
      if (!a.quiet) {
        out(`Validated ${r.objects} objects in ${r.commits} commits${r.partial.length ? ` (${r.partial.length} partial)` : ''}: no errors found.`);
      }
    },
  },
  {
    command: 'prune',
    describe: 'delete unreachable objects',
    builder: (y) => y
      .option('refs-only', { type: 'boolean', describe: 'only refs keep objects alive (unreferenced commits go too)' })
      .option('depth', { type: 'number', default: -1, describe: 'history to keep behind each ref (-1: all)' })
      .option('no-prune', { type: 'boolean', describe: 'only report what would be deleted' }),
    handler: (a) => {
      const repo = Repo.open(a.repo);
      const r = prune(repo, { refsOnly: Boolean(a['refs-only']), depth: a.depth as number, dryRun: a.prune === false || Boolean(a['no-prune']) });
      out(`Total objects: ${r.total}`);
      out(r.pruned ? `Deleted ${r.pruned} objects, ${r.bytesFreed} bytes freed` : 'No unreachable objects');
    },
  },
  {
    command: 'summary',
    describe: 'update (-u) or view the summary file',
    builder: (y) => y
      .option('update', { alias: 'u', type: 'boolean', describe: 'regenerate from local refs' })
      .option('view', { alias: 'v', type: 'boolean', describe: 'print the summary (the default)' }),
    handler: (a) => {
      const repo = Repo.open(a.repo);
      if (a.update) {
        updateSummary(repo);
        return;
      }
      const s = readSummary(repo);
      if (!s) throw new ArborError('NotFound', `${a.repo} has no summary; run 'arbor repo summary -u'`);
      const lines: string[] = [];
      for (const [name, r] of s.refs) {
        lines.push(`* ${name}`, `    Latest Commit (${r.size} bytes):`, `      ${r.checksum}`);
        if (r.version) lines.push(`    Version (ostree.commit.version): ${r.version}`);
        if (r.timestamp !== undefined) lines.push(`    Timestamp (ostree.commit.timestamp): ${new Date(r.timestamp * 1000).toISOString()}`);
        lines.push('');
      }
      for (const [k, v] of s.metadata) {
        const shown = k === 'ostree.summary.last-modified' && typeof v.value === 'bigint' ? new Date(Number(bswap64(v.value)) * 1000).toISOString() : printValue(v.value, v.type);
        lines.push(`${k}: ${shown}`);
      }
      out(lines.join('\n'));
    },
  },
  pullCommand,
  signCommand,
];

/** A directory's entries in `ostree ls` order: its files, then its subdirectories, each by name. */
function lsChildren(repo: Repo, dir: TreeEntry & { kind: 'dir' }): TreeEntry[] {
  const all = listDir(repo, dir);
  return [...all.filter((e) => e.kind === 'file'), ...all.filter((e) => e.kind === 'dir')];
}

async function lsLine(repo: Repo, e: TreeEntry, a: Args): Promise<string> {
  if (a['nul-filenames-only']) return `${e.path}\0`;
  let mode: number, uid: number, gid: number, size = 0, target = '', xattrs;
  let csums: string;
  if (e.kind === 'dir') {
    const m = repo.loadDirMeta(e.meta);
    ({ mode, uid, gid, xattrs } = m);
    csums = `${e.tree} ${e.meta} `;
  } else {
    const f = await repo.loadFile(e.checksum);
    ({ mode, uid, gid, xattrs } = f.header);
    size = f.content?.length ?? 0;
    target = f.header.symlinkTarget;
    csums = `${e.checksum} `;
  }
  let s = `${formatMode(mode)} ${uid} ${gid} ${String(size).padStart(6)} `;
  if (a.checksum) s += csums;
  if (a.xattrs) s += `${printXattrs(xattrs)} `;
  s += e.path;
  if (target && !isDirMode(mode)) s += ` -> ${target}`;
  return s;
}

function logEntry(csum: string, c: ReturnType<Repo['loadCommit']>): string {
  const content = sha256(checksumToBytes(c.rootTree), checksumToBytes(c.rootMeta));
  const lines = [`commit ${csum}`];
  if (c.parent) lines.push(`Parent:  ${c.parent}`);
  lines.push(`ContentChecksum:  ${content}`, `Date:  ${formatDate(c.timestamp)}`);
  const version = metadataGet<string>(c.metadata, 'version');
  if (typeof version === 'string') lines.push(`Version: ${version}`);
  lines.push('');
  if (c.subject) lines.push(`    ${c.subject}`, '');
  if (c.body) lines.push(...c.body.split('\n').map((l) => `    ${l}`), '');
  return lines.join('\n') + '\n';
}

function commitJson(csum: string, c: ReturnType<Repo['loadCommit']>): unknown {
  return {
    checksum: csum,
    parent: c.parent,
    subject: c.subject,
    body: c.body,
    timestamp: c.timestamp,
    rootTree: c.rootTree,
    rootMeta: c.rootMeta,
    metadata: Object.fromEntries(c.metadata.map(([k, v]) => [k, printValue(v.value, v.type)])),
  };
}

export const repoCommand: CommandModule = {
  command: 'repo <command>',
  describe: 'OSTree repository: init, commit, checkout, inspect, verify, prune',
  builder: (y) => {
    let b = withRepo(y);
    for (const c of commands) b = b.command(c as CommandModule<{ repo: string }, { repo: string }>);
    return b.demandCommand(1, 'name a repo command; see arbor repo --help');
  },
  handler: () => undefined,
};

