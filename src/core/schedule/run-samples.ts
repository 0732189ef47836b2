import type { LedgerEvent } from './ledger-event.js';
import type { Sample } from '../types.js';

/** How far the evaluation of a unit's runs has got; saved with the unit and passed back next time. */
export interface RunCursor {
  /** slots at or before this are judged */
  judgedThrough: number;
  /** run ids already turned into samples (end or overran), bounded to recent ones */
  seen: string[];
}

export interface RunsInput {
  side: 'primary' | 'twin';
  /** due slots, ascending, after cursor.judgedThrough and <= now */
  slots: number[];
  events: LedgerEvent[];
  now: number;
  /** A slot with no run started by slot + grace is missed. */
  graceMs: number;
  /** A run still going after this long is one failed sample. */
  maxRuntimeMs: number;
  /** A run that starts up to this long before a slot counts for it. @default 60000 */
  earlyMs?: number;
  cursor: RunCursor;
}

export interface LastRun {
  /** When it started (its end, when no start line says). */
  at: number;
  exitCode: number | null;
  durationMs: number | null;
  ok: boolean;
}

export interface RunsEvaluation {
  samples: Sample[];
  cursor: RunCursor;
  lastRun?: LastRun;
}

/** Counted run ids the cursor remembers: enough for any ledger read back over a few hours. */
export const seenLimit = 500;
const defaultEarlyMs = 60_000;

interface Run {
  start?: LedgerEvent;
  end?: LedgerEvent;
  interrupted?: LedgerEvent;
}

/**
 * The slot a run started at `startAt` counts for: the previous slot when it started within grace
 * after it, the next one when it started up to `earlyMs` before it; the nearer when both fit.
 */
export function slotFor(
  startAt: number,
  slotsNear: { previous?: number; next?: number },
  earlyMs: number,
  graceMs: number,
): number | null {
  const { previous, next } = slotsNear;
  const late = previous !== undefined && startAt >= previous && startAt - previous <= graceMs ? startAt - previous : undefined;
  const early = next !== undefined && startAt <= next && next - startAt <= earlyMs ? next - startAt : undefined;
  if (late !== undefined && (early === undefined || late <= early)) return previous!;
  return early !== undefined ? next! : null;
}

/**
 * Turns a unit's ledger events and due slots into the samples of one side, each counted once:
 * a finished run, an interrupted one, a run past `maxRuntimeMs` (once; its later end is not counted
 * again), and a slot with no run started in [slot - early, slot + grace] once that has passed.
 * Start and end are paired by run id (and attempt), never by order. Samples come out by time.
 */
export function evaluateRuns(input: RunsInput): RunsEvaluation {
  const { side, now, graceMs, maxRuntimeMs, cursor } = input;
  const earlyMs = input.earlyMs ?? defaultEarlyMs;
  const runs = new Map<string, Run>();
  const fired: Array<{ at: number; slot: number | null }> = [];
  for (const event of input.events) {
    if (event.side !== side) continue;
    // A skipped run is no sample, but it shows the schedule fired: its slot is not missed.
    if (event.event === 'skipped') fired.push({ at: event.at, slot: event.slot });
    else runs.set(runKey(event), { ...runs.get(runKey(event)), [event.event]: event });
  }

  const seen = new Set(cursor.seen);
  const counted: Array<{ key: string; sample: Sample }> = [];
  let lastRun: LastRun | undefined;
  let lastRunEnd = -Infinity;
  for (const [key, run] of runs) {
    const startAt = run.start?.at ?? (run.end && run.end.at - (run.end.durationMs ?? 0));
    if (startAt !== undefined) fired.push({ at: startAt, slot: (run.start ?? run.end)!.slot });
    const terminal = run.end ?? run.interrupted;
    if (terminal !== undefined && terminal.at > lastRunEnd) {
      lastRunEnd = terminal.at;
      const ok = run.end !== undefined && endSample(run.end).ok;
      lastRun = { at: startAt ?? terminal.at, exitCode: terminal.exitCode, durationMs: terminal.durationMs, ok };
    }
    if (seen.has(key)) continue;
    const sample = runSample(run, now, maxRuntimeMs);
    if (sample !== undefined) counted.push({ key, sample });
  }
  counted.sort((a, b) => a.sample.at - b.sample.at);

  const samples = counted.map(({ sample }) => sample);
  const satisfied = satisfiedSlots(fired, input.slots, earlyMs, graceMs);
  let judgedThrough = cursor.judgedThrough;
  for (const slot of input.slots) {
    if (slot <= judgedThrough) continue;
    if (now < slot + graceMs) break;
    if (!satisfied.has(slot)) samples.push({ ok: false, reason: `missed run at ${isoMinute(slot)}`, at: slot + graceMs });
    judgedThrough = slot;
  }
  samples.sort((a, b) => a.at - b.at);
  const nextSeen = [...cursor.seen, ...counted.map(({ key }) => key)].slice(-seenLimit);
  return { samples, cursor: { judgedThrough, seen: nextSeen }, ...(lastRun && { lastRun }) };
}

/** Retries of one run share its id and differ by attempt: each attempt is a run of its own. */
function runKey(event: LedgerEvent): string {
  return event.attempt === undefined ? event.run : `${event.run}#${event.attempt}`;
}

function runSample(run: Run, now: number, maxRuntimeMs: number): Sample | undefined {
  if (run.end !== undefined) return endSample(run.end);
  if (run.interrupted !== undefined) {
    const why = run.interrupted.reason;
    return { ok: false, reason: why ? `interrupted: ${why}` : 'interrupted', at: run.interrupted.at };
  }
  if (run.start !== undefined && now - run.start.at > maxRuntimeMs) {
    // Back-dated to when it went over, like a missed slot to the end of its grace.
    return { ok: false, reason: `overran (running for ${elapsed(now - run.start.at)})`, at: run.start.at + maxRuntimeMs };
  }
  return undefined;
}

function endSample(end: LedgerEvent): Sample {
  // A run stopped at its timeout fails even when it then exits 0.
  const timedOut = end.reason?.startsWith('timed out') === true;
  if (end.exitCode === 0 && !timedOut) return { ok: true, reason: 'exit 0', at: end.at };
  const reason = timedOut
    ? 'timed out'
    : end.signal !== null
      ? `killed by ${end.signal}`
      : end.exitCode !== null
        ? `exit ${end.exitCode}`
        : (end.reason ?? 'failed');
  return { ok: false, reason, at: end.at };
}

function satisfiedSlots(fired: Array<{ at: number; slot: number | null }>, slots: number[], earlyMs: number, graceMs: number): Set<number> {
  const satisfied = new Set<number>();
  for (const { at, slot } of fired) {
    // A slot named by the scheduler that started the run settles which of two near slots it was for.
    if (slot !== null && at >= slot - earlyMs && at <= slot + graceMs) {
      satisfied.add(slot);
      continue;
    }
    const nextIndex = slots.findIndex((s) => s > at);
    const previous = nextIndex === -1 ? slots.at(-1) : nextIndex > 0 ? slots[nextIndex - 1] : undefined;
    const next = nextIndex === -1 ? undefined : slots[nextIndex];
    const matched = slotFor(at, { previous, next }, earlyMs, graceMs);
    if (matched !== null) satisfied.add(matched);
  }
  return satisfied;
}

/** `2026-03-01T04:30Z`: UTC, to the minute. */
function isoMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

/** `1h 2m`, `5m`, `40s`. */
function elapsed(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes >= 60) return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
  return minutes > 0 ? `${minutes}m` : `${Math.floor(ms / 1000)}s`;
}
