import { describe, expect, it } from 'vitest';
import { holdDownMs, initialRecord, transition, type UnitEvent, type UnitPolicy, type UnitRecord } from './failover.js';
import { decodeRecord } from './record-codec.js';

const policy: UnitPolicy = {
  errorRateThreshold: 0.8,
  window: 10,
  minSamples: 5,
  failbackAfter: 3,
  holdDownMs: 30_000,
  holdDownMaxMs: 240_000,
  healthyResetMs: 600_000,
  deadAfterMs: 20_000,
  startGraceMs: 5_000,
  overlap: false,
};

function run(record: UnitRecord, events: Array<[UnitEvent, number]>, p: UnitPolicy = policy) {
  const effects: string[] = [];
  for (const [event, now] of events) {
    const t = transition(record, event, now, p);
    record = t.record;
    effects.push(...t.effects.map((e) => e.type));
  }
  return { record, effects };
}

const sample = (ok: boolean, at: number, crash = false): UnitEvent => ({
  type: 'sample',
  sample: { ok, reason: ok ? 'ok' : 'HTTP 500 (expected 200)', at, crash },
});

function samples(pattern: string, start = 1000): Array<[UnitEvent, number]> {
  return [...pattern].map((c, i) => [sample(c === '1', start + i), start + i]);
}

/** Drive a unit onto its twin and settle there. */
function onTwin(at = 1000): UnitRecord {
  const { record } = run(initialRecord('pm2:api', 0), [...samples('00000', at), [{ type: 'effects-done' }, at + 10]]);
  expect(record.state.kind).toBe('backup');
  return record;
}

describe('failover decision', () => {
  it('fails over only when the error rate is strictly greater than the threshold', () => {
    // 8 failures in 10 is exactly 0.8: no failover.
    const atThreshold = run(initialRecord('pm2:api', 0), samples('1100000000'));
    expect(atThreshold.record.state.kind).toBe('primary');
    expect(atThreshold.effects).toEqual([]);

    const above = run(atThreshold.record, samples('0', 2000));
    expect(above.record.state.kind).toBe('failing-over');
    expect(above.effects).toEqual(['stop-primary', 'start-twin']);
    expect(above.record.reason).toMatch(/^error rate 0\.90 > 0\.80/);
  });

  it('makes no decision on fewer than minSamples', () => {
    const { record } = run(initialRecord('pm2:api', 0), samples('0000'));
    expect(record.state.kind).toBe('primary');
    expect(record.window).toHaveLength(4);
  });

  it('keeps only the last window samples', () => {
    const { record } = run(initialRecord('pm2:api', 0), samples('1'.repeat(25)));
    expect(record.window).toHaveLength(10);
  });

  it('fails over at once when the primary is dead', () => {
    const t = transition(initialRecord('pm2:api', 0), { type: 'primary-dead', reason: 'errored in PM2' }, 5, policy);
    expect(t.record.state).toMatchObject({ kind: 'failing-over', reason: 'errored in PM2' });
    expect(t.changed).toBe(true);
    expect(t.record.failovers).toBe(1);
  });

  it('settles on the twin once the effects are done, and keeps the reason', () => {
    const record = onTwin();
    expect(record.state).toMatchObject({ kind: 'backup', since: 1010 });
    expect(record.reason).toMatch(/error rate 1\.00/);
  });
});

describe('failback trial', () => {
  it('waits for the hold-down, then stops the twin and starts the primary', () => {
    const record = onTwin();
    expect(transition(record, { type: 'tick' }, 1010 + 29_999, policy).changed).toBe(false);
    const t = transition(record, { type: 'tick' }, 1010 + 30_000, policy);
    expect(t.record.state).toMatchObject({ kind: 'probing', okCount: 0, started: false });
    expect(t.effects.map((e) => e.type)).toEqual(['stop-twin', 'start-primary']);
  });

  it('completes after failbackAfter consecutive ok samples', () => {
    const start = 1010 + 30_000;
    const { record, effects } = run(onTwin(), [
      [{ type: 'tick' }, start],
      [sample(true, start + 1), start + 1], // before the primary runs: not the trial's
      [{ type: 'effects-done' }, start + 2],
      [sample(true, start + 3), start + 3],
      [sample(true, start + 4), start + 4],
      [sample(true, start + 5), start + 5],
    ]);
    expect(record.state.kind).toBe('failing-back');
    expect(effects).toEqual(['stop-twin', 'start-primary', 'stop-twin', 'start-primary']);
    const done = transition(record, { type: 'effects-done' }, start + 6, policy);
    expect(done.record.state.kind).toBe('primary');
    expect(done.record.window).toEqual([]);
  });

  it('fails the trial on any failed sample', () => {
    const start = 1010 + 30_000;
    const trial = run(onTwin(), [
      [{ type: 'tick' }, start],
      [{ type: 'effects-done' }, start + 10],
      [sample(true, start + 500), start + 500],
    ]).record;
    expect(trial.state).toMatchObject({ kind: 'probing', okCount: 1 });
    const failed = transition(trial, sample(false, start + 600), start + 600, policy);
    expect(failed.record.state.kind).toBe('failing-over');
    expect(failed.record.reason).toBe('failback trial failed: HTTP 500 (expected 200)');
  });

  it('doubles the hold-down on each repeat failover, up to the cap', () => {
    let record = onTwin();
    const waits: number[] = [holdDownMs(record, policy)];
    for (let i = 0; i < 5; i++) {
      const now = record.state.since + holdDownMs(record, policy);
      record = run(record, [
        [{ type: 'tick' }, now],
        [{ type: 'effects-done' }, now + 1],
        [{ type: 'primary-dead', reason: 'exit code 1' }, now + 2],
        [{ type: 'effects-done' }, now + 3],
      ]).record;
      expect(record.state.kind).toBe('backup');
      waits.push(holdDownMs(record, policy));
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 240_000, 240_000]);
    expect(record.failovers).toBe(6);
  });

  it('forgets earlier flapping after a healthy stretch on the primary', () => {
    const record = { ...initialRecord('pm2:api', 0), repeat: 3 };
    expect(transition(record, { type: 'tick' }, 599_999, policy).record.repeat).toBe(3);
    expect(transition(record, { type: 'tick' }, 600_000, policy).record.repeat).toBe(0);
  });

  it('with overlap, probes the primary beside the running twin and stops the twin only at the end', () => {
    const overlap = { ...policy, overlap: true };
    const start = 1010 + 30_000;
    const { record, effects } = run(
      onTwin(),
      [
        [{ type: 'tick' }, start],
        [{ type: 'effects-done' }, start + 1],
        ...samples('111', start + 2),
      ],
      overlap,
    );
    expect(record.state.kind).toBe('failing-back');
    expect(effects).toEqual(['start-primary', 'stop-twin', 'start-primary']);
  });
});

describe('manual switching', () => {
  it('goes through the same transitions and stays on the twin until a manual failback', () => {
    const t = transition(initialRecord('pm2:api', 0), { type: 'manual-failover' }, 100, policy);
    expect(t.record.state).toMatchObject({ kind: 'failing-over', manual: true });
    const settled = transition(t.record, { type: 'effects-done' }, 200, policy).record;
    expect(transition(settled, { type: 'tick' }, 10_000_000, policy).changed).toBe(false);
    const back = transition(settled, { type: 'manual-failback' }, 300, policy);
    expect(back.record.state.kind).toBe('probing');
  });

  it('refuses a call in the wrong state, naming the state', () => {
    expect(() => transition(initialRecord('pm2:api', 0), { type: 'manual-failback' }, 1, policy)).toThrow(
      'pm2:api is in state primary; failback needs state backup',
    );
    expect(() => transition(onTwin(), { type: 'manual-failover' }, 1, policy)).toThrow(
      'pm2:api is in state backup; failover needs state primary',
    );
  });
});

describe('record codec', () => {
  it('round-trips a record through JSON and restores a trial as a fresh trial', () => {
    const record = onTwin();
    expect(decodeRecord(JSON.parse(JSON.stringify(record)))).toEqual(record);
    const trial = { ...record, state: { kind: 'probing', since: 5, okCount: 2, started: true } };
    expect(decodeRecord(JSON.parse(JSON.stringify(trial)))?.state).toEqual({ kind: 'probing', since: 5, okCount: 0, started: false });
  });

  it('rejects what is not a record', () => {
    expect(decodeRecord({ id: 'x', state: { kind: 'nowhere', since: 1 }, window: [], failovers: 0, repeat: 0 })).toBeUndefined();
    expect(decodeRecord(null)).toBeUndefined();
    expect(decodeRecord({ id: 'x', state: { kind: 'primary', since: 1 }, window: [], failovers: -1, repeat: 0 })).toBeUndefined();
  });
});
