import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from './ledger-event.js';
import { evaluateRuns, seenLimit, slotFor, type RunCursor, type RunsInput } from './run-samples.js';

const minute = 60_000;
const hour = 60 * minute;
const slot = Date.UTC(2026, 2, 1, 4, 30); // 2026-03-01T04:30Z
const grace = 2 * minute;
const fresh: RunCursor = { judgedThrough: 0, seen: [] };

function ev(run: string, event: LedgerEvent['event'], at: number, over: Partial<LedgerEvent> = {}): LedgerEvent {
  return {
    run, unit: 'cron:backup', side: 'primary', event, at, slot: null, pid: 7,
    exitCode: event === 'end' ? 0 : null, signal: null, durationMs: null, host: 'h', ...over,
  };
}

function evaluate(over: Partial<RunsInput>): ReturnType<typeof evaluateRuns> {
  return evaluateRuns({ side: 'primary', slots: [], events: [], now: slot + hour, graceMs: grace, maxRuntimeMs: hour, cursor: fresh, ...over });
}

describe('slotFor', () => {
  it('counts a start within grace after a slot for it, and a little early one for the next', () => {
    expect(slotFor(1_000 + 30_000, { previous: 1_000, next: 1_000 + hour }, minute, grace)).toBe(1_000);
    expect(slotFor(hour - 30_000, { previous: 0, next: hour }, minute, grace)).toBe(hour);
    expect(slotFor(hour - 2 * minute, { previous: 0, next: hour }, minute, grace)).toBeNull();
    expect(slotFor(3 * minute, { previous: 0 }, minute, grace)).toBeNull();
  });

  it('picks the nearer slot when both fit, the earlier one on a tie', () => {
    expect(slotFor(100_000, { previous: 0, next: 120_000 }, minute, grace)).toBe(120_000);
    expect(slotFor(60_000, { previous: 0, next: 120_000 }, minute, grace)).toBe(0);
  });
});

describe('evaluateRuns', () => {
  it('makes one sample of a finished run: ok iff it exited 0, with why it failed', () => {
    const events = [
      ev('a', 'start', slot), ev('a', 'end', slot + 1_000),
      ev('b', 'start', slot), ev('b', 'end', slot + 2_000, { exitCode: 3 }),
      ev('c', 'start', slot), ev('c', 'end', slot + 3_000, { exitCode: null, signal: 'SIGTERM' }),
      ev('d', 'start', slot), ev('d', 'end', slot + 4_000, { exitCode: 0, signal: 'SIGTERM', reason: 'timed out after 5000ms' }),
    ];
    expect(evaluate({ events }).samples).toEqual([
      { ok: true, reason: 'exit 0', at: slot + 1_000 },
      { ok: false, reason: 'exit 3', at: slot + 2_000 },
      { ok: false, reason: 'killed by SIGTERM', at: slot + 3_000 },
      { ok: false, reason: 'timed out', at: slot + 4_000 },
    ]);
  });

  it('counts each run once across calls', () => {
    const events = [ev('a', 'start', slot), ev('a', 'end', slot + 1_000)];
    const first = evaluate({ events });
    expect(first.samples).toHaveLength(1);
    expect(first.cursor.seen).toEqual(['a']);
    expect(evaluate({ events, cursor: first.cursor }).samples).toEqual([]);
  });

  it('pairs overlapping runs by id, not by order', () => {
    const events = [
      ev('long', 'start', slot), ev('short', 'start', slot + 1_000),
      ev('short', 'end', slot + 2_000, { exitCode: 1 }), ev('long', 'end', slot + 9_000),
    ];
    expect(evaluate({ events }).samples).toEqual([
      { ok: false, reason: 'exit 1', at: slot + 2_000 },
      { ok: true, reason: 'exit 0', at: slot + 9_000 },
    ]);
  });

  it('keeps attempts of one run apart', () => {
    const events = [
      ev('r', 'start', slot, { attempt: 1 }), ev('r', 'end', slot + 1_000, { attempt: 1, exitCode: 2 }),
      ev('r', 'start', slot + 2_000, { attempt: 2 }), ev('r', 'end', slot + 3_000, { attempt: 2 }),
    ];
    expect(evaluate({ events }).samples.map((s) => s.ok)).toEqual([false, true]);
  });

  it('fails a run past its max runtime once, back-dated, and does not count its later end', () => {
    const start = ev('a', 'start', slot);
    const going = evaluate({ events: [start], now: slot + hour - 1 });
    expect(going.samples).toEqual([]);
    const over = evaluate({ events: [start], now: slot + hour + 2 * minute + 5_000 });
    expect(over.samples).toEqual([{ ok: false, reason: 'overran (running for 1h 2m)', at: slot + hour }]);
    const ended = evaluate({ events: [start, ev('a', 'end', slot + 2 * hour)], now: slot + 3 * hour, cursor: over.cursor });
    expect(ended.samples).toEqual([]);
  });

  it('fails an interrupted run and makes no sample of a skipped one', () => {
    const events = [
      ev('a', 'start', slot), ev('a', 'interrupted', slot + 5_000, { reason: 'wrapper exited' }),
      ev('b', 'skipped', slot + hour, { reason: 'unit is on its twin' }),
    ];
    expect(evaluate({ events, now: slot + 2 * hour }).samples).toEqual([
      { ok: false, reason: 'interrupted: wrapper exited', at: slot + 5_000 },
    ]);
  });

  it('counts only its own side', () => {
    const events = [ev('t', 'start', slot, { side: 'twin' }), ev('t', 'end', slot + 1_000, { side: 'twin', exitCode: 1 })];
    expect(evaluate({ events, slots: [slot] }).samples).toEqual([
      { ok: false, reason: 'missed run at 2026-03-01T04:30Z', at: slot + grace },
    ]);
    expect(evaluate({ events, side: 'twin' }).samples).toEqual([{ ok: false, reason: 'exit 1', at: slot + 1_000 }]);
  });

  it('fails a slot with no run started by slot + grace once, back-dated, and leaves later slots unjudged', () => {
    const slots = [slot, slot + 30 * minute];
    const early = evaluate({ slots, now: slot + grace - 1 });
    expect(early.samples).toEqual([]);
    expect(early.cursor.judgedThrough).toBe(0);
    const judged = evaluate({ slots, now: slot + 30 * minute + 1 });
    expect(judged.samples).toEqual([{ ok: false, reason: 'missed run at 2026-03-01T04:30Z', at: slot + grace }]);
    expect(judged.cursor.judgedThrough).toBe(slot);
    const again = evaluate({ slots: [slot + 30 * minute], now: slot + 31 * minute, cursor: judged.cursor });
    expect(again.samples).toEqual([]);
    expect(again.cursor.judgedThrough).toBe(slot);
  });

  it('does not miss a slot whose run started a little early, late within grace, or was skipped', () => {
    const slots = [slot, slot + 30 * minute, slot + hour];
    const events = [
      ev('early', 'start', slot - 30_000), ev('early', 'end', slot + 10_000),
      ev('late', 'start', slot + 31 * minute), ev('late', 'end', slot + 32 * minute),
      ev('skip', 'skipped', slot + hour),
    ];
    const { samples, cursor } = evaluate({ slots, events, now: slot + 2 * hour });
    expect(samples.map((s) => s.reason)).toEqual(['exit 0', 'exit 0']);
    expect(cursor.judgedThrough).toBe(slot + hour);
  });

  it('misses a slot whose run started too early or after grace', () => {
    const events = [ev('a', 'start', slot - 5 * minute), ev('b', 'start', slot + grace + 1)];
    const { samples } = evaluate({ slots: [slot], events, now: slot + 10 * minute });
    expect(samples).toEqual([{ ok: false, reason: 'missed run at 2026-03-01T04:30Z', at: slot + grace }]);
  });

  it('takes the slot a start line names, and an end with no start line as a start', () => {
    const slots = [slot, slot + minute];
    const events = [
      ev('named', 'start', slot + 50_000, { slot: slot + minute }),
      ev('nostart', 'end', slot + 20_000, { durationMs: 15_000 }),
    ];
    expect(evaluate({ slots, events, now: slot + hour }).samples.map((s) => s.reason)).toEqual(['exit 0']);
  });

  it('remembers a bounded number of counted runs', () => {
    const events = Array.from({ length: seenLimit + 10 }, (_, i) => ev(`r${i}`, 'end', slot + i));
    const { cursor } = evaluate({ events });
    expect(cursor.seen).toHaveLength(seenLimit);
    expect(cursor.seen.at(-1)).toBe(`r${seenLimit + 9}`);
  });

  it('reports the last finished run of its side', () => {
    const events = [
      ev('a', 'start', slot), ev('a', 'end', slot + 1_000, { durationMs: 1_000 }),
      ev('b', 'start', slot + hour), ev('b', 'end', slot + hour + 4_000, { exitCode: 5, durationMs: 4_000 }),
      ev('c', 'start', slot + 2 * hour),
    ];
    expect(evaluate({ events, now: slot + 2 * hour }).lastRun).toEqual({ at: slot + hour, exitCode: 5, durationMs: 4_000, ok: false });
    expect(evaluate({}).lastRun).toBeUndefined();
  });
});
