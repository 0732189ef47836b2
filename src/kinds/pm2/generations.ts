/**
 * For each pm_id, the highest PM2 restart count (`restart_time`) of a process known to have been
 * forked: a process of that generation was seen online, exiting, launched, or running in a list.
 *
 * PM2 counts a restart when the restart timer of a crashed app fires, before the new process exists
 * (lib/God.js handleExit, then executeApp opens the log files before it forks). A stop that lands
 * in between finds the old, exited process and answers `stopped`, and the new process starts all
 * the same. A stop answer whose restart count is above the known generation is that case: the
 * restart is still on its way, and the app is stopped for good only once it has come and been
 * stopped in turn.
 */
export class Generations {
  private readonly known = new Map<number, number>();
  private readonly waiters = new Set<() => void>();

  /** A process of generation `restarts` was forked for `pmId`. */
  learn(pmId: number, restarts: number): void {
    if (!Number.isSafeInteger(restarts) || restarts < 0) return;
    if ((this.known.get(pmId) ?? -1) >= restarts) return;
    this.known.set(pmId, restarts);
    for (const wake of this.waiters) wake();
  }

  /** Whether a process of generation `restarts` (or a later one) is known to have been forked. */
  has(pmId: number, restarts: number): boolean {
    return (this.known.get(pmId) ?? -1) >= restarts;
  }

  /** Resolves true once generation `restarts` of `pmId` is known, false after `timeoutMs`. */
  waitFor(pmId: number, restarts: number, timeoutMs: number): Promise<boolean> {
    if (this.has(pmId, restarts)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (seen: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(seen);
      };
      const wake = () => {
        if (this.has(pmId, restarts)) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(wake);
    });
  }

  forget(pmId: number): void {
    this.known.delete(pmId);
  }

  /** A new daemon numbers its processes afresh. */
  clear(): void {
    this.known.clear();
  }
}
