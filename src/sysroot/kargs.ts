// Kernel command-line arguments as libostree's OstreeKernelArgs edits them: an
// ordered list where a key may repeat; replace keeps the first position of a key,
// append always adds. Pure: strings in, strings out.
import { ArborError } from '../common/errors';

interface Arg { key: string; value: string | null }

function splitArg(arg: string): Arg {
  const i = arg.indexOf('=');
  return i < 0 ? { key: arg, value: null } : { key: arg.slice(0, i), value: arg.slice(i + 1) };
}

function formatArg(a: Arg): string {
  return a.value === null ? a.key : `${a.key}=${a.value}`;
}

/** Splits an options line on spaces, keeping double-quoted spans (`a="b c"`) whole. */
export function splitKargs(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && /\s/.test(ch)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

export class KernelArgs {
  private args: Arg[];

  constructor(args: string[] = []) {
    this.args = args.filter((a) => a !== '').map(splitArg);
  }

  static parse(line: string): KernelArgs {
    return new KernelArgs(splitKargs(line));
  }

  toArray(): string[] {
    return this.args.map(formatArg);
  }

  toString(): string {
    return this.toArray().join(' ');
  }

  has(key: string): boolean {
    return this.args.some((a) => a.key === key);
  }

  values(key: string): Array<string | null> {
    return this.args.filter((a) => a.key === key).map((a) => a.value);
  }

  append(arg: string): void {
    this.args.push(splitArg(arg));
  }

  /**
   * `key=value`: every `key` becomes this one argument, at the key's first
   * position (appended when absent). `key=old=new`: only the `key=old` argument
   * changes; with strict, a missing key or value is an error.
   */
  replace(arg: string, strict = false): void {
    const a = splitArg(arg);
    if (a.value !== null && a.value.includes('=') && this.has(a.key)) {
      const j = a.value.indexOf('=');
      const oldVal = a.value.slice(0, j);
      const hit = this.args.find((x) => x.key === a.key && x.value === oldVal);
      if (hit) {
        hit.value = a.value.slice(j + 1);
        return;
      }
      if (strict) throw new ArborError('NotFound', `kernel argument '${a.key}=${oldVal}' is not set, so '${arg}' cannot replace it`);
    }
    const first = this.args.findIndex((x) => x.key === a.key);
    if (first < 0) {
      if (strict) throw new ArborError('NotFound', `kernel argument '${a.key}' is not set, so '${arg}' cannot replace it`);
      this.args.push(a);
      return;
    }
    this.args = this.args.filter((x, i) => x.key !== a.key || i === first);
    this.args[first] = a;
  }

  /** `key` (only when it has one value) or the exact `key=value`. */
  delete(arg: string): void {
    const a = splitArg(arg);
    const hits = this.args.filter((x) => x.key === a.key);
    if (!hits.length) throw new ArborError('NotFound', `kernel argument '${a.key}' is not set, so it cannot be deleted`);
    if (a.value === null) {
      if (hits.length > 1) throw new ArborError('InvalidArgument', `kernel argument '${a.key}' has ${hits.length} values; delete one as '${a.key}=VALUE'`);
      this.args = this.args.filter((x) => x !== hits[0]);
      return;
    }
    const exact = hits.find((x) => x.value === a.value);
    if (!exact) throw new ArborError('NotFound', `kernel argument '${arg}' is not set (values of '${a.key}': ${hits.map(formatArg).join(' ')})`);
    this.args = this.args.filter((x) => x !== exact);
  }

  /** Removes every argument with this key, if any. */
  deleteKey(key: string): void {
    this.args = this.args.filter((x) => x.key !== key);
  }

  appendIfMissing(arg: string): void {
    if (!this.has(splitArg(arg).key)) this.append(arg);
  }
}

/** A deployment's kernel arguments without the `ostree=` one that Arbor manages. */
export function userKargs(options: string): KernelArgs {
  const k = KernelArgs.parse(options);
  k.deleteKey('ostree');
  return k;
}
