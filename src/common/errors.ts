// Arbor's one error type. Every failure a person can meet carries a stable code; the
// table below maps each code to a D-Bus error name and a CLI exit status.

export type ErrorCode =
  | 'InvalidArgument' // bad input from the user: flags, refspecs, paths
  | 'NotFound' // a ref, object, file or deployment that does not exist
  | 'Exists' // refusing to overwrite something
  | 'Corrupted' // stored or received data that fails its checks
  | 'Unsafe' // input that would write outside its target
  | 'Unsupported' // a valid request this build or filesystem cannot do
  | 'Locked' // another process holds the lock
  | 'Unsolvable' // no package set satisfies the request
  | 'Cancelled' // the caller's AbortSignal fired
  | 'Io'; // the operating system refused (disk full, permissions)

export const ERROR_TABLE: Record<ErrorCode, { dbus: string; exit: number }> = {
  InvalidArgument: { dbus: 'org.arbor.Arbor1.Error.InvalidArgument', exit: 2 },
  NotFound: { dbus: 'org.arbor.Arbor1.Error.NotFound', exit: 3 },
  Exists: { dbus: 'org.arbor.Arbor1.Error.Exists', exit: 4 },
  Corrupted: { dbus: 'org.arbor.Arbor1.Error.Corrupted', exit: 5 },
  Unsafe: { dbus: 'org.arbor.Arbor1.Error.Unsafe', exit: 6 },
  Unsupported: { dbus: 'org.arbor.Arbor1.Error.Unsupported', exit: 7 },
  Locked: { dbus: 'org.arbor.Arbor1.Error.Locked', exit: 8 },
  Unsolvable: { dbus: 'org.arbor.Arbor1.Error.Unsolvable', exit: 9 },
  Cancelled: { dbus: 'org.arbor.Arbor1.Error.Cancelled', exit: 130 },
  Io: { dbus: 'org.arbor.Arbor1.Error.Io', exit: 1 },
};

export class ArborError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArborError';
    this.code = code;
  }
}

/** Turns any thrown value into an ArborError, keeping ArborErrors as they are. */
export function toArborError(err: unknown, context?: string): ArborError {
  if (err instanceof ArborError) return err;
  const e = err as NodeJS.ErrnoException;
  const prefix = context ? `${context}: ` : '';
  if (e && typeof e.code === 'string') {
    const what = e.path ? `${e.path}: ` : '';
    const reason = e.message.replace(/^[A-Z]+: /, '').replace(/, [a-z]+ '.*'$/, '');
    const code: ErrorCode =
      e.code === 'ENOENT' ? 'NotFound' : e.code === 'EEXIST' ? 'Exists' : e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP' ? 'Unsupported' : 'Io';
    return new ArborError(code, `${prefix}${what}${reason}`, { cause: err });
  }
  return new ArborError('Io', `${prefix}${e instanceof Error ? e.message : String(err)}`, { cause: err });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ArborError('Cancelled', 'operation cancelled');
}
