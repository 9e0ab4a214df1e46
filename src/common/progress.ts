// Long work reports progress through a plain callback and stops on an AbortSignal.
// The daemon turns events into D-Bus signals, the CLI into a status line, tests
// into an array they assert on.

export interface ProgressEvent {
  /** What is being counted, e.g. 'commit', 'checkout', 'fsck'. */
  phase: string;
  done: number;
  total?: number;
  bytes?: number;
  message?: string;
}

export type ProgressSink = (e: ProgressEvent) => void;

export interface WorkOptions {
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/** Runs at most `n` async jobs at once, the others in the order they came. */
export function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  // A queue with a moving head: Array.shift() copies the array, and a commit queues tens of thousands of jobs.
  let queue: Array<() => void> = [];
  let head = 0;
  const next = (): void => {
    active--;
    if (head < queue.length) {
      const run = queue[head++];
      if (head === queue.length) {
        queue = [];
        head = 0;
      } else if (head >= 1024 && head * 2 >= queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      run();
    }
  };
  return <T>(job: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const run = (): void => {
        active++;
        job().then(resolve, reject).finally(next);
      };
      if (active < n) run();
      else queue.push(run);
    });
}

/** 1536 → '1.5 KiB', for progress lines and reports. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
