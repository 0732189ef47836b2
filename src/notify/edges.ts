import type { FailoverStateName, UnitReport } from '../core/report-types.js';
import type { NotificationEvent, NotificationType } from './types.js';

/**
 * What the edge detector remembers of one unit between reports. Small JSON: the caller persists
 * it (after `notify()` resolved, so a crash before the outbox write re-derives the edge).
 */
export interface EdgeMemory {
  /** The state of the last report seen. */
  state: FailoverStateName;
  /** The report's `failovers` counter as last seen: a higher one is a new failover. */
  failovers: number;
  /** The last failover / failback-failed sent while the unit is off its primary, for repeats. */
  twin: { type: 'failover' | 'failback-failed'; at: number } | null;
  /** When `critical` was last sent (ms); non-null while the unit is notified critical. */
  criticalAt: number | null;
  /** Since when `active` has been `none` (ms); null while a side is up. */
  noneSince: number | null;
  /** When `recovered` was last sent: a later `critical` is a new one. */
  recoveredAt?: number | null;
}

export interface EdgeOptions {
  /** 0 turns repeats off. */
  repeatIntervalMs: number;
  host: string;
  /**
   * How long `active: none` may last in a transitional state (failing-over, probing, failing-back)
   * before it counts as critical: there one side is stopped while the other starts. @default 60000
   */
  transitionGraceMs?: number;
}

const onTwin = new Set<FailoverStateName>(['failing-over', 'backup']);
const settled = new Set<FailoverStateName>(['primary', 'backup']);

/** An event of any type, for the caller's own notifications (manager-start, missed-run, ...). */
export function notificationEvent(
  type: NotificationType,
  fields: { unit?: string | null; state?: string | null; active?: string | null; reason: string },
  now: number,
  host: string,
): NotificationEvent {
  return {
    type,
    unit: fields.unit ?? null,
    state: fields.state ?? null,
    active: fields.active ?? null,
    reason: fields.reason,
    at: new Date(now).toISOString(),
    host,
  };
}

/**
 * The notifications one new report of a unit calls for. Pure: `memory` in, `memory` out.
 * - failover: the unit left its primary for its twin (a higher `failovers` counter, so the same
 *   report seen again after a restart sends nothing); failback-failed: the same from a failback trial.
 * - failback: back on the primary from the twin or a trial.
 * - critical: neither side up (`active === 'none'`), at once in a settled state, after
 *   `transitionGraceMs` in a transitional one; recovered: a side is up again after critical.
 * - repeats: while on the twin (`backup`) or critical, the last notice again `repeatIntervalMs` after
 *   the last one sent for the unit.
 * Every real edge is sent, even inside repeatInterval (a flapping unit must not look fixed).
 */
export function unitEdges(
  prev: UnitReport | undefined,
  next: UnitReport,
  memory: EdgeMemory | undefined,
  now: number,
  opts: EdgeOptions,
): { events: NotificationEvent[]; keys: string[]; memory: EdgeMemory } {
  const types: NotificationType[] = [];
  /** Types pushed as reminders: their key carries the time, the others only what the report says. */
  const repeats = new Set<NotificationType>();
  const from = memory?.state ?? prev?.state;
  const seenFailovers = memory?.failovers ?? prev?.failovers ?? -1;
  const repeatDue = (at: number): boolean => opts.repeatIntervalMs > 0 && now - at >= opts.repeatIntervalMs;
  let twin = memory?.twin ?? null;

  if (onTwin.has(next.state)) {
    const offTwin = from === undefined || !onTwin.has(from);
    if (offTwin || next.failovers > seenFailovers) {
      // From the twin with a higher counter: a failback trial failed between two reports.
      const type = from === undefined || from === 'primary' ? 'failover' : 'failback-failed';
      types.push(type);
      twin = { type, at: now };
    } else if (twin && next.state === 'backup' && next.active !== 'none' && repeatDue(twin.at)) {
      // While critical, the critical repeats remind instead.
      types.push(twin.type);
      repeats.add(twin.type);
    }
  } else if (next.state === 'primary') {
    if (from !== undefined && from !== 'primary') types.push('failback');
    twin = null;
  }

  const none = next.active === 'none';
  const noneSince = none ? (memory?.noneSince ?? now) : null;
  let criticalAt = memory?.criticalAt ?? null;
  let recoveredAt = memory?.recoveredAt ?? null;
  // What the saved memory says before this report: keys built from it survive a crash that loses what follows.
  const edgeOf: Partial<Record<NotificationType, string>> = { critical: `after-recovered:${recoveredAt ?? 0}`, recovered: `critical:${criticalAt ?? 0}` };
  const grace = opts.transitionGraceMs ?? 60_000;
  if (none && (settled.has(next.state) || now - noneSince! >= grace)) {
    if (criticalAt === null || repeatDue(criticalAt)) {
      if (criticalAt !== null) repeats.add('critical');
      types.push('critical');
      criticalAt = now;
    }
  } else if (!none && criticalAt !== null) {
    types.push('recovered');
    criticalAt = null;
    recoveredAt = now;
  }

  // Any notice about the unit restarts the twin reminder: it names the state and active side too.
  if (twin && types.length > 0) twin = { ...twin, at: now };
  const events = types.map((type) => notificationEvent(type, { unit: next.id, state: next.state, active: next.active, reason: next.reason }, now, opts.host));
  // An edge found again after a crash (before its memory was saved) gets the same key, so the same
  // webhook-id: failover, failback-failed and failback are named by the failover they belong to;
  // critical and recovered also by the last of the other; reminders by their time.
  const keys = types.map((type) => [next.id, type, next.failovers, edgeOf[type] ?? '', repeats.has(type) ? now : ''].join('|'));
  return { events, keys, memory: { state: next.state, failovers: next.failovers, twin, criticalAt, noneSince, recoveredAt } };
}
