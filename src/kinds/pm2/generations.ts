/**
 * The processes PM2 is known to have forked for each pm_id, each named by its generation: PM2's
 * restart count (`restart_time`) with its start time (`pm_uptime`), as a bus packet, a launch
 * answer or a list of a running app shows them.
 *
 * PM2 counts a restart when the restart timer of a crashed app fires, before the new process exists
 * (lib/God.js handleExit, then executeApp opens the log files before it forks). A stop that lands
 * in between finds the old, exited process and answers `stopped`, and the new process starts all
 * the same. The answer then shows the new count beside the old process's start time: a generation
 * no process was forked for. Such a stop has to wait for the restart to fork, and stop it in turn.
 * The new process's `online` can arrive before that answer (they come on different sockets), so
 * the count alone does not tell: the start time does.
 */
export class Generations {
  /** By pm_id: each restart count seen, with the start time of its newest process. */
  private readonly known = new Map<number, Map<number, number>>();
  private readonly waiters = new Set<() => void>();

  /** A process of this generation was forked for `pmId`. */
  learn(pmId: number, restarts: number, startedAt: number): void {
    if (!Number.isSafeInteger(restarts) || restarts < 0) return;
    let seen = this.known.get(pmId);
    if (!seen) this.known.set(pmId, (seen = new Map()));
    if (seen.get(restarts) === startedAt) return;
    // A start time already known under a lower count is that older process with the count of a
    // restart PM2 has counted but not forked yet (the exit a stop sends once a crashed app's
    // restart timer fired, e.g. with a `restart_delay`): no process of this count exists yet.
    for (const [count, at] of seen) if (at === startedAt && count < restarts) return;
    seen.set(restarts, startedAt);
    for (const wake of this.waiters) wake();
  }

  /** Whether the process PM2 describes with this count and start time was forked. */
  forked(pmId: number, restarts: number, startedAt: number): boolean {
    return this.known.get(pmId)?.get(restarts) === startedAt;
  }

  /** The highest restart count of a process known to have been forked for `pmId`, or -1. */
  newest(pmId: number): number {
    let newest = -1;
    for (const restarts of this.known.get(pmId)?.keys() ?? []) newest = Math.max(newest, restarts);
    return newest;
  }

  /** Resolves true once a process of count `restarts` or more is known for `pmId`, false after `timeoutMs`. */
  waitFor(pmId: number, restarts: number, timeoutMs: number): Promise<boolean> {
    if (this.newest(pmId) >= restarts) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (seen: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(seen);
      };
      const wake = () => {
        if (this.newest(pmId) >= restarts) done(true);
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
