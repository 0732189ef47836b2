import { initialRecord, type UnitRecord } from './failover.js';
import type { UnitId } from './types.js';

const up = new Set(['online', 'launching']);

/**
 * The record of a unit that has none saved (a first start, a state file lost or corrupt), from
 * what PM2 shows: a twin running while the primary does not means the unit was on its twin, and
 * it stays there (hold-down from now) instead of flipping back. Anything else starts on the primary.
 * `twinStatus` is the twin's status as the manager reads it (a parked warm twin is not running).
 */
export function recordFromLiveView(id: UnitId, now: number, primaryStatus: string | undefined, twinStatus: string | undefined): UnitRecord {
  const record = initialRecord(id, now);
  if (!up.has(twinStatus ?? '') || up.has(primaryStatus ?? '')) return record;
  const reason = `rebuilt from PM2: twin ${twinStatus}, primary ${primaryStatus ?? 'missing'}`;
  // One failover at least led here; counting it gives the first hold-down, not a doubled one.
  return {
    ...record,
    state: { kind: 'backup', since: now, reason, manual: false },
    failovers: 1,
    repeat: 1,
    lastTransitionAt: now,
    reason,
  };
}
