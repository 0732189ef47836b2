import { describe, expect, it } from 'vitest';
import type { Probe } from '../../core/ports.js';
import type { ProcessView } from '../../core/types.js';
import { observePrimary, observeTwin, type PrimaryMemory } from './observe.js';

const view = (over: Partial<ProcessView> = {}): ProcessView => ({
  name: 'api', pmId: 1, status: 'online', pid: 42, restarts: 0, unstableRestarts: 0, startedAt: 0, memoryBytes: 0, cpuPercent: 0, ...over,
});
const probe = (ok: boolean): Probe => ({ check: async () => ({ ok, reason: ok ? 'HTTP 200' : 'connection refused' }) });
const base = { deadAfterMs: 20_000, startGraceMs: 5_000, state: 'primary' as const };

async function look(v: ProcessView | undefined, p: Probe | undefined, now: number, memory: PrimaryMemory = { exitsSinceRound: 0 }) {
  return observePrimary({ ...base, view: v, probe: p, memory, now });
}

describe('observePrimary', () => {
  it('takes a failed probe within the start-up grace as start-up, after it as a failed sample', async () => {
    expect((await look(view({ startedAt: 1_000 }), probe(false), 3_000)).events).toEqual([]);
    const late = await look(view({ startedAt: 1_000 }), probe(false), 7_000);
    expect(late.events).toEqual([{ type: 'sample', sample: { ok: false, reason: 'connection refused', at: 7_000 } }]);
  });

  it('counts restarts the bus did not report as one crash sample', async () => {
    const memory = { restartsSeen: 2, exitsSinceRound: 1 };
    const seen = await look(view({ restarts: 5 }), undefined, 10_000, memory);
    expect(seen.events[0]).toMatchObject({ type: 'sample', sample: { ok: false, crash: true, reason: 'restarted 2 time(s) since the last check' } });
    expect(seen.events[1]).toMatchObject({ type: 'sample', sample: { ok: true, reason: 'online' } });
  });

  it('declares errored and long waiting-restart primaries dead', async () => {
    expect((await look(view({ status: 'errored', restarts: 16 }), undefined, 1)).events).toEqual([
      { type: 'primary-dead', reason: 'errored in PM2 after 16 restarts' },
    ]);
    const memory: PrimaryMemory = { exitsSinceRound: 0 };
    const waiting = view({ status: 'waiting restart', pid: 0 });
    expect((await look(waiting, undefined, 1_000, memory)).events[0]).toMatchObject({ type: 'sample' });
    expect((await look(waiting, undefined, 21_001, memory)).events[0]).toMatchObject({ type: 'primary-dead' });
  });

  it('does not look at the primary while the unit is on its twin', async () => {
    const result = await observePrimary({ ...base, state: 'backup', view: undefined, probe: probe(false), memory: { exitsSinceRound: 0 }, now: 1 });
    expect(result.events).toEqual([]);
  });
});

describe('observeTwin', () => {
  it('probes the twin only while it should work, with the same start-up grace', async () => {
    const timing = { now: 10_000, startGraceMs: 5_000 };
    expect(await observeTwin(view({ startedAt: 0 }), probe(false), 'backup', timing)).toEqual({ ok: false, probeOk: false });
    expect(await observeTwin(view({ startedAt: 8_000 }), probe(false), 'backup', timing)).toEqual({ ok: true });
    expect(await observeTwin(view({ status: 'stopped' }), probe(true), 'primary', timing)).toEqual({ ok: false });
  });
});
