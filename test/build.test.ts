// build.ts as a packager uses it: setup with a prefix, install into a DESTDIR, and the
// tree that results. Runs the real driver through tsx; its config goes to a temp file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '../..');

describe('build.ts', () => {
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  function build(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const res = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['build.ts', ...args], { cwd: ROOT, env, encoding: 'utf8' });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
  }

  function writeFiles(dir: string, files: Record<string, string>): void {
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
  }

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'arbor-build-'));
    // A private config, so the checkout's own `setup` stays as it was.
    env = { ...process.env, ARBOR_BUILD_CONFIG: path.join(tmp, 'config.json') };
    delete env.DESTDIR;
    writeFiles(path.join(tmp, 'src'), {
      'systemd/x.service.in': '[Service]\nExecStart=@bindir@/arbord --state=@localstatedir@/lib/arbor\n',
      'systemd/README.md': 'not installed\n',
      'dbus/org.example.conf': '<busconfig/>\n',
      'dbus/org.example.service.in': 'Exec=@libexecdir@/arbord\n',
      'polkit/org.example.policy': '<policyconfig/>\n',
      'data/x.conf': '[Daemon]\n',
      'data/examples/tree.yaml': 'ref: os/stable\n',
    });
    const setup = build('setup', '--prefix=/usr', '--wipe');
    assert.equal(setup.status, 0, setup.stderr);
    const install = build('install', `--destdir=${path.join(tmp, 'dest')}`, `--sourcedir=${path.join(tmp, 'src')}`);
    assert.equal(install.status, 0, install.stdout + install.stderr);
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const dest = (p: string): string => path.join(tmp, 'dest', p);

  it('prints usage for --help', () => {
    const res = build('--help');
    assert.equal(res.status, 0);
    assert.match(res.stdout, /usage: .*build\.ts VERB/);
  });

  it('uses meson defaults: with prefix /usr, sysconfdir is /etc and bindir /usr/bin', () => {
    const config = JSON.parse(fs.readFileSync(path.join(tmp, 'config.json'), 'utf8'));
    assert.deepEqual(config.dirs, {
      prefix: '/usr', bindir: '/usr/bin', libdir: '/usr/lib', libexecdir: '/usr/libexec',
      datadir: '/usr/share', sysconfdir: '/etc', localstatedir: '/var',
    });
  });

  it('keeps earlier options when setup is re-run with new ones', () => {
    const saved = fs.readFileSync(path.join(tmp, 'config.json'));
    try {
      assert.equal(build('setup', '--datadir', 'lib/share').status, 0);
      const { dirs } = JSON.parse(fs.readFileSync(path.join(tmp, 'config.json'), 'utf8'));
      assert.equal(dirs.prefix, '/usr');
      assert.equal(dirs.datadir, '/usr/lib/share');
    } finally {
      fs.writeFileSync(path.join(tmp, 'config.json'), saved);
    }
  });

  it('rejects an unknown setup option and a relative prefix', () => {
    const unknown = build('setup', '--prefx=/usr');
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /unknown argument '--prefx=\/usr'/);
    const relative = build('setup', '--prefix=usr');
    assert.notEqual(relative.status, 0);
    assert.match(relative.stderr, /--prefix must be an absolute path/);
  });

  it('installs an executable launcher in bindir', () => {
    const mode = fs.statSync(dest('usr/bin/arbor')).mode;
    assert.ok(mode & 0o111, `mode ${mode.toString(8)}`);
  });

  it('installs the program, the native addon and only production packages under libdir/arbor', () => {
    assert.ok(fs.existsSync(dest('usr/lib/arbor/dist/src/common/native.js')));
    assert.ok(fs.existsSync(dest('usr/lib/arbor/build/Release/arbor_native.node')));
    assert.ok(fs.existsSync(dest('usr/lib/arbor/package.json')));
    assert.ok(fs.existsSync(dest('usr/lib/arbor/node_modules/yargs/package.json')));
    assert.ok(fs.existsSync(dest('usr/lib/arbor/node_modules/yargs-parser/package.json')), 'a transitive dependency');
    assert.ok(!fs.existsSync(dest('usr/lib/arbor/node_modules/mocha')), 'a devDependency');
  });

  it('substitutes directories in *.in files and drops the suffix', () => {
    const unit = fs.readFileSync(dest('usr/lib/systemd/system/x.service'), 'utf8');
    assert.equal(unit, '[Service]\nExecStart=/usr/bin/arbord --state=/var/lib/arbor\n');
    assert.ok(!fs.existsSync(dest('usr/lib/systemd/system/x.service.in')));
    const activation = fs.readFileSync(dest('usr/share/dbus-1/system-services/org.example.service'), 'utf8');
    assert.equal(activation, 'Exec=/usr/libexec/arbord\n');
  });

  it('puts D-Bus, polkit and data files in their FHS places and skips README.md', () => {
    assert.ok(fs.existsSync(dest('usr/share/dbus-1/system.d/org.example.conf')));
    assert.ok(fs.existsSync(dest('usr/share/polkit-1/actions/org.example.policy')));
    assert.ok(fs.existsSync(dest('etc/arbor/x.conf')));
    assert.ok(fs.existsSync(dest('usr/share/arbor/examples/tree.yaml')));
    assert.ok(!fs.existsSync(dest('usr/lib/systemd/system/README.md')));
  });

  it('refuses a file it does not know where to install, before writing anything', () => {
    writeFiles(path.join(tmp, 'bad'), { 'systemd/notes.txt': 'x\n' });
    const res = build('install', `--destdir=${path.join(tmp, 'bad-dest')}`, `--sourcedir=${path.join(tmp, 'bad')}`);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /don't know where to install systemd\/notes\.txt/);
    assert.ok(!fs.existsSync(path.join(tmp, 'bad-dest')));
  });

  it('refuses an unknown @variable@ in a *.in file', () => {
    writeFiles(path.join(tmp, 'bad2'), { 'data/x.conf.in': 'dir=@pkgdatadir@\n' });
    const res = build('install', `--destdir=${path.join(tmp, 'bad2-dest')}`, `--sourcedir=${path.join(tmp, 'bad2')}`);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /unknown substitution @pkgdatadir@/);
  });

  it('runs the installed CLI from the DESTDIR tree', function () {
    const res = spawnSync(dest('usr/bin/arbor'), ['--help'], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout + res.stderr, /arbor/i);
    const version = spawnSync(dest('usr/bin/arbor'), ['--version'], { encoding: 'utf8' });
    assert.equal(version.stdout.trim(), JSON.parse(fs.readFileSync(`${ROOT}/package.json`, 'utf8')).version);
  });
});
