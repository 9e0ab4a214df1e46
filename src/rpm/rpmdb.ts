// The sqlite rpmdb (rpm >= 4.16's rpmdb.sqlite): one row per installed package holding
// its header as rpm stores it — the package's immutable header region followed by the
// tags rpm adds at install time — plus the index tables `rpm -qf/-q --whatprovides`
// read. Written whole into a temporary file and renamed into place.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ArborError, toArborError } from '../common/errors';
import { appendEntries, EntryInput, Header } from './header';
import { parseRichDep, richLeaves } from './richdep';
import { SENSE, SIGTAG, TAG, TYPE } from './tags';
import { Nevra } from './types';

/** Where composed trees keep it (rpm-ostree's choice; `rpm --dbpath /usr/share/rpm`). */
export const TREE_RPMDB_DIR = 'usr/share/rpm';
export const RPMDB_FILE = 'rpmdb.sqlite';

export interface InstalledPackage {
  /** The package's main header, as read from the RPM file. */
  header: Header;
  /** Its signature header: digests and sizes rpm copies into the installed header. */
  signature?: Header;
}

export interface WriteRpmdbOptions {
  /** Unix seconds recorded as INSTALLTIME and INSTALLTID (default SOURCE_DATE_EPOCH, else now). */
  installTime?: number;
  /** rpm's transaction colour (3 on x86_64 multilib hosts). */
  color?: number;
}

// Index tables in the order rpm creates them, with the header tag each indexes.
const INDEXES: Array<[table: string, tag: number]> = [
  ['Name', TAG.NAME],
  ['Basenames', TAG.BASENAMES],
  ['Group', TAG.GROUP],
  ['Requirename', TAG.REQUIRENAME],
  ['Providename', TAG.PROVIDENAME],
  ['Conflictname', TAG.CONFLICTNAME],
  ['Obsoletename', TAG.OBSOLETENAME],
  ['Triggername', TAG.TRIGGERNAME],
  ['Dirnames', TAG.DIRNAMES],
  ['Installtid', TAG.INSTALLTID],
  ['Sigmd5', TAG.SIGMD5],
  ['Sha1header', TAG.SHA1HEADER],
  ['Filetriggername', TAG.FILETRIGGERNAME],
  ['Transfiletriggername', TAG.TRANSFILETRIGGERNAME],
  ['Recommendname', TAG.RECOMMENDNAME],
  ['Suggestname', TAG.SUGGESTNAME],
  ['Supplementname', TAG.SUPPLEMENTNAME],
  ['Enhancename', TAG.ENHANCENAME],
];
const BLOB_KEYS = new Set(['Installtid', 'Sigmd5']);
// Only these get a hnum index in rpm's schema (the rest are looked up by key alone).
const NO_HNUM_INDEX = new Set(['Name', 'Group', 'Installtid', 'Sigmd5', 'Sha1header']);
const NO_KEY_INDEX = new Set(['Installtid', 'Sigmd5']);

function schema(): string {
  const out = [`CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL);`];
  for (const [t] of INDEXES) {
    const keyType = BLOB_KEYS.has(t) ? 'BLOB' : 'TEXT';
    out.push(`CREATE TABLE IF NOT EXISTS '${t}' (key '${keyType}' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum));`);
    if (!NO_KEY_INDEX.has(t)) out.push(`CREATE INDEX '${t}_key_idx' ON '${t}'(key ASC);`);
    if (!NO_HNUM_INDEX.has(t)) out.push(`CREATE INDEX '${t}_hnum_idx' ON '${t}'(hnum ASC);`);
  }
  return out.join('\n');
}

/**
 * The header rpm stores for an installed package: the original blob untouched (its
 * region keeps its signature-verifiable bytes) with install-time tags appended after it.
 */
export function installedHeaderBlob(pkg: InstalledPackage, opts: Required<WriteRpmdbOptions>): Buffer {
  const h = pkg.header;
  const sig = pkg.signature;
  const extra: EntryInput[] = [];
  const add = (tag: number, type: number, value: EntryInput['value'] | undefined): void => {
    if (value !== undefined && !h.has(tag)) extra.push({ tag, type, value });
  };
  if (sig) {
    const size = sig.getNumber(SIGTAG.SIZE);
    add(TAG.SIGSIZE, TYPE.INT32, size === undefined ? undefined : [size]);
    add(TAG.SIGMD5, TYPE.BIN, sig.getBin(SIGTAG.MD5));
    add(TAG.SHA1HEADER, TYPE.STRING, sig.getString(SIGTAG.SHA1));
    add(TAG.SHA256HEADER, TYPE.STRING, sig.getString(SIGTAG.SHA256));
    const payload = sig.getNumber(SIGTAG.PAYLOADSIZE);
    add(TAG.ARCHIVESIZE, TYPE.INT32, payload === undefined ? undefined : [payload]);
  }
  add(TAG.INSTALLTIME, TYPE.INT32, [opts.installTime]);
  const nfiles = h.getStrings(TAG.BASENAMES)?.length ?? 0;
  // Every file is installed normally: Arbor installs whole packages into a fresh tree.
  if (nfiles) add(TAG.FILESTATES, TYPE.CHAR, new Array<number>(nfiles).fill(0));
  add(TAG.INSTALLCOLOR, TYPE.INT32, [opts.color]);
  add(TAG.INSTALLTID, TYPE.INT32, [opts.installTime]);
  return appendEntries(h.blob(), extra.sort((a, b) => a.tag - b.tag));
}

const INSTALL_ONLY = SENSE.SCRIPT_PRE | SENSE.SCRIPT_POST | SENSE.RPMLIB | SENSE.KEYRING | SENSE.PRETRANS | SENSE.POSTTRANS;
const ERASE_ONLY = SENSE.SCRIPT_PREUN | SENSE.SCRIPT_POSTUN;

/** A dependency's index keys: its text and, for a rich dependency, every name inside it. */
function depKeys(text: string, idx: number): Array<[unknown, number]> {
  const out: Array<[unknown, number]> = [[text, idx]];
  if (text.startsWith('(')) {
    try {
      for (const leaf of richLeaves(parseRichDep(text))) out.push([leaf.name, idx]);
    } catch {
      // rpm indexes an unparsable rich dependency by its text alone.
    }
  }
  return out;
}

/** The (key, idx) rows a header contributes to one index table, as rpm computes them. */
function indexKeys(table: string, tag: number, h: Header): Array<[unknown, number]> {
  if (!h.has(tag)) return [];
  switch (table) {
    case 'Installtid': {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(h.getNumber(tag)! >>> 0); // rpm keys integers in host order
      return [[b, 0]];
    }
    case 'Sigmd5':
      return [[h.getBin(tag), 0]];
    case 'Group':
      return [[h.getStrings(tag)![0], 0]];
    case 'Requirename': {
      // As rpm's rpmdbAdd: requirements needed only while installing (scriptlet and
      // rpmlib() prerequisites) are not indexed; those also needed for erasing are.
      const flags = h.getNumbers(TAG.REQUIREFLAGS) ?? [];
      return (h.getStrings(tag) ?? []).flatMap((k, i) => {
        const f = flags[i] ?? 0;
        return f & INSTALL_ONLY && !(f & ERASE_ONLY) ? [] : depKeys(k, i);
      });
    }
    case 'Name': case 'Basenames': case 'Dirnames': case 'Sha1header':
      return (h.getStrings(tag) ?? []).map((k, i): [unknown, number] => [k, i]);
    default:
      return (h.getStrings(tag) ?? []).flatMap((k, i) => depKeys(k, i));
  }
}

/**
 * Writes `dbDir/rpmdb.sqlite` holding exactly these packages, replacing any db there.
 * The file is built beside the target and renamed in, so readers never see half of it.
 */
export function writeRpmdb(dbDir: string, packages: InstalledPackage[], opts: WriteRpmdbOptions = {}): void {
  const sde = process.env.SOURCE_DATE_EPOCH;
  const full: Required<WriteRpmdbOptions> = {
    installTime: opts.installTime ?? (sde && /^\d+$/.test(sde) ? Number(sde) : Math.floor(Date.now() / 1000)),
    color: opts.color ?? (process.arch === 'x64' ? 3 : 0),
  };
  fs.mkdirSync(dbDir, { recursive: true });
  const target = path.join(dbDir, RPMDB_FILE);
  const tmp = path.join(dbDir, `.${RPMDB_FILE}.tmp-${process.pid}`);
  fs.rmSync(tmp, { force: true });
  const db = new Database(tmp);
  try {
    // A rollback journal, not WAL: a composed tree is read-only, and WAL readers need to write.
    db.pragma('journal_mode = DELETE');
    db.exec(schema());
    const insertPkg = db.prepare(`INSERT INTO 'Packages' (blob) VALUES (?)`);
    const inserts = new Map(INDEXES.map(([t]) => [t, db.prepare(`INSERT INTO '${t}' (key, hnum, idx) VALUES (?, ?, ?)`)]));
    db.transaction(() => {
      for (const pkg of packages) {
        const blob = installedHeaderBlob(pkg, full);
        const h = Header.parseBlob(blob, `rpmdb entry for ${pkg.header.where}`);
        const hnum = Number(insertPkg.run(blob).lastInsertRowid);
        for (const [table, tag] of INDEXES) {
          for (const [key, idx] of indexKeys(table, tag, h)) inserts.get(table)!.run(key, hnum, idx);
        }
      }
    })();
    db.close();
    const fd = fs.openSync(tmp, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, target);
  } catch (e) {
    if (db.open) db.close();
    fs.rmSync(tmp, { force: true });
    throw toArborError(e, `writing rpmdb in ${dbDir}`);
  }
}

export interface RpmdbRecord {
  hnum: number;
  header: Header;
}

/** Every package in an rpmdb.sqlite, in install order. */
export function readRpmdb(dbDir: string): RpmdbRecord[] {
  const file = path.join(dbDir, RPMDB_FILE);
  if (!fs.existsSync(file)) throw new ArborError('NotFound', `no rpm database at ${file}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new ArborError('Corrupted', `${file}: cannot open as sqlite (${(e as Error).message})`);
  }
  try {
    const rows = db.prepare(`SELECT hnum, blob FROM 'Packages' ORDER BY hnum`).all() as Array<{ hnum: number; blob: Buffer }>;
    return rows.map((r) => ({ hnum: r.hnum, header: Header.parseBlob(r.blob, `${file}: package ${r.hnum}`) }));
  } catch (e) {
    if (e instanceof ArborError) throw e;
    throw new ArborError('Corrupted', `${file}: not a readable rpm database (${(e as Error).message})`);
  } finally {
    db.close();
  }
}

export function headerNevra(h: Header): Nevra {
  return {
    name: h.getString(TAG.NAME) ?? '',
    epoch: h.getNumber(TAG.EPOCH) ?? 0,
    version: h.getString(TAG.VERSION) ?? '',
    release: h.getString(TAG.RELEASE) ?? '',
    arch: h.getString(TAG.ARCH) ?? '',
  };
}
