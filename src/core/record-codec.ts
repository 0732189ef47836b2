import type { FailoverState, UnitRecord } from './failover.js';
import type { Sample } from './types.js';

/**
 * Reads a saved unit record back, or undefined if it is not one.
 * A failback trial is restored as a fresh trial: its count of ok samples belonged to a run of the
 * primary the new manager did not watch.
 */
export function decodeRecord(raw: unknown): UnitRecord | undefined {
  if (!isObject(raw) || typeof raw.id !== 'string') return undefined;
  const state = decodeState(raw.state);
  if (!state || !Array.isArray(raw.window)) return undefined;
  const window = raw.window.filter(isSample);
  if (!isCount(raw.failovers) || !isCount(raw.repeat)) return undefined;
  const record: UnitRecord = {
    id: raw.id,
    state,
    window,
    failovers: raw.failovers,
    repeat: raw.repeat,
    lastTransitionAt: timeOrNull(raw.lastTransitionAt),
    lastCheckAt: timeOrNull(raw.lastCheckAt),
    reason: typeof raw.reason === 'string' ? raw.reason : '',
  };
  // The kind reads its own cursor and starts afresh from one it cannot read.
  if (raw.cursor !== undefined) record.cursor = raw.cursor;
  return record;
}

function decodeState(raw: unknown): FailoverState | undefined {
  if (!isObject(raw) || typeof raw.since !== 'number') return undefined;
  const since = raw.since;
  const reason = typeof raw.reason === 'string' ? raw.reason : '';
  const manual = raw.manual === true;
  const drill = raw.drill === true ? { drill: true } : {};
  switch (raw.kind) {
    case 'primary':
      return { kind: 'primary', since };
    case 'failing-over':
      return { kind: 'failing-over', since, reason, manual, ...drill };
    case 'backup':
      return { kind: 'backup', since, reason, manual, ...drill };
    case 'probing':
      return { kind: 'probing', since, okCount: 0, started: false };
    case 'failing-back':
      return { kind: 'failing-back', since, ...drill };
    default:
      return undefined;
  }
}

function isSample(value: unknown): value is Sample {
  return isObject(value) && typeof value.ok === 'boolean' && typeof value.reason === 'string' && typeof value.at === 'number';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function timeOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
