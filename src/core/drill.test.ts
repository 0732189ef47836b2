import { describe, expect, it } from 'vitest';
import { Checker } from './config-checker.js';
import { compileDrills } from './config-observe.js';
import { drillFlag, drillRefusal, lastDrills, runDrill, type DrillPorts, type DrillRecord, type DrillVerifier, type SideVerdict } from './drill.js';
import { initialRecord, transition, type UnitEvent, type UnitPolicy, type UnitRecord } from './failover.js';
import { unitReport } from './health.js';
import { decodeRecord } from './record-codec.js';
import type { UnitReport } from './report-types.js';

const policy: UnitPolicy = {
  errorRateThreshold: 0.8, window: 10, minSamples: 5, failbackAfter: 3, holdDownMs: 30_000,
  holdDownMaxMs: 240_000, healthyResetMs: 600_000, deadAfterMs: 20_000, startGraceMs: 5_000, overlap: false,
};

function step(record: UnitRecord, event: UnitEvent, now: number) {
  return transition(record, event, now, policy);
}

describe('the drill path of the state machine', () => {
  it('fails over without counting a failover or feeding flap damping, then goes straight back with no hold-down or trial', () => {
    const start: UnitRecord = { ...initialRecord('pm2:api', 0), failovers: 2, repeat: 1 };
    const over = step(start, { type: 'drill-failover', reason: 'drill: planned failover' }, 1_000);
    expect(over.record.state).toEqual({ kind: 'failing-over', since: 1_000, reason: 'drill: planned failover', manual: true, drill: true });
    expect(over.effects.map((e) => e.type)).toEqual(['stop-primary', 'start-twin']);
    expect(over.record).toMatchObject({ failovers: 2, repeat: 1 });
    const backup = step(over.record, { type: 'effects-done' }, 1_200);
    expect(backup.record.state).toMatchObject({ kind: 'backup', manual: true, drill: true });
    // Rounds go on meanwhile: neither a tick long after the hold-down nor failed samples move it.
    expect(step(backup.record, { type: 'tick' }, 10_000_000).changed).toBe(false);
    expect(step(backup.record, { type: 'sample', sample: { ok: false, reason: 'x', at: 1_300 } }, 1_300).record.state.kind).toBe('backup');
    const back = step(backup.record, { type: 'drill-failback', reason: 'drill: twin verified; failing back' }, 1_500);
    expect(back.record.state).toEqual({ kind: 'failing-back', since: 1_500, drill: true });
    expect(back.effects.map((e) => e.type)).toEqual(['stop-twin', 'start-primary']);
    const done = step(back.record, { type: 'effects-done' }, 1_700);
    expect(done.record).toMatchObject({ state: { kind: 'primary', since: 1_700 }, failovers: 2, repeat: 1 });
  });

  it('puts back a drill whose twin never came up (still failing-over), and refuses drill events out of place', () => {
    const over = step(initialRecord('pm2:api', 0), { type: 'drill-failover', reason: 'drill' }, 1_000).record;
    expect(step(over, { type: 'drill-failback', reason: 'twin not verified' }, 2_000).record.state).toEqual({ kind: 'failing-back', since: 2_000, drill: true });
    expect(() => step(over, { type: 'drill-failover', reason: 'again' }, 2_000)).toThrow('pm2:api is in state failing-over; drill needs state primary');
    expect(() => step(initialRecord('pm2:api', 0), { type: 'drill-failback', reason: 'x' }, 1)).toThrow(/needs state backup/);
    // A real failover is not ended by a drill's failback.
    const failed = step(initialRecord('pm2:api', 0), { type: 'primary-dead', reason: 'errored' }, 1).record;
    const settled = step(failed, { type: 'effects-done' }, 2).record;
    expect(() => step(settled, { type: 'drill-failback', reason: 'x' }, 3)).toThrow('pm2:api is in state backup; drill failback needs state backup in a drill');
  });

  it('a primary that dies while failing back from a drill is a real failover', () => {
    const over = step(initialRecord('pm2:api', 0), { type: 'drill-failover', reason: 'drill' }, 1).record;
    const back = step(step(over, { type: 'effects-done' }, 2).record, { type: 'drill-failback', reason: 'back' }, 3).record;
    const dead = step(back, { type: 'primary-dead', reason: 'errored in PM2' }, 4).record;
    expect(dead.state).toMatchObject({ kind: 'failing-over', manual: false });
    expect(dead.state).not.toHaveProperty('drill');
    expect(dead.failovers).toBe(1);
  });

  it('keeps the drill mark through a save, and shows it in the report', () => {
    const over = step(initialRecord('pm2:api', 0), { type: 'drill-failover', reason: 'drill' }, 1).record;
    const backup = step(over, { type: 'effects-done' }, 2).record;
    expect(decodeRecord(JSON.parse(JSON.stringify(backup)))?.state).toEqual(backup.state);
    const side = { name: 'api', status: 'online', ok: true };
    const line = unitReport({ unit: { id: 'pm2:api', kind: 'pm2', name: 'api', source: { file: 'x' } }, record: backup, primary: side, twin: side, policy });
    expect(line).toMatchObject({ drill: true, state: 'backup', threshold: 0.8 });
    expect(line).not.toHaveProperty('holdDownUntil');
  });
});

function line(over: Partial<UnitReport> = {}): UnitReport {
  return {
    id: 'pm2:api', kind: 'pm2', name: 'api', state: 'primary', active: 'primary', health: 'healthy', errorRate: 0, samples: 5,
    twin: { name: 'api-backup', status: 'stopped' }, primary: { name: 'api', status: 'online' }, lastCheckAt: null, lastTransitionAt: null, failovers: 0, reason: 'ok', ...over,
  };
}
const ready: DrillVerifier = { twinNotReady: () => undefined, verify: async () => ({ state: 'ok', reason: 'ok' }) };

describe('drillRefusal', () => {
  it('allows only a healthy unit on its primary, not paused, with a ready twin and no other drill under way', () => {
    expect(drillRefusal(line(), 'pm2:api', { verifier: ready })).toBeUndefined();
    expect(drillRefusal(undefined, 'pm2:x', { verifier: ready })).toBe('unknown unit pm2:x');
    expect(drillRefusal(line(), 'pm2:api', { verifier: undefined })).toMatch(/^pm2 units cannot be drilled yet/);
    expect(drillRefusal(line(), 'pm2:api', { verifier: ready, busyWith: 'pm2:web' })).toMatch(/a drill of pm2:web is under way/);
    expect(drillRefusal(line({ paused: { since: 'x', until: null } }), 'pm2:api', { verifier: ready })).toMatch(/is paused/);
    expect(drillRefusal(line({ state: 'backup', active: 'twin' }), 'pm2:api', { verifier: ready })).toMatch(/not on its primary \(state backup, active twin\)/);
    expect(drillRefusal(line({ health: 'degraded', reason: 'HTTP 500' }), 'pm2:api', { verifier: ready })).toBe('pm2:api is not healthy on its primary (degraded: HTTP 500)');
    expect(drillRefusal(line(), 'pm2:api', { verifier: { ...ready, twinNotReady: () => 'api-backup is failed' } })).toBe('pm2:api: its twin is not ready: api-backup is failed');
  });
});

/** A clock that moves only when the drill sleeps or a side takes time. */
function fakeWorld(script: { twin: (t: number) => SideVerdict; primary: (t: number) => SideVerdict; switchMs?: number }) {
  let now = 10_000;
  const calls: string[] = [];
  const ports: DrillPorts = {
    failover: async (reason) => { calls.push(`failover: ${reason}`); now += script.switchMs ?? 0; },
    failback: async (reason) => { calls.push(`failback: ${reason}`); now += script.switchMs ?? 0; },
    verify: async (side) => script[side](now),
    sleep: async (ms) => { now += ms; },
  };
  return { ports, clock: { now: () => now }, calls };
}

describe('runDrill', () => {
  it('measures decision to twin serving (RTO) and failback to primary serving', async () => {
    const world = fakeWorld({
      switchMs: 300,
      twin: (t) => (t >= 11_000 ? { state: 'ok', reason: 'probe passed' } : { state: 'waiting', reason: 'launching' }),
      primary: (t) => (t >= 11_900 ? { state: 'ok', reason: 'probe passed' } : { state: 'waiting', reason: 'launching' }),
    });
    const times = await runDrill(world.ports, world.clock, { timeoutMs: 5_000, pollMs: 100 });
    expect(times).toEqual({ result: 'ok', reason: 'twin: probe passed; primary: probe passed', rtoMs: 1_000, failbackMs: 900, totalMs: 1_900 });
    expect(world.calls).toEqual(['failover: drill: planned failover to the twin', 'failback: drill: twin verified; failing back']);
  });

  it('takes the time a side says it began serving (a process that had to stay up)', async () => {
    const world = fakeWorld({ twin: (t) => (t >= 12_000 ? { state: 'ok', reason: 'stayed online', at: 10_400 } : { state: 'waiting', reason: 'online' }), primary: () => ({ state: 'ok', reason: 'ok' }) });
    expect((await runDrill(world.ports, world.clock, { timeoutMs: 5_000, pollMs: 100 })).rtoMs).toBe(400);
  });

  it('a twin not verified within the timeout fails the drill and still fails back; a failed verdict ends the wait at once', async () => {
    const slow = fakeWorld({ twin: () => ({ state: 'waiting', reason: 'probe: HTTP 500' }), primary: () => ({ state: 'ok', reason: 'ok' }) });
    const times = await runDrill(slow.ports, slow.clock, { timeoutMs: 2_000, pollMs: 500 });
    expect(times).toMatchObject({ result: 'failed', rtoMs: null, failbackMs: 0, reason: 'twin not verified within 2000ms: probe: HTTP 500; the primary serves again' });
    expect(slow.calls[1]).toBe('failback: drill: twin not verified (not verified within 2000ms: probe: HTTP 500); back to the primary');
    const broken = fakeWorld({ twin: () => ({ state: 'failed', reason: 'run exited 3' }), primary: () => ({ state: 'waiting', reason: 'stopped' }) });
    const both = await runDrill(broken.ports, broken.clock, { timeoutMs: 1_000, pollMs: 500 });
    expect(both).toMatchObject({ result: 'failed', rtoMs: null, failbackMs: null, reason: 'twin run exited 3; and the primary does not serve either: not verified within 1000ms: stopped' });
  });

  it('stops waiting when told to (the manager is stopping), and still fails back', async () => {
    let stopping: string | undefined;
    const world = fakeWorld({ twin: (t) => { if (t >= 10_300) stopping = 'the manager is stopping'; return { state: 'waiting', reason: 'launching' }; }, primary: () => ({ state: 'waiting', reason: 'starting' }) });
    const times = await runDrill({ ...world.ports, stopped: () => stopping }, world.clock, { timeoutMs: 60_000, pollMs: 100 });
    expect(times).toMatchObject({ result: 'failed', rtoMs: null, failbackMs: null, totalMs: 300 });
    expect(times.reason).toBe('twin the manager is stopping (launching); and the primary does not serve either: the manager is stopping (starting)');
    expect(world.calls).toHaveLength(2);
  });
});

describe('the drill log and status flags', () => {
  const rec = (unit: string, at: string, result: DrillRecord['result']): DrillRecord => ({ unit, at, result, reason: result, rtoMs: result === 'ok' ? 900 : null, failbackMs: 100, totalMs: 1_000, host: 'h' });
  it('keeps the latest drill that ran per unit; refusals do not count', () => {
    const last = lastDrills([rec('a', '2026-01-02T00:00:00Z', 'ok'), rec('a', '2026-01-01T00:00:00Z', 'failed'), rec('a', '2026-01-03T00:00:00Z', 'refused'), rec('b', '2026-01-01T00:00:00Z', 'refused')]);
    expect(last).toEqual({ a: { at: '2026-01-02T00:00:00Z', result: 'ok', rtoMs: 900, failbackMs: 100, reason: 'ok' } });
  });
  it('flags never drilled, too old and failed', () => {
    const day = 86_400_000;
    const now = Date.parse('2026-02-01T00:00:00Z');
    expect(drillFlag(undefined, now, 30 * day)).toBe('never drilled');
    expect(drillFlag({ at: '2026-01-31T00:00:00Z', result: 'ok', rtoMs: 1, failbackMs: 1, reason: '' }, now, 30 * day)).toBeUndefined();
    expect(drillFlag({ at: '2025-12-01T00:00:00Z', result: 'ok', rtoMs: 1, failbackMs: 1, reason: '' }, now, 30 * day)).toBe('last drill 62d ago');
    expect(drillFlag({ at: '2026-01-31T00:00:00Z', result: 'failed', rtoMs: null, failbackMs: 1, reason: '' }, now, 30 * day)).toBe('last drill failed');
  });
  it('validates drills: with one-line errors; maxAge may exceed a timer', () => {
    const check = new Checker('redundancy.config.yaml');
    expect(compileDrills(check, undefined)).toEqual({ maxAgeMs: 30 * 86_400_000, timeoutMs: 60_000, pauseMs: 10_000 });
    expect(compileDrills(check, { maxAge: '90d', timeout: '5s', pause: 0 })).toEqual({ maxAgeMs: 90 * 86_400_000, timeoutMs: 5_000, pauseMs: 0 });
    expect(() => compileDrills(check, { maxAge: 'monthly' })).toThrow('redundancy.config.yaml: drills.maxAge: expected a duration > 0, like 7d or 30d, got "monthly"');
    expect(() => compileDrills(check, { timeout: 0 })).toThrow(/^redundancy\.config\.yaml: drills\.timeout: expected a duration > 0/);
    expect(() => compileDrills(check, { maxage: '1d' })).toThrow('redundancy.config.yaml: drills.maxage: expected a known key (unknown key; did you mean "maxAge"?), got "1d"');
  });
});
