// .repo files against dnf itself: the same directories are read by loadRepoFiles and by
// dnf's Python API (dnf.Base.read_all_repos, one process for every case), and every
// field dnf exposes must agree: ids, names, baseurl lists, booleans, numbers, skips.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../../src/common/errors';
import { RepoConfig, loadRepoFiles, parseRepoFile, repoSource, splitList, substituteVars } from '../../src/rpm/repo-file';
import { run, tmpdir } from '../helpers';

const VARS = { releasever: '40', basearch: 'x86_64', arch: 'x86_64' };

const ORACLE = `
import dnf, sys, json, logging
logging.disable(logging.CRITICAL)
result = {}
for d in sys.argv[1:]:
    b = dnf.Base()
    b.conf.reposdir = [d]
    for k, v in ${JSON.stringify(VARS)}.items():
        b.conf.substitutions[k] = v
    b.read_all_repos()
    result[d] = [dict(id=r.id, name=r.name, baseurl=list(r.baseurl), metalink=r.metalink, mirrorlist=r.mirrorlist,
        enabled=bool(r.enabled), gpgcheck=bool(r.gpgcheck), repoGpgcheck=bool(r.repo_gpgcheck), gpgkey=list(r.gpgkey),
        priority=r.priority, cost=r.cost, excludepkgs=list(r.excludepkgs), includepkgs=list(r.includepkgs),
        skipIfUnavailable=bool(r.skip_if_unavailable)) for r in b.repos.values()]
print(json.dumps(result))
`;

/** dnf's view of each directory, in one python process. */
function dnfView(dirs: string[]): Record<string, unknown[]> {
  const script = path.join(dirs[0], '..', 'oracle.py');
  fs.writeFileSync(script, ORACLE);
  return JSON.parse(run('/usr/bin/python3', [script, ...dirs]).stdout) as Record<string, unknown[]>;
}

function ours(r: RepoConfig): Record<string, unknown> {
  return {
    id: r.id, name: r.name, baseurl: r.baseurl, metalink: r.metalink ?? null, mirrorlist: r.mirrorlist ?? null,
    enabled: r.enabled, gpgcheck: r.gpgcheck, repoGpgcheck: r.repoGpgcheck, gpgkey: r.gpgkey, priority: r.priority, cost: r.cost,
    excludepkgs: r.excludepkgs, includepkgs: r.includepkgs, skipIfUnavailable: r.skipIfUnavailable,
  };
}

const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number => String(a.id).localeCompare(String(b.id));

// Each case is a directory of .repo files; dnf and Arbor must see the same repos.
const CASES: Record<string, Record<string, string>> = {
  fedora: {
    'fedora.repo': `[fedora]
name=Fedora $releasever - $basearch
#baseurl=http://download.example/pub/fedora/linux/releases/$releasever/Everything/$basearch/os/
metalink=https://mirrors.fedoraproject.org/metalink?repo=fedora-$releasever&arch=$basearch
enabled=1
countme=1
metadata_expire=7d
repo_gpgcheck=0
type=rpm
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch
skip_if_unavailable=False

[fedora-debuginfo]
name=Fedora $releasever - $basearch - Debug
metalink=https://mirrors.fedoraproject.org/metalink?repo=fedora-debug-$releasever&arch=$basearch
enabled=0
gpgcheck=1
`,
    'local.repo': `# A local mirror with several baseurls
[local-\${releasever}]
name = Local mirror
baseurl = http://mirror1.example/$releasever/$basearch/
  http://mirror2.example/\${releasever}/$arch/, http://mirror3.example/x
\thttp://mirror4.example/y
priority = 10
cost=500
exclude=kernel* ,  firefox
includepkgs=a b
mirrorlist=http://mirrors.example/list?$unknown_var
`,
  },
  tricky: {
    'a.repo': `\ufeff; semicolon comment
[main]
gpgcheck=1

[one] # a comment after the header
name=One\r
baseurl=file:///srv/one\r
enabled=True
gpgcheck=on
skip_if_unavailable=yes
baseurl=file:///srv/one-again
[two]
name=Two
 continued with $basearch
baseurl=http://x/1\thttp://x/2 ,http://x/3,,http://x/4
enabled=maybe
priority=abc
cost=-5
[one]
gpgkey=k1
  k2,k3
[bad id!]
baseurl=http://bad
[$nope]
baseurl=http://unknown-var-in-id
`,
    'b.repo': `[one]
name=Duplicate from a later file
baseurl=http://dup
[three]
baseurl=http://three
enabled = off
`,
  },
  broken: {
    'good.repo': '[good]\nname=Good\nbaseurl=http://good\n',
    'no-bracket.repo': '[a\nbaseurl=http://a\n',
    'no-equal.repo': '[b]\nbaseurl http://b\n',
    'no-section.repo': 'baseurl=http://c\n',
    'continuation.repo': '[d]\nname=d\nbaseurl=http://d\n\n  http://after-blank\n',
    'empty-section.repo': '[]\nbaseurl=http://e\n',
    'text-after.repo': '[f] junk\nbaseurl=http://f\n',
    'missing-key.repo': '[g]\n=x\n',
    'not-a-repo.txt': '[ignored]\nbaseurl=http://ignored\n',
  },
};

describe('.repo files (loadRepoFiles) against dnf', function () {
  let root: string;
  const dirs: Record<string, string> = {};
  let dnf: Record<string, unknown[]>;
  before(function () {
    root = tmpdir('arbor-repofile-');
    for (const [name, files] of Object.entries(CASES)) {
      const d = path.join(root, name);
      fs.mkdirSync(d);
      for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
      dirs[name] = d;
    }
    dnf = dnfView(Object.values(dirs));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  for (const name of Object.keys(CASES)) {
    it(`reads the '${name}' files exactly as dnf does`, function () {
      const want = (dnf[dirs[name]] as Array<Record<string, unknown>>).slice().sort(byId);
      const got = loadRepoFiles(dirs[name], VARS).map(ours).sort(byId);
      assert.ok(want.length > 0);
      assert.deepEqual(got, want);
    });
  }

  it('substitutes $releasever, ${releasever}, $basearch and $arch, and keeps unknown variables', function () {
    const [fedora] = loadRepoFiles(dirs.fedora, VARS);
    assert.equal(fedora.name, 'Fedora 40 - x86_64');
    assert.equal(fedora.metalink, 'https://mirrors.fedoraproject.org/metalink?repo=fedora-40&arch=x86_64');
    assert.equal(substituteVars('$a${a}$$a ${b} $ ${a', { a: '1' }), '11$1 ${b} $ ${a');
  });

  it('splits lists on spaces, commas and newlines, as libdnf does', function () {
    assert.deepEqual(splitList('a b,c\nd'), ['a', 'b', 'c', 'd']);
    assert.deepEqual(splitList('a , b,,c'), ['a', 'b', '', 'c']);
    assert.deepEqual(splitList('a\tb'), ['a\tb']);
  });

  it('collects the warnings dnf prints: skipped files, bad ids, bad values, duplicates, missing names', function () {
    const warnings: string[] = [];
    loadRepoFiles(dirs.tricky, VARS, { warnings });
    const all = warnings.join('\n');
    assert.match(all, /bad id for repo: 'bad id!'/);
    assert.match(all, /enabled=maybe/);
    assert.match(all, /priority=abc/);
    assert.match(all, /'one' is listed more than once/);
    assert.match(all, /'three' is missing name/);
    const broken: string[] = [];
    loadRepoFiles(dirs.broken, VARS, { warnings: broken });
    assert.equal(broken.filter((w) => w.startsWith('failed loading')).length, 7);
    assert.ok(broken.some((w) => w.includes('no-bracket.repo') && w.includes("Missing ']' at line 1")));
  });

  it('strict mode turns the first problem into an ArborError naming the file and line', function () {
    assert.throws(() => loadRepoFiles([path.join(dirs.broken, 'no-equal.repo')], VARS, { strict: true }),
      (e: unknown) => e instanceof ArborError && e.code === 'InvalidArgument' && /no-equal\.repo: Missing '=' at line 2/.test(e.message));
  });

  it('reads an explicit list of files, and a missing file is NotFound', function () {
    const repos = loadRepoFiles([path.join(dirs.fedora, 'local.repo')], VARS);
    assert.deepEqual(repos.map((r) => r.id), ['local-40']);
    assert.deepEqual(repos[0].baseurl, ['http://mirror1.example/40/x86_64/', 'http://mirror2.example/40/x86_64/', 'http://mirror3.example/x', 'http://mirror4.example/y']);
    assert.throws(() => loadRepoFiles([path.join(root, 'missing.repo')], VARS), (e: unknown) => e instanceof ArborError && e.code === 'NotFound');
  });

  it('gives loadRepo the first baseurl, and says clearly that metalinks are not fetched', function () {
    const repos = loadRepoFiles(dirs.fedora, VARS);
    assert.deepEqual(repoSource(repos.find((r) => r.id === 'local-40')!), { id: 'local-40', baseurl: 'http://mirror1.example/40/x86_64/' });
    assert.throws(() => repoSource(repos.find((r) => r.id === 'fedora')!),
      (e: unknown) => e instanceof ArborError && e.code === 'Unsupported' && /repo 'fedora'.*only a metalink.*metalink\?repo=fedora-40/.test(e.message));
    const [none] = parseRepoFile('[x]\nname=x\n', 'x.repo', VARS);
    assert.throws(() => repoSource(none), (e: unknown) => e instanceof ArborError && e.code === 'InvalidArgument' && /no baseurl/.test(e.message));
  });

  it('keeps options Arbor does not model', function () {
    const [fedora] = loadRepoFiles(dirs.fedora, VARS);
    assert.equal(fedora.options.countme, '1');
    assert.equal(fedora.options.metadata_expire, '7d');
  });
});
