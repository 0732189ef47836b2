import type { StateKind, UnitEvent } from '../../core/failover.js';
import type { Probe } from '../../core/ports.js';
import type { ProcessView, Sample } from '../../core/types.js';

export interface PrimaryMemory {
  restartsSeen?: number;
  exitsSinceRound: number;
  waitingSince?: number;
}

export interface SideCheck {
  ok: boolean;
  /** The probe's verdict where one ran. */
  probeOk?: boolean;
}

/** The primary matters only while it is, or is about to be, the active side. */
const primaryWatched: ReadonlySet<StateKind> = new Set(['primary', 'probing', 'failing-back']);
const twinWatched: ReadonlySet<StateKind> = new Set(['backup', 'failing-over']);

/** Turns one look at the primary into state machine events. Mutates `memory.waitingSince`. */
export async function observePrimary(input: {
  view: ProcessView | undefined;
  probe: Probe | undefined;
  memory: PrimaryMemory;
  now: number;
  deadAfterMs: number;
  startGraceMs: number;
  state: StateKind;
}): Promise<SideCheck & { events: UnitEvent[] }> {
  const { view, probe, memory, now } = input;
  if (!primaryWatched.has(input.state)) return { ok: view?.status === 'online', events: [] };
  const failed = (reason: string, crash = false): UnitEvent => ({ type: 'sample', sample: { ok: false, reason, at: now, crash } });
  if (!view) return { ok: false, events: [failed('not registered in PM2')] };
  if (view.status === 'errored') return { ok: false, events: [{ type: 'primary-dead', reason: `errored in PM2 after ${view.restarts} restarts` }] };
  if (view.status === 'waiting restart' && view.pid === 0) {
    memory.waitingSince ??= now;
    if (now - memory.waitingSince > input.deadAfterMs) {
      return { ok: false, events: [{ type: 'primary-dead', reason: `waiting restart for over ${input.deadAfterMs}ms` }] };
    }
    return { ok: false, events: [failed('waiting restart', true)] };
  }
  memory.waitingSince = undefined;
  if (view.status !== 'online' && view.status !== 'launching') return { ok: false, events: [failed(`${view.status} in PM2`)] };

  const events: UnitEvent[] = [];
  // Exits the bus already reported are samples already; count only the ones it missed.
  const missed = view.restarts - (memory.restartsSeen ?? view.restarts) - memory.exitsSinceRound;
  if (missed > 0) events.push(failed(`restarted ${missed} time(s) since the last check`, true));
  if (!probe) {
    events.push({ type: 'sample', sample: { ok: true, reason: 'online', at: now } });
    return { ok: true, events };
  }
  const result = await probe.check();
  // PM2 says online at fork, long before an app listens: an early failed probe is start-up, not a sample.
  if (!result.ok && now - view.startedAt < input.startGraceMs) return { ok: true, events };
  const sample: Sample = { ...result, at: now };
  events.push({ type: 'sample', sample });
  return { ok: result.ok, probeOk: result.ok, events };
}

/** The twin is looked at, and probed, only while it is the side that should work. */
export async function observeTwin(
  view: ProcessView | undefined,
  probe: Probe | undefined,
  state: StateKind,
  timing: { now: number; startGraceMs: number },
): Promise<SideCheck> {
  if (view?.status !== 'online' || !probe || !twinWatched.has(state)) return { ok: view?.status === 'online' };
  const result = await probe.check();
  if (!result.ok && timing.now - view.startedAt < timing.startGraceMs) return { ok: true };
  return { ok: result.ok, probeOk: result.ok };
}
