// `npm run bench [-- NAME… [-- ARGS]]`: runs the benchmarks, each in its own process;
// most measure Arbor against the reference tool in the same run and print ratios
// (rpm-md prints absolute load times).
// With no names, all of them; arguments after `--` go to every named benchmark.
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const BENCHES: Record<string, string> = {
  repo: 'OSTree repository: commit, hardlink checkout, fsck vs ostree on /usr/share',
  deploy: 'sysroot deploy vs ostree admin deploy',
  pull: 'pull over loopback HTTP (nginx) vs ostree pull',
  'rpm-read': 'RPM header parsing throughput; payload extraction vs rpm2cpio | cpio',
  'rpm-md': 'loading a 50,000-package primary: cold and cached',
  solve: 'loading + solving a 500-package request vs dnf --assumeno',
};

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const names = sep < 0 ? argv : argv.slice(0, sep);
const extra = sep < 0 ? [] : argv.slice(sep + 1);
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known:\n${Object.entries(BENCHES).map(([n, d]) => `  ${n.padEnd(9)} ${d}`).join('\n')}`);
  process.exit(2);
}
let failed = 0;
for (const name of names.length ? names : Object.keys(BENCHES)) {
  console.log(`\n=== ${name}: ${BENCHES[name]}`);
  const r = spawnSync(process.execPath, [path.join(__dirname, `${name}.js`), ...extra], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
