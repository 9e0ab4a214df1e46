// Ref names and refspecs as OSTree spells them: `ref` for a local branch under
// refs/heads, `remote:ref` for refs/remotes/<remote>/<ref>.
import { ArborError } from '../common/errors';

const REF_COMPONENT = '[\\w\\d][-._\\w\\d]*';
const REF_RE = new RegExp(`^${REF_COMPONENT}(/${REF_COMPONENT})*$`);
const REMOTE_RE = new RegExp(`^${REF_COMPONENT}$`);

export interface Refspec {
  remote: string | null;
  ref: string;
}

export function isValidRef(ref: string): boolean {
  return REF_RE.test(ref);
}

export function validateRef(ref: string, what = 'ref'): string {
  if (!isValidRef(ref)) throw new ArborError('InvalidArgument', `${what} '${ref}' is not a valid ref name (letters, digits, '-', '.', '_', separated by '/')`);
  return ref;
}

export function validateRemoteName(name: string): string {
  if (!REMOTE_RE.test(name)) throw new ArborError('InvalidArgument', `'${name}' is not a valid remote name`);
  return name;
}

export function parseRefspec(spec: string): Refspec {
  const i = spec.indexOf(':');
  if (i < 0) return { remote: null, ref: validateRef(spec, 'refspec') };
  return { remote: validateRemoteName(spec.slice(0, i)), ref: validateRef(spec.slice(i + 1), 'refspec') };
}

export function formatRefspec(r: Refspec): string {
  return r.remote ? `${r.remote}:${r.ref}` : r.ref;
}
