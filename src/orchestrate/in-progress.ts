import type { LedgerEvent } from '../core/schedule/ledger-event.js';

/**
 * Pure: the run of the unit still under way according to its ledger: a `start` line with no `end`
 * or `interrupted` line of the same run, written on this host by a process still alive. A start
 * from another host cannot be checked from here and does not count; neither does a dead pid (the
 * wrapper was killed before it could write its end).
 */
export function runInProgress(events: readonly LedgerEvent[], host: string, isAlive: (pid: number) => boolean): LedgerEvent | undefined {
  const closed = new Set(events.filter((e) => e.event === 'end' || e.event === 'interrupted').map((e) => e.run));
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.event !== 'start' || closed.has(e.run) || e.host !== host || e.pid === null) continue;
    if (isAlive(e.pid)) return e;
  }
  return undefined;
}
