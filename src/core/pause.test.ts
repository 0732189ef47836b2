import { describe, expect, it } from 'vitest';
import { initialRecord, transition, type UnitPolicy, type UnitRecord } from './failover.js';
import { activePause, dropEnded, holdWhilePaused } from './pause.js';

const policy: UnitPolicy = {
  errorRateThreshold: 0.8,
  window: 3,
  minSamples: 3,
  failbackAfter: 2,
  holdDownMs: 1_000,
  holdDownMaxMs: 10_000,
  healthyResetMs: 60_000,
  deadAfterMs: 20_000,
  startGraceMs: 0,
  overlap: false,
};

function step(record: UnitRecord, event: Parameters<typeof transition>[1], now: number) {
  return holdWhilePaused(record, event, transition(record, event, now, policy), now, policy);
}

describe('holdWhilePaused', () => {
  it('records failed samples but does not fail over', () => {
    let record = initialRecord('pm2:web', 0);
    for (let i = 1; i <= 5; i++) record = step(record, { type: 'sample', sample: { ok: false, reason: 'HTTP 500', at: i } }, i).record;
    expect(record.state.kind).toBe('primary');
    expect(record.window).toHaveLength(3);
    expect(record.lastCheckAt).toBe(5);
    expect(record.reason).toMatch(/^paused; would have gone failing-over: error rate 1\.00 > 0\.80/);
  });

  it('lets the operator fail over and a transition under way finish', () => {
    const record = initialRecord('pm2:web', 0);
    const manual = step(record, { type: 'manual-failover' }, 1);
    expect(manual.record.state.kind).toBe('failing-over');
    expect(step(manual.record, { type: 'effects-done' }, 2).record.state.kind).toBe('backup');
  });

  it('keeps a unit on its twin past its hold-down', () => {
    const onTwin = transition(transition(initialRecord('pm2:web', 0), { type: 'manual-failover' }, 0, policy).record, { type: 'effects-done' }, 0, policy).record;
    expect(step(onTwin, { type: 'tick' }, 60_000).record.state.kind).toBe('backup');
  });
});

describe('pauses', () => {
  it('ends a timed pause by itself, and a unit pause outranks none', () => {
    const pauses = { all: { since: 0, until: 100 }, units: { 'cron:a': { since: 0, until: null } } };
    expect(activePause(pauses, 'pm2:web', 50)).toEqual({ since: 0, until: 100 });
    expect(activePause(pauses, 'pm2:web', 100)).toBeUndefined();
    expect(activePause(pauses, 'cron:a', 1e12)).toEqual({ since: 0, until: null });
    expect(dropEnded(pauses, 100)).toEqual({ units: { 'cron:a': { since: 0, until: null } } });
    expect(dropEnded(pauses, 50)).toBe(pauses);
  });
});
