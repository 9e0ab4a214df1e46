// The OSTree golden vectors made by ostree 2022.7 (see ostree-vectors/README.md):
// real commit, dirtree, dirmeta and summary files, and the content headers inside
// .filez objects and content streams.
import fs from 'node:fs';
import path from 'node:path';
import { OSTREE_TYPES } from './random-values';

/** The repository root, from dist/test/gvariant/support or test/gvariant/support. */
const projectRoot = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../../..' : '../../..');

export const VECTORS_DIR = path.resolve(projectRoot, '../shared/reference/ostree-vectors');

export interface GoldenObject {
  /** File name, e.g. '826368e8….commit' or 'summary'. */
  name: string;
  type: string;
  bytes: Buffer;
}

const TYPE_BY_EXT: Record<string, string> = {
  commit: OSTREE_TYPES.commit,
  dirtree: OSTREE_TYPES.dirtree,
  dirmeta: OSTREE_TYPES.dirmeta,
};

/** Every metadata object in objects/ plus the summary file. */
export function goldenObjects(): GoldenObject[] {
  const dir = path.join(VECTORS_DIR, 'objects');
  const out: GoldenObject[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const type = TYPE_BY_EXT[path.extname(name).slice(1)];
    if (type) out.push({ name, type, bytes: fs.readFileSync(path.join(dir, name)) });
  }
  out.push({ name: 'summary', type: OSTREE_TYPES.summary, bytes: fs.readFileSync(path.join(VECTORS_DIR, 'summary')) });
  return out;
}

/**
 * The GVariant headers framed as BE32 length, 4 zero bytes, header: the archive
 * header (tuuuusa(ayay)) of each .filez object and the content header
 * (uuuusa(ayay)) of each content stream; and the bare-user `user.ostreemeta`
 * xattrs (uuua(ayay)).
 */
export function goldenHeaders(): GoldenObject[] {
  const out: GoldenObject[] = [];
  const unframe = (b: Buffer): Buffer => b.subarray(8, 8 + b.readUInt32BE(0));
  const objects = path.join(VECTORS_DIR, 'objects');
  for (const name of fs.readdirSync(objects).sort()) {
    if (name.endsWith('.filez')) out.push({ name, type: OSTREE_TYPES.archiveHeader, bytes: unframe(fs.readFileSync(path.join(objects, name))) });
  }
  for (const name of ['hello.txt.content-stream.bin', 'link.content-stream.bin']) {
    out.push({ name, type: OSTREE_TYPES.contentHeader, bytes: unframe(fs.readFileSync(path.join(VECTORS_DIR, name))) });
  }
  const bareUser = path.join(VECTORS_DIR, 'bare-user-xattrs');
  for (const name of fs.readdirSync(bareUser).sort()) {
    if (name.endsWith('.user.ostreemeta.hex')) {
      out.push({ name, type: OSTREE_TYPES.dirmeta, bytes: Buffer.from(fs.readFileSync(path.join(bareUser, name), 'utf8').trim(), 'hex') });
    }
  }
  return out;
}

export function readObject(name: string): Buffer {
  return fs.readFileSync(path.join(VECTORS_DIR, 'objects', name));
}
