// Reading a deployment's os-release (usr/lib/os-release, else etc/os-release)
// for boot entry titles. Symlinks are resolved inside the deployment, never on
// the host: an absolute link in a tree points into that tree.
import fs from 'node:fs';
import path from 'node:path';

export function readOsRelease(deployDir: string): Record<string, string> {
  for (const rel of ['usr/lib/os-release', 'etc/os-release']) {
    const text = readInRoot(deployDir, rel);
    if (text !== null) return parseOsRelease(text);
  }
  return {};
}

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    const q = /^"(.*)"$/.exec(v) ?? /^'(.*)'$/.exec(v);
    if (q) v = q[1].replace(/\\(["\\`$])/g, '$1');
    out[m[1]] = v;
  }
  return out;
}

/** Contents of rel inside root, following symlinks within root (at most 32), or null. */
export function readInRoot(root: string, rel: string): string | null {
  let cur = rel;
  for (let hops = 0; hops < 32; hops++) {
    const parts = cur.split('/').filter((p) => p && p !== '.');
    const stack: string[] = [];
    let redirected = false;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === '..') { stack.pop(); continue; }
      stack.push(parts[i]);
      const p = `${root}/${stack.join('/')}`;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(p);
      } catch {
        return null;
      }
      if (st.isSymbolicLink()) {
        const t = fs.readlinkSync(p);
        const rest = parts.slice(i + 1).join('/');
        const base = t.startsWith('/') ? t : path.posix.join(stack.slice(0, -1).join('/'), t);
        cur = rest ? `${base}/${rest}` : base;
        redirected = true;
        break;
      }
    }
    if (!redirected) {
      try {
        return fs.readFileSync(`${root}/${stack.join('/')}`, 'utf8');
      } catch {
        return null;
      }
    }
  }
  return null;
}
