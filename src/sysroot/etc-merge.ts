// The three-way /etc merge. A deployment's usr/etc holds the OS defaults and its
// etc the admin's live copy; what the admin changed (edits, additions,
// deletions) is carried onto the new deployment's fresh copy of its defaults, so
// local changes win and untouched files take the new defaults. Mirrors libostree's
// prepare_deployment_etc and merge_configuration_from.
import fs from 'node:fs';
import path from 'node:path';
import { ArborError } from '../common/errors';
import { native } from '../common/native';

export interface EtcDiff {
  /** Relative paths under etc. A removed directory is listed once; an added one with its contents. */
  modified: string[];
  added: string[];
  removed: string[];
}

/** Gives a fresh checkout its etc: a copy of usr/etc (an etc-only tree is moved to usr/etc first). */
export function prepareEtc(deployDir: string): void {
  const usrEtc = `${deployDir}/usr/etc`;
  const etc = `${deployDir}/etc`;
  const hasUsrEtc = exists(usrEtc);
  if (exists(etc)) {
    if (hasUsrEtc) throw new ArborError('Corrupted', `${deployDir}: the tree has both /etc and /usr/etc`);
    fs.renameSync(etc, usrEtc);
  } else if (!hasUsrEtc) return;
  copyTree(usrEtc, etc, true);
}

/** What the admin changed: a deployment's etc against its usr/etc (xattrs ignored). */
export function diffEtc(deployDir: string): EtcDiff {
  const out: EtcDiff = { modified: [], added: [], removed: [] };
  const a = `${deployDir}/usr/etc`;
  const b = `${deployDir}/etc`;
  if (!exists(a) || !exists(b)) return out;
  diffDirs(a, b, '', out);
  return out;
}

/** Directory entries in the kernel's order, as libostree's g_file_enumerate sees them. */
function readdirRaw(dir: string): string[] {
  const d = fs.opendirSync(dir);
  const out: string[] = [];
  try {
    for (let e = d.readSync(); e; e = d.readSync()) out.push(e.name);
  } finally {
    d.closeSync();
  }
  return out;
}

function diffDirs(a: string, b: string, rel: string, out: EtcDiff): void {
  const na = new Set(readdirRaw(a));
  const nb = readdirRaw(b);
  for (const name of na) {
    const r = rel ? `${rel}/${name}` : name;
    let sb: fs.Stats;
    try {
      sb = fs.lstatSync(`${b}/${name}`);
    } catch {
      out.removed.push(r);
      continue;
    }
    const sa = fs.lstatSync(`${a}/${name}`);
    if ((sa.mode & 0o170000) !== (sb.mode & 0o170000)) out.modified.push(r);
    else if (sa.isDirectory()) diffDirs(`${a}/${name}`, `${b}/${name}`, r, out);
    else if (!sameFile(`${a}/${name}`, sa, `${b}/${name}`, sb)) out.modified.push(r);
  }
  for (const name of nb) {
    if (na.has(name)) continue;
    const r = rel ? `${rel}/${name}` : name;
    out.added.push(r);
    if (fs.lstatSync(`${b}/${name}`).isDirectory()) addRecursive(`${b}/${name}`, r, out);
  }
}

/** ostree lists an added directory's contents too. */
function addRecursive(dir: string, rel: string, out: EtcDiff): void {
  for (const name of readdirRaw(dir)) {
    const r = `${rel}/${name}`;
    out.added.push(r);
    if (fs.lstatSync(`${dir}/${name}`).isDirectory()) addRecursive(`${dir}/${name}`, r, out);
  }
}

function sameFile(pa: string, sa: fs.Stats, pb: string, sb: fs.Stats): boolean {
  if (sa.ino === sb.ino && sa.dev === sb.dev) return true;
  if (sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid) return false;
  if (sa.isSymbolicLink()) return fs.readlinkSync(pa) === fs.readlinkSync(pb);
  if (!sa.isFile()) return true;
  return sa.size === sb.size && fs.readFileSync(pa).equals(fs.readFileSync(pb));
}

/** Applies the merge deployment's /etc changes to a new deployment whose etc was just prepared. */
export function mergeEtc(mergeDir: string, newDir: string, diff: EtcDiff = diffEtc(mergeDir)): EtcDiff {
  const newEtc = `${newDir}/etc`;
  if (!exists(newEtc)) return diff;
  const modEtc = `${mergeDir}/etc`;
  for (const r of diff.removed) fs.rmSync(`${newEtc}/${r}`, { recursive: true, force: true });
  for (const r of [...diff.modified, ...diff.added]) copyModified(modEtc, newEtc, r);
  return diff;
}

function copyModified(modEtc: string, newEtc: string, rel: string): void {
  const src = `${modEtc}/${rel}`;
  const dst = `${newEtc}/${rel}`;
  const st = fs.lstatSync(src);
  ensureParents(modEtc, newEtc, path.dirname(rel));
  let existing: fs.Stats | null = null;
  try {
    existing = fs.lstatSync(dst);
  } catch { /* absent */ }
  if (existing?.isDirectory()) {
    // A whole added or changed directory was already copied with its parent.
    if (st.isDirectory()) return;
    throw new ArborError('Unsupported', `/etc merge: ${rel} was locally modified, but the new default is a directory; cannot merge`);
  }
  if (existing) fs.unlinkSync(dst);
  if (st.isDirectory()) copyTree(src, dst, false);
  else if (st.isFile() || st.isSymbolicLink()) copyEntry(src, dst, st, false);
}

/** Creates missing parent directories of a copied path, with the metadata the admin's etc has. */
function ensureParents(modEtc: string, newEtc: string, relDir: string): void {
  if (relDir === '.' || relDir === '') return;
  const parts = relDir.split('/');
  let rel = '';
  for (const p of parts) {
    rel = rel ? `${rel}/${p}` : p;
    const dst = `${newEtc}/${rel}`;
    let st: fs.Stats | null = null;
    try {
      st = fs.lstatSync(dst);
    } catch { /* absent */ }
    if (st?.isDirectory()) continue;
    if (st) fs.unlinkSync(dst);
    const sst = fs.lstatSync(`${modEtc}/${rel}`);
    fs.mkdirSync(dst, { mode: 0o700 });
    fs.chownSync(dst, sst.uid, sst.gid);
    fs.chmodSync(dst, sst.mode & 0o7777);
  }
}

/** Copies a tree: directories, regular files, symlinks, with owner, mode, times and (optionally) xattrs. */
export function copyTree(src: string, dst: string, xattrs: boolean): void {
  const st = fs.lstatSync(src);
  if (!st.isDirectory()) {
    copyEntry(src, dst, st, xattrs);
    return;
  }
  fs.mkdirSync(dst, { mode: 0o700 });
  for (const name of fs.readdirSync(src)) {
    const s = `${src}/${name}`;
    const cst = fs.lstatSync(s);
    if (cst.isDirectory()) copyTree(s, `${dst}/${name}`, xattrs);
    else copyEntry(s, `${dst}/${name}`, cst, xattrs);
  }
  fs.chownSync(dst, st.uid, st.gid);
  if (xattrs) copyXattrs(src, dst);
  fs.chmodSync(dst, st.mode & 0o7777);
  fs.utimesSync(dst, st.atime, st.mtime);
}

function copyEntry(src: string, dst: string, st: fs.Stats, xattrs: boolean): void {
  if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(src), dst);
    fs.lchownSync(dst, st.uid, st.gid);
    if (xattrs) copyXattrs(src, dst);
    return;
  }
  if (!st.isFile()) return; // sockets, fifos and devices do not belong in /etc
  fs.copyFileSync(src, dst, fs.constants.COPYFILE_EXCL);
  fs.chownSync(dst, st.uid, st.gid);
  if (xattrs) copyXattrs(src, dst);
  fs.chmodSync(dst, st.mode & 0o7777);
  fs.utimesSync(dst, st.atime, st.mtime);
}

function copyXattrs(src: string, dst: string): void {
  for (const [n, v] of native.listxattrs(src)) native.setxattr(dst, n, v);
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
