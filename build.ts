// Arbor's build driver, shaped like meson: `setup` records the install directories,
// `compile` builds the native addon and the TypeScript, `test` runs mocha, and
// `install` lays the program and its systemd/D-Bus/polkit files out in FHS places.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = __dirname;
const BIN = path.join(ROOT, 'node_modules/.bin');
const ADDON = 'build/Release/arbor_native.node';
// node-gyp rebuild deletes build/, so the configuration lives beside tsc's output.
// The installed program finds it at the same place relative to its own root.
const CONFIG = path.resolve(process.env.ARBOR_BUILD_CONFIG ?? path.join(ROOT, 'dist/arbor-config.json'));

const USAGE = `usage: npx tsx build.ts VERB [options]

  setup [--prefix=/usr/local] [--bindir=bin] [--libdir=lib] [--libexecdir=libexec]
        [--datadir=share] [--sysconfdir=etc] [--localstatedir=var] [--wipe]
      Record install directories (relative ones are under the prefix; with
      prefix /usr, sysconfdir and localstatedir default to /etc and /var).
      Re-running it keeps earlier options unless given again or --wipe.
  compile
      Rebuild the native addon if its sources changed, then run tsc into dist/.
  test [mocha args...]
      compile, then run mocha (see .mocharc.json).
  install [--destdir=DIR] [--sourcedir=DIR]
      compile, then install into DIR (default $DESTDIR) + the configured dirs:
      the program into <libdir>/arbor, a launcher <bindir>/arbor, and the files in
      systemd/ dbus/ polkit/ data/ (read from --sourcedir, default this checkout).
      Files named *.in get @prefix@, @bindir@, ... substituted and lose the suffix.

The configuration is kept in ${path.relative(ROOT, CONFIG)} (override: $ARBOR_BUILD_CONFIG).`;

class BuildError extends Error {}

const DIR_NAMES = ['prefix', 'bindir', 'libdir', 'libexecdir', 'datadir', 'sysconfdir', 'localstatedir'] as const;
type DirName = (typeof DIR_NAMES)[number];
type Dirs = Record<DirName, string>;
interface Config { options: Partial<Dirs>; dirs: Dirs }

/** `--name=value`, `--name value` or a bare `--flag` (value ''), restricted to `known`. */
function parseOptions(verb: string, args: string[], known: readonly string[], flags: readonly string[] = []): Map<string, string> {
  const opts = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(args[i]);
    if (!m || !(known.includes(m[1]) || flags.includes(m[1]))) {
      throw new BuildError(`${verb}: unknown argument '${args[i]}'; known: ${[...known, ...flags].map((k) => `--${k}`).join(' ')}`);
    }
    let value = m[2];
    if (flags.includes(m[1])) value = '';
    else if (value === undefined) {
      if (i + 1 >= args.length) throw new BuildError(`${verb}: --${m[1]} needs a value`);
      value = args[++i];
    }
    opts.set(m[1], value);
  }
  return opts;
}

/** meson's rules: prefix /usr/local; relative dirs sit under the prefix; /usr implies /etc and /var. */
function resolveDirs(options: Partial<Dirs>): Dirs {
  const prefix = path.posix.normalize(options.prefix ?? '/usr/local').replace(/(.)\/$/, '$1');
  if (!path.posix.isAbsolute(prefix)) throw new BuildError(`setup: --prefix must be an absolute path, got '${prefix}'`);
  const defaults: Dirs = {
    prefix, bindir: 'bin', libdir: 'lib', libexecdir: 'libexec', datadir: 'share',
    sysconfdir: prefix === '/usr' ? '/etc' : 'etc',
    localstatedir: prefix === '/usr' ? '/var' : prefix === '/usr/local' ? '/var/local' : 'var',
  };
  const dirs = { prefix } as Dirs;
  for (const name of DIR_NAMES.slice(1)) {
    const value = options[name] ?? defaults[name];
    if (value === '' || value.includes('\0') || (!path.posix.isAbsolute(value) && value.split('/').includes('..'))) {
      throw new BuildError(`setup: --${name}='${value}' must be an absolute path or a path inside the prefix`);
    }
    dirs[name] = path.posix.resolve(prefix, value);
  }
  return dirs;
}

function setup(args: string[]): void {
  const opts = parseOptions('setup', args, DIR_NAMES, ['wipe']);
  const previous = !opts.has('wipe') && fs.existsSync(CONFIG) ? loadConfig().options : {};
  const options: Partial<Dirs> = { ...previous };
  for (const name of DIR_NAMES) if (opts.has(name)) options[name] = opts.get(name);
  const config: Config = { options, dirs: resolveDirs(options) };
  fs.mkdirSync(path.dirname(CONFIG), { recursive: true });
  fs.writeFileSync(CONFIG, JSON.stringify(config, null, 2) + '\n');
  console.log(`Configured ${path.relative(process.cwd(), CONFIG) || CONFIG}:`);
  for (const name of DIR_NAMES) console.log(`  ${name.padEnd(14)} ${config.dirs[name]}`);
}

function loadConfig(): Config {
  if (!fs.existsSync(CONFIG)) throw new BuildError(`not configured: ${CONFIG} is missing; run \`npx tsx build.ts setup [--prefix=...]\` first`);
  const config = JSON.parse(fs.readFileSync(CONFIG, 'utf8')) as Config;
  return { options: config.options, dirs: resolveDirs(config.options) };
}

function run(tool: string, args: string[]): void {
  const res = spawnSync(path.join(BIN, tool), args, { cwd: ROOT, stdio: 'inherit' });
  if (res.error) throw new BuildError(`cannot run ${tool}: ${res.error.message}; run \`npm ci\` first`);
  if (res.status !== 0) throw new BuildError(`${tool} failed (${res.signal ?? `exit ${res.status}`})`);
}

function compile(): void {
  const addon = path.join(ROOT, ADDON);
  const sources = ['binding.gyp', ...fs.readdirSync(path.join(ROOT, 'native')).filter((f) => /\.[ch]$/.test(f)).map((f) => `native/${f}`)];
  const newest = Math.max(...sources.map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs));
  if (!fs.existsSync(addon) || fs.statSync(addon).mtimeMs < newest) {
    // Outside npm, node-gyp would download headers; use the running node's own when it has them.
    const nodedir = path.resolve(process.execPath, '../..');
    const local = !process.env.npm_config_nodedir && fs.existsSync(path.join(nodedir, 'include/node/common.gypi'));
    run('node-gyp', ['rebuild', '--loglevel=warn', ...(local ? [`--nodedir=${nodedir}`] : [])]);
  }
  // Incremental: a second compile with nothing changed takes about a second.
  run('tsc', ['-p', '.', '--incremental', '--tsBuildInfoFile', 'dist/.tsbuildinfo']);
}

function test(args: string[]): void {
  compile();
  const res = spawnSync(path.join(BIN, 'mocha'), args, { cwd: ROOT, stdio: 'inherit' });
  if (res.error) throw new BuildError(`cannot run mocha: ${res.error.message}`);
  process.exitCode = res.status ?? 1;
}

// Where each file of the source tree installs, by name (after dropping `.in`).
const RULES: Array<[dir: string, name: RegExp, to: (d: Dirs) => string]> = [
  ['systemd', /^[^/]+\.(service|timer|socket|path|target)$/, (d) => `${d.prefix}/lib/systemd/system`],
  ['dbus', /^[^/]+\.conf$/, (d) => `${d.datadir}/dbus-1/system.d`],
  ['dbus', /^[^/]+\.service$/, (d) => `${d.datadir}/dbus-1/system-services`],
  ['dbus', /^[^/]+\.xml$/, (d) => `${d.datadir}/dbus-1/interfaces`],
  ['polkit', /^[^/]+\.policy$/, (d) => `${d.datadir}/polkit-1/actions`],
  ['polkit', /^[^/]+\.rules$/, (d) => `${d.datadir}/polkit-1/rules.d`],
  ['data', /^[^/]+\.conf$/, (d) => `${d.sysconfdir}/arbor`],
  ['data', /^/, (d) => `${d.datadir}/arbor`],
];
const KNOWN = 'systemd/*.{service,timer,socket,path,target}, dbus/*.{conf,service,xml}, polkit/*.{policy,rules}, data/** (README.md files are skipped)';

interface Planned { from: string; to: string; configure: boolean }

function listFiles(dir: string, rel = ''): string[] {
  if (!fs.existsSync(path.join(dir, rel))) return [];
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(dir, r) : [r];
  });
}

/** Maps every file first, so an unknown one stops the install before anything is written. */
function planDataFiles(sourcedir: string, dirs: Dirs): Planned[] {
  const plan: Planned[] = [];
  const unknown: string[] = [];
  for (const dir of [...new Set(RULES.map((r) => r[0]))]) {
    for (const rel of listFiles(path.join(sourcedir, dir)).sort()) {
      if (path.posix.basename(rel) === 'README.md') continue;
      const configure = rel.endsWith('.in');
      const name = configure ? rel.slice(0, -3) : rel;
      const rule = RULES.find(([d, re]) => d === dir && re.test(name));
      if (rule) plan.push({ from: path.join(sourcedir, dir, rel), to: path.posix.join(rule[2](dirs), name), configure });
      else unknown.push(`${dir}/${rel}`);
    }
  }
  if (unknown.length) throw new BuildError(`install: don't know where to install ${unknown.join(', ')}; known kinds: ${KNOWN}`);
  return plan;
}

/** meson's configure_file: @name@ becomes the configured directory; any other @word@ is an error. */
function configureText(text: string, dirs: Dirs, file: string): string {
  return text.replace(/@([A-Za-z_]+)@/g, (whole, name: string) => {
    if ((DIR_NAMES as readonly string[]).includes(name)) return dirs[name as DirName];
    throw new BuildError(`install: ${file}: unknown substitution ${whole}; known: ${DIR_NAMES.map((n) => `@${n}@`).join(' ')}`);
  });
}

/** The packages in "dependencies" and theirs, as paths under ROOT, resolved the way Node does. */
function productionPackages(): string[] {
  const found = new Set<string>();
  const visit = (pkgDir: string): void => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, pkgDir, 'package.json'), 'utf8'));
    const optional = Object.keys(pkg.optionalDependencies ?? {});
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      let dir = pkgDir;
      while (!fs.existsSync(path.join(ROOT, dir, 'node_modules', name, 'package.json')) && dir !== '.') dir = path.dirname(dir);
      const at = path.join(dir, 'node_modules', name);
      if (!fs.existsSync(path.join(ROOT, at, 'package.json'))) {
        if (optional.includes(name)) continue;
        throw new BuildError(`install: ${pkg.name ?? 'arbor'} needs '${name}', which is not in node_modules; run \`npm ci\``);
      }
      if (!found.has(at)) { found.add(at); visit(at); }
    }
  };
  visit('.');
  return [...found].sort();
}

function install(args: string[]): void {
  const opts = parseOptions('install', args, ['destdir', 'sourcedir']);
  const config = loadConfig(), { dirs } = config;
  const destdir = path.resolve(opts.get('destdir') ?? process.env.DESTDIR ?? '/');
  const sourcedir = path.resolve(opts.get('sourcedir') ?? ROOT);
  const dest = (p: string): string => path.join(destdir, p);
  const put = (from: string, to: string): void => { fs.mkdirSync(path.dirname(dest(to)), { recursive: true }); fs.copyFileSync(from, dest(to)); };
  const plan = planDataFiles(sourcedir, dirs);
  const texts = new Map(plan.filter((f) => f.configure).map((f) => [f, configureText(fs.readFileSync(f.from, 'utf8'), dirs, f.from)]));
  compile();

  // The program keeps its checkout layout, so src/common/native.ts finds the addon.
  const lib = path.posix.join(dirs.libdir, 'arbor');
  fs.rmSync(dest(lib), { recursive: true, force: true });
  // Only outputs of today's sources: dist/ may still hold those of deleted files.
  for (const ts of listFiles(path.join(ROOT, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
    put(path.join(ROOT, `dist/src/${ts.slice(0, -3)}.js`), `${lib}/dist/src/${ts.slice(0, -3)}.js`);
  }
  fs.writeFileSync(dest(`${lib}/dist/arbor-config.json`), JSON.stringify(config, null, 2) + '\n');
  put(path.join(ROOT, ADDON), `${lib}/${ADDON}`);
  put(path.join(ROOT, 'package.json'), `${lib}/package.json`);
  const packages = productionPackages();
  for (const pkg of packages) {
    const from = path.join(ROOT, pkg);
    // Nested node_modules are copied only when a production package resolves into them.
    fs.cpSync(from, dest(`${lib}/${pkg}`), { recursive: true, dereference: true, filter: (f) => path.relative(from, f) !== 'node_modules' });
  }

  // Relative, so the launcher also runs from a DESTDIR staging tree.
  const main = path.posix.relative(dirs.bindir, `${lib}/dist/src/cli/main.js`);
  fs.mkdirSync(dest(dirs.bindir), { recursive: true });
  fs.writeFileSync(dest(`${dirs.bindir}/arbor`), `#!/usr/bin/env node\n// The Arbor CLI, installed by build.ts; the program lives in ${lib}.\n` +
    `require(require('node:path').join(__dirname, ${JSON.stringify(main)})).main(process.argv.slice(2));\n`);
  fs.chmodSync(dest(`${dirs.bindir}/arbor`), 0o755);

  for (const f of plan) {
    put(f.from, f.to);
    if (texts.has(f)) fs.writeFileSync(dest(f.to), texts.get(f)!);
    fs.chmodSync(dest(f.to), fs.statSync(f.from).mode & 0o111 ? 0o755 : 0o644);
  }
  console.log(`Installed ${lib} (${packages.length} packages), ${dirs.bindir}/arbor and ${plan.length} system files into ${destdir}`);
}

function main(argv: string[]): void {
  const [verb, ...args] = argv;
  switch (verb) {
    case 'setup': return setup(args);
    case 'compile': parseOptions('compile', args, []); return compile();
    case 'test': return test(args);
    case 'install': return install(args);
    case '--help': case '-h': case 'help': console.log(USAGE); return;
    case undefined: console.error(USAGE); process.exitCode = 2; return;
    default: throw new BuildError(`unknown verb '${verb}'; run \`npx tsx build.ts --help\``);
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  // Our errors and the file system's (ENOENT, EACCES, ...) are for the user; anything else is a bug.
  if (!(e instanceof BuildError || typeof (e as NodeJS.ErrnoException).code === 'string')) throw e;
  console.error(`build: ${(e as Error).message}`);
  process.exitCode = 1;
}
