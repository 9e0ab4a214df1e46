// Validity of the string-like basic types beyond "UTF-8 without NUL": object paths
// (o) and signatures (g) follow g_variant_is_object_path / g_variant_is_signature.
import { parseTypeList } from './type';

const OBJECT_PATH = /^\/(?:[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)*)?$/;
const SIGNATURE_CHARS = /^[ybnqiuxthdvasog(){}]*$/;
const LONE_SURROGATE = /\p{Surrogate}/u;

export function isObjectPath(s: string): boolean {
  return OBJECT_PATH.test(s);
}

/** A concatenation of complete types; GLib's rule also excludes maybe types. */
export function isSignature(s: string): boolean {
  if (!SIGNATURE_CHARS.test(s)) return false;
  try {
    parseTypeList(s);
    return true;
  } catch {
    return false;
  }
}

/** True if the string can be written as UTF-8 (no lone UTF-16 surrogates). */
export function isWellFormedUnicode(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}
