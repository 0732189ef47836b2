import { pushSample } from './error-window.js';
import type { Transition, UnitEvent, UnitPolicy, UnitRecord } from './failover.js';
import type { UnitId } from './types.js';

/** Maintenance: a pause of every unit or of one, until a time or until resumed. */
export interface Pause {
  since: number;
  /** Epoch ms; null until `resume`. */
  until: number | null;
  reason?: string;
}

export interface Pauses {
  all?: Pause;
  units: Record<UnitId, Pause>;
}

export const noPauses: Pauses = { units: {} };

/** The pause that holds a unit now, if any. */
export function activePause(pauses: Pauses, id: UnitId, now: number): Pause | undefined {
  const live = (p: Pause | undefined) => (p && (p.until === null || p.until > now) ? p : undefined);
  return live(pauses.units[id]) ?? live(pauses.all);
}

/** Pauses that have not ended by `now`; the same object when none ended, so callers can tell nothing changed. */
export function dropEnded(pauses: Pauses, now: number): Pauses {
  const ended = (p: Pause) => p.until !== null && p.until <= now;
  const units = Object.entries(pauses.units).filter(([, p]) => !ended(p));
  const allEnded = pauses.all !== undefined && ended(pauses.all);
  if (!allEnded && units.length === Object.keys(pauses.units).length) return pauses;
  return { ...(pauses.all && !allEnded && { all: pauses.all }), units: Object.fromEntries(units) };
}

const automatic = new Set<UnitEvent['type']>(['sample', 'primary-dead', 'tick']);

/**
 * While paused, what the unit sees is still recorded but no automatic transition fires: a deploy
 * that breaks the primary for a minute neither fails it over nor alerts. Finishing a transition
 * already under way, and the operator's own failover or failback, still go through.
 */
export function holdWhilePaused(before: UnitRecord, event: UnitEvent, t: Transition, now: number, policy: UnitPolicy): Transition {
  if (!automatic.has(event.type) || t.record.state.kind === before.state.kind) return t;
  const sampled = event.type === 'sample' && before.state.kind === 'primary';
  const record: UnitRecord = {
    ...before,
    ...(sampled && { window: pushSample(before.window, event.sample, policy.window) }),
    ...(event.type !== 'tick' && { lastCheckAt: now }),
    reason: `paused; would have gone ${t.record.state.kind}: ${t.record.reason}`,
  };
  return { record, effects: [], changed: false };
}
