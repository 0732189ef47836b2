/** The `reason` label of `redundancy_failovers_total`: a fixed set, so the series stay bounded. */
export type FailoverReason = 'error-rate' | 'dead' | 'manual' | 'other';
export const failoverReasons: readonly FailoverReason[] = ['error-rate', 'dead', 'manual', 'other'];

/**
 * Maps a transition's free-text reason (src/core/failover.ts, the kinds' `primary-dead` events) to
 * the label value; a value already in the set passes through.
 * - `error-rate`: the window crossed the threshold (`error rate 0.90 > 0.80 (...)`).
 * - `dead`: the primary is down and not restartable (`errored in PM2 ...`, `PM2 gave up restarting`, `waiting restart ...`, `exit ...`).
 * - `manual`: `redundancy failover`, a drill.
 * - `other`: anything else, including a failed failback trial (also counted in `redundancy_failbacks_total{result="failed"}`).
 */
export function failoverReason(reason: string): FailoverReason {
  if ((failoverReasons as readonly string[]).includes(reason)) return reason as FailoverReason;
  // A failed trial is checked first: its text carries the sample's reason, which could match below.
  if (/^failback trial failed/i.test(reason)) return 'other';
  if (/^(manual|drill)\b/i.test(reason)) return 'manual';
  if (/\berror rate\b/i.test(reason)) return 'error-rate';
  if (/\b(errored|dead|gave up|overlimit|waiting restart|not restartable|exit(ed)?|crash(ed)?)\b/i.test(reason)) return 'dead';
  return 'other';
}
