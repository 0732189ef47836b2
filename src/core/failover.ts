import type { PolicyConfig } from './config-types.js';
import { errorRate, isOverThreshold, pushSample } from './error-window.js';
import { RedundancyError } from './errors.js';
import type { Sample, UnitId } from './types.js';

/** Where a unit stands. Transitional states (`failing-over`, `probing`, `failing-back`) re-run their effects on resume. */
export type FailoverState =
  | { kind: 'primary'; since: number }
  /** `drill`: a planned failover (`redundancy drill`): not counted, no hold-down, left only by `drill-failback`. */
  | { kind: 'failing-over'; since: number; reason: string; manual: boolean; drill?: boolean }
  | { kind: 'backup'; since: number; reason: string; manual: boolean; drill?: boolean }
  /** Failback trial: `started` once the primary runs again; samples before that are not the trial's. */
  | { kind: 'probing'; since: number; okCount: number; started: boolean }
  | { kind: 'failing-back'; since: number; drill?: boolean };

export type StateKind = FailoverState['kind'];

export interface UnitRecord {
  id: UnitId;
  state: FailoverState;
  /** Recent samples of the primary while it is the active side. */
  window: Sample[];
  failovers: number;
  /** Failovers since the last healthy stretch; the hold-down doubles with each. */
  repeat: number;
  lastTransitionAt: number | null;
  lastCheckAt: number | null;
  reason: string;
  /** Where the unit's kind has read its observations up to (a ledger cursor); saved with the record, so nothing is counted twice. */
  cursor?: unknown;
}

export type UnitEvent =
  | { type: 'sample'; sample: Sample }
  | { type: 'primary-dead'; reason: string }
  /** The effects of the current transitional state are all done. */
  | { type: 'effects-done' }
  | { type: 'tick' }
  | { type: 'manual-failover'; reason?: string }
  | { type: 'manual-failback' }
  /** A drill: from a healthy primary to the twin, without counting a failover or feeding flap damping. */
  | { type: 'drill-failover'; reason: string }
  /** The end of a drill (or its abort): straight back to the primary, no hold-down and no trial. */
  | { type: 'drill-failback'; reason: string };

export type Effect =
  /** Start the primary only if PM2 no longer knows it (a fresh daemon, a `pm2 delete`): PM2 restarts a known one itself. */
  | { type: 'restore-primary' }
  /** `park`: a standby host keeps the primary ready and not running, so a kind that can registers one it does not have yet. */
  | { type: 'stop-primary'; park?: true }
  | { type: 'start-primary' }
  | { type: 'start-twin' }
  | { type: 'stop-twin' };

export interface Transition {
  record: UnitRecord;
  effects: Effect[];
  /** True when the state kind changed: the record must be saved before the effects run. */
  changed: boolean;
}

export interface UnitPolicy extends PolicyConfig {
  overlap: boolean;
}

/** Whether the primary's observations are samples now: on it, failing back, or in a trial that has started it. */
export function primaryWatched(state: FailoverState): boolean {
  return state.kind === 'primary' || state.kind === 'failing-back' || (state.kind === 'probing' && state.started);
}

export function initialRecord(id: UnitId, now: number): UnitRecord {
  return {
    id,
    state: { kind: 'primary', since: now },
    window: [],
    failovers: 0,
    repeat: 0,
    lastTransitionAt: null,
    lastCheckAt: null,
    reason: 'not checked yet',
  };
}

/** Hold-down before the next failback attempt: doubles with each repeat failover, capped. */
export function holdDownMs(record: Pick<UnitRecord, 'repeat'>, policy: PolicyConfig): number {
  const doublings = Math.max(0, record.repeat - 1);
  return Math.min(policy.holdDownMs * 2 ** Math.min(doublings, 30), policy.holdDownMaxMs);
}

/** The effects that bring the world in line with a state; idempotent, so safe to repeat on resume. */
export function effectsOf(state: FailoverState, overlap: boolean): Effect[] {
  switch (state.kind) {
    case 'primary':
      return overlap ? [{ type: 'restore-primary' }] : [{ type: 'stop-twin' }, { type: 'restore-primary' }];
    case 'failing-over':
    case 'backup':
      // Stop first: PM2 must not restart the primary beside the twin.
      return [{ type: 'stop-primary' }, { type: 'start-twin' }];
    case 'probing':
      return overlap ? [{ type: 'start-primary' }] : [{ type: 'stop-twin' }, { type: 'start-primary' }];
    case 'failing-back':
      return [{ type: 'stop-twin' }, { type: 'start-primary' }];
    default:
      return assertNever(state);
  }
}

export function isTransitional(state: FailoverState): boolean {
  return state.kind === 'failing-over' || state.kind === 'probing' || state.kind === 'failing-back';
}

/** `(record, event, now) -> { record, effects }`: the whole failover policy, no I/O. */
export function transition(record: UnitRecord, event: UnitEvent, now: number, policy: UnitPolicy): Transition {
  const state = record.state;
  switch (state.kind) {
    case 'primary':
      return onPrimary(record, state, event, now, policy);
    case 'failing-over':
      if (event.type === 'effects-done') {
        const backup: FailoverState = { kind: 'backup', since: now, reason: state.reason, manual: state.manual, ...(state.drill && { drill: true }) };
        return enter(record, backup, now, policy, state.reason);
      }
      // A drill whose twin never came up is put back at once.
      if (event.type === 'drill-failback' && state.drill) return drillBack(record, event.reason, now, policy);
      if (event.type === 'manual-failback' || event.type === 'drill-failback') throw illegal(record, 'failback', 'backup');
      if (event.type === 'drill-failover') throw illegal(record, 'drill', 'primary');
      return stay(record, event, now);
    case 'backup':
      return onBackup(record, state, event, now, policy);
    case 'probing':
      return onProbing(record, state, event, now, policy);
    case 'failing-back':
      if (event.type === 'effects-done') {
        return enter({ ...record, window: [], reason: 'failback complete' }, { kind: 'primary', since: now }, now, policy, 'failback complete');
      }
      if (event.type === 'primary-dead') return failOver(record, event.reason, now, policy, false);
      if (event.type === 'manual-failback' || event.type === 'drill-failback') throw illegal(record, 'failback', 'backup');
      if (event.type === 'drill-failover') throw illegal(record, 'drill', 'primary');
      return stay(record, event, now);
    default:
      return assertNever(state);
  }
}

function onPrimary(
  record: UnitRecord,
  state: Extract<FailoverState, { kind: 'primary' }>,
  event: UnitEvent,
  now: number,
  policy: UnitPolicy,
): Transition {
  switch (event.type) {
    case 'sample': {
      const window = pushSample(record.window, event.sample, policy.window);
      const next = { ...record, window, lastCheckAt: now, reason: event.sample.reason };
      if (isOverThreshold(window, policy.errorRateThreshold, policy.minSamples)) {
        const rate = errorRate(window);
        const reason = `error rate ${rate.toFixed(2)} > ${policy.errorRateThreshold.toFixed(2)} (${event.sample.reason})`;
        return failOver(next, reason, now, policy, false);
      }
      return { record: next, effects: [], changed: false };
    }
    case 'primary-dead':
      return failOver({ ...record, lastCheckAt: now }, event.reason, now, policy, false);
    case 'manual-failover':
      return failOver(record, event.reason ?? 'manual failover', now, policy, true);
    case 'drill-failover':
      // Neither `failovers` nor `repeat` moves: a drill is no failure and must not lengthen a hold-down.
      return enter(record, { kind: 'failing-over', since: now, reason: event.reason, manual: true, drill: true }, now, policy, event.reason);
    case 'manual-failback':
    case 'drill-failback':
      throw illegal(record, 'failback', 'backup');
    case 'tick':
      // A healthy stretch forgives earlier flapping.
      if (record.repeat > 0 && now - state.since >= policy.healthyResetMs) {
        return { record: { ...record, repeat: 0 }, effects: [], changed: true };
      }
      return { record, effects: [], changed: false };
    case 'effects-done':
      return { record, effects: [], changed: false };
    default:
      return assertNever(event);
  }
}

function onBackup(
  record: UnitRecord,
  state: Extract<FailoverState, { kind: 'backup' }>,
  event: UnitEvent,
  now: number,
  policy: UnitPolicy,
): Transition {
  switch (event.type) {
    case 'tick': {
      // A manual failover stays until a manual failback.
      if (state.manual || now - state.since < holdDownMs(record, policy)) return { record, effects: [], changed: false };
      return startTrial(record, now, policy, 'hold-down elapsed; failback trial');
    }
    case 'manual-failback':
      return startTrial(record, now, policy, 'manual failback; failback trial');
    case 'drill-failback':
      if (!state.drill) throw illegal(record, 'drill failback', 'backup in a drill');
      return drillBack(record, event.reason, now, policy);
    case 'manual-failover':
      throw illegal(record, 'failover', 'primary');
    case 'drill-failover':
      throw illegal(record, 'drill', 'primary');
    case 'sample':
    case 'primary-dead':
    case 'effects-done':
      return stay(record, event, now);
    default:
      return assertNever(event);
  }
}

function onProbing(
  record: UnitRecord,
  state: Extract<FailoverState, { kind: 'probing' }>,
  event: UnitEvent,
  now: number,
  policy: UnitPolicy,
): Transition {
  switch (event.type) {
    case 'effects-done':
      if (state.started) return { record, effects: [], changed: false };
      return { record: { ...record, state: { ...state, since: now, started: true } }, effects: [], changed: true };
    case 'sample': {
      const sample = event.sample;
      const next = { ...record, lastCheckAt: now, reason: sample.reason };
      if (!state.started) return { record: next, effects: [], changed: false };
      if (sample.ok) {
        const okCount = state.okCount + 1;
        if (okCount >= policy.failbackAfter) {
          const reason = `${okCount} consecutive ok samples; failing back`;
          return enter({ ...next, reason }, { kind: 'failing-back', since: now }, now, policy, reason);
        }
        return { record: { ...next, state: { ...state, okCount } }, effects: [], changed: false };
      }
      return failOver(next, `failback trial failed: ${sample.reason}`, now, policy, false);
    }
    case 'primary-dead':
      return failOver(record, `failback trial failed: ${event.reason}`, now, policy, false);
    case 'manual-failover':
      return failOver(record, event.reason ?? 'manual failover', now, policy, true);
    case 'manual-failback':
    case 'drill-failback':
      throw illegal(record, 'failback', 'backup');
    case 'drill-failover':
      throw illegal(record, 'drill', 'primary');
    case 'tick':
      return { record, effects: [], changed: false };
    default:
      return assertNever(event);
  }
}

function failOver(record: UnitRecord, reason: string, now: number, policy: UnitPolicy, manual: boolean): Transition {
  // The window stays as it was: the report shows what made the unit fail over.
  const next: UnitRecord = { ...record, failovers: record.failovers + 1, repeat: record.repeat + 1, reason };
  return enter(next, { kind: 'failing-over', since: now, reason, manual }, now, policy, reason);
}

function drillBack(record: UnitRecord, reason: string, now: number, policy: UnitPolicy): Transition {
  return enter({ ...record, reason }, { kind: 'failing-back', since: now, drill: true }, now, policy, reason);
}

function startTrial(record: UnitRecord, now: number, policy: UnitPolicy, reason: string): Transition {
  return enter({ ...record, reason }, { kind: 'probing', since: now, okCount: 0, started: false }, now, policy, reason);
}

function enter(record: UnitRecord, state: FailoverState, now: number, policy: UnitPolicy, reason: string): Transition {
  return {
    record: { ...record, state, lastTransitionAt: now, reason },
    effects: effectsOf(state, policy.overlap),
    changed: true,
  };
}

/** Events that do not move the state still count as a check where they observed something. */
function stay(record: UnitRecord, event: UnitEvent, now: number): Transition {
  const observed = event.type === 'sample' || event.type === 'primary-dead';
  return { record: observed ? { ...record, lastCheckAt: now } : record, effects: [], changed: false };
}

function illegal(record: UnitRecord, action: string, needed: string): RedundancyError {
  return new RedundancyError(
    'ILLEGAL_TRANSITION',
    `${record.id} is in state ${record.state.kind}; ${action} needs state ${needed}`,
  );
}

function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
