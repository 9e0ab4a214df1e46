// Version comparison exactly as rpm 4.18's rpmvercmp() and rpmVersionCompare():
// alternating digit and letter segments, '~' sorts before anything (pre-releases),
// '^' after the base version but before any further segment (post-release snapshots).
import { Evr } from './types';

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const TILDE = 126;
const CARET = 94;

/** -1, 0 or 1, as rpm.vercmp(a, b). */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const n = a.length;
  const m = b.length;
  const ca = (k: number): number => (k < n ? a.charCodeAt(k) : 0);
  const cb = (k: number): number => (k < m ? b.charCodeAt(k) : 0);
  while (i < n || j < m) {
    while (i < n && !isDigit(ca(i)) && !isAlpha(ca(i)) && ca(i) !== TILDE && ca(i) !== CARET) i++;
    while (j < m && !isDigit(cb(j)) && !isAlpha(cb(j)) && cb(j) !== TILDE && cb(j) !== CARET) j++;
    if (ca(i) === TILDE || cb(j) === TILDE) {
      if (ca(i) !== TILDE) return 1;
      if (cb(j) !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca(i) === CARET || cb(j) === CARET) {
      if (i >= n) return -1;
      if (j >= m) return 1;
      if (ca(i) !== CARET) return 1;
      if (cb(j) !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < n && j < m)) break;
    let i2 = i;
    let j2 = j;
    const numeric = isDigit(ca(i));
    const inSeg = numeric ? isDigit : isAlpha;
    while (i2 < n && inSeg(ca(i2))) i2++;
    while (j2 < m && inSeg(cb(j2))) j2++;
    if (j2 === j) return numeric ? 1 : -1; // segments of different kinds: numbers are newer
    let s1 = a.slice(i, i2);
    let s2 = b.slice(j, j2);
    if (numeric) {
      s1 = s1.replace(/^0+/, '');
      s2 = s2.replace(/^0+/, '');
      if (s1.length !== s2.length) return s1.length > s2.length ? 1 : -1;
    }
    if (s1 !== s2) return s1 < s2 ? -1 : 1;
    i = i2;
    j = j2;
  }
  if (i >= n && j >= m) return 0;
  return i >= n ? -1 : 1;
}

/** Compares epoch, then version, then release; an empty release on either side matches any. */
export function compareEvr(a: Evr, b: Evr): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === '' || b.release === '') return 0;
  return rpmvercmp(a.release, b.release);
}
