import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { initialRecord, type UnitPolicy, type UnitRecord } from '../core/failover.js';
import { throttleSchedule } from '../core/schedule/throttle.js';
import { Ledger, type LedgerEvent } from '../store/ledger.js';
import { silentLogger } from '../store/logger.js';
import { ScheduleRuntime } from './schedule-kind.js';
import type { ScheduledUnitSpec } from './schedule-unit.js';
import { cron } from '../../test/helpers/cron.js';

const policy: UnitPolicy = {
  errorRateThreshold: 0.8, window: 5, minSamples: 3, failbackAfter: 2, holdDownMs: 3_600_000, holdDownMaxMs: 86_400_000,
  healthyResetMs: 86_400_000, deadAfterMs: 20_000, startGraceMs: 5_000, overlap: false,
};
const timing = { graceMs: 120_000, maxRuntimeMs: 3_600_000 };
const t0 = Date.UTC(2026, 5, 1, 10, 0, 30);
const host = 'test-host';


function spec(expr = '*/5 * * * *', throttleMs = 1_800_000): ScheduledUnitSpec {
  const throttled = throttleSchedule(cron(expr), throttleMs, 'UTC');
  return {
    unit: { id: 'cron:job', kind: 'cron', name: 'job', source: { file: 'crontab', line: 1 }, schedule: expr },
    policy,
    primary: { parsed: cron(expr), expr, tz: 'UTC' },
    twin: { name: 'job-backup', schedule: { parsed: throttled.schedule, expr: throttled.expr, tz: 'UTC' }, timeoutMs: throttleMs },
    job: { command: ['true'], cwd: '/', env: {} },
    trialRun: false,
  };
}

let dir: string;
let ledger: Ledger;
let clock: { now(): number };
let jobs: Array<{ side: string; at: number; finish: (code: number) => void }>;

function runtime(s = spec()): ScheduleRuntime {
  return new ScheduleRuntime({
    kind: 'cron', units: [s], ledger, timing, clock, logger: silentLogger(), host,
    runJob: (_spec, side) => new Promise((resolve) => jobs.push({ side, at: clock.now(), finish: (exitCode) => resolve({ exitCode, durationMs: 1 }) })),
  });
}

function line(over: Partial<LedgerEvent>): LedgerEvent {
  return { run: 'r', unit: 'cron:job', side: 'primary', event: 'start', at: t0, slot: null, pid: null, exitCode: null, signal: null, durationMs: null, host, ...over };
}

const backup = (record: UnitRecord): UnitRecord => ({ ...record, state: { kind: 'backup', since: t0, reason: 'x', manual: false } });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redundancy-schedule-'));
  ledger = new Ledger({ dir });
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: t0 });
  clock = { now: () => Date.now() };
  jobs = [];
});

afterEach(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

describe('the twin scheduler', () => {
  it("fires the throttled schedule only while the twin is on, and skips a firing while the last run goes on", async () => {
    const rt = runtime();
    const d = rt.drivers[0]!;
    const record = backup(initialRecord('cron:job', t0));
    await rt.refresh(true);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(jobs).toHaveLength(0);

    await d.run({ type: 'start-twin' }, record);
    // */5 at 30m is */30: the next firing after 11:00:30 is 11:30.
    expect(new Date(d.nextTwinAt!).toISOString()).toBe('2026-06-01T11:30:00.000Z');
    await vi.advanceTimersByTimeAsync(d.nextTwinAt! - Date.now());
    expect(jobs.map((j) => [j.side, new Date(j.at).toISOString()])).toEqual([['twin', '2026-06-01T11:30:00.000Z']]);

    // Still running at the next firing: that one is skipped, never run beside it.
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(jobs).toHaveLength(1);
    const { events } = await ledger.read('cron:job');
    expect(events).toMatchObject([{ side: 'twin', event: 'skipped', reason: 'the last twin run is still under way', at: Date.UTC(2026, 5, 1, 12, 0) }]);
    jobs[0]!.finish(0);
    await vi.advanceTimersByTimeAsync(0);

    // stop-twin waits for no run and turns the schedule off.
    expect(d.needed({ type: 'stop-twin' }, record)).toBe(true);
    expect(await d.run({ type: 'stop-twin' }, record)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(6 * 3_600_000);
    expect(jobs).toHaveLength(1);
    await rt.close();
  });

  it('waits for a twin run under way before the twin counts as stopped', async () => {
    const rt = runtime(spec('@reboot'));
    const d = rt.drivers[0]!;
    const record = backup(initialRecord('cron:job', t0));
    await rt.refresh(true);
    await d.run({ type: 'start-twin' }, record);
    expect(jobs.map((j) => j.side)).toEqual(['twin']);
    expect(await d.run({ type: 'stop-twin' }, record)).toBe('pending');
    jobs[0]!.finish(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(d.needed({ type: 'stop-twin' }, record)).toBe(false);
  });

  it('runs the twin of an @reboot line once a failover, not again when the effect is repeated after a restart', async () => {
    await ledger.append(line({ side: 'twin', event: 'start', at: t0 + 1_000, run: 'twin1' }));
    const rt = runtime(spec('@reboot'));
    await rt.refresh(true);
    await rt.drivers[0]!.run({ type: 'start-twin' }, backup(initialRecord('cron:job', t0)));
    expect(jobs).toHaveLength(0);
  });
});

describe('a failback trial with trialRun', () => {
  it('runs the primary once a trial, at once, not again when the trial starts its watch', async () => {
    const rt = runtime({ ...spec(), trialRun: true });
    const d = rt.drivers[0]!;
    const trial: UnitRecord = { ...initialRecord('cron:job', t0), state: { kind: 'probing', since: t0, okCount: 0, started: false }, lastTransitionAt: t0 };
    expect(d.needed({ type: 'start-primary' }, trial)).toBe(true);
    await d.run({ type: 'start-primary' }, trial);
    expect(jobs.map((j) => j.side)).toEqual(['primary']);
    const watching: UnitRecord = { ...trial, state: { kind: 'probing', since: t0 + 5, okCount: 0, started: true } };
    expect(d.needed({ type: 'start-primary' }, watching)).toBe(false);
    // The next trial is a new one.
    expect(d.needed({ type: 'start-primary' }, { ...trial, lastTransitionAt: t0 + 3_600_000 })).toBe(true);
  });
});

describe('observation from the ledger', () => {
  it('turns finished runs and missed slots into samples, each counted once, and keeps the cursor', async () => {
    const rt = runtime();
    const d = rt.drivers[0]!;
    let record = initialRecord('cron:job', t0);
    // Each round refreshes first (no watcher here: every ledger is looked at).
    const look = async (r: UnitRecord, now: number) => (await rt.refresh(false), d.observe(r, now));
    // The first look starts the cursor now: history before the manager is not judged.
    let seen = await look(record, t0);
    expect(seen.events).toEqual([]);
    record = { ...record, cursor: seen.cursor };

    await ledger.append(line({ run: 'a', event: 'start', at: Date.UTC(2026, 5, 1, 10, 5, 1), slot: Date.UTC(2026, 5, 1, 10, 5) }));
    await ledger.append(line({ run: 'a', event: 'end', at: Date.UTC(2026, 5, 1, 10, 5, 3), exitCode: 2, durationMs: 2_000, reason: 'exit 2' }));
    const now = Date.UTC(2026, 5, 1, 10, 16);
    seen = await look(record, now);
    // 10:05 ran and failed; 10:10 had no run by 10:12; 10:15 is still inside its grace.
    expect(seen.events.map((e) => e.type === 'sample' && [e.sample.ok, e.sample.reason])).toEqual([
      [false, 'exit 2'],
      [false, 'missed run at 2026-06-01T10:10Z'],
    ]);
    record = { ...record, cursor: seen.cursor };
    expect((await look(record, now + 1_000)).events).toEqual([]);
  });

  it('judges no slot of the primary while the unit is on its twin', async () => {
    const rt = runtime();
    const d = rt.drivers[0]!;
    const start = await d.observe(initialRecord('cron:job', t0), t0);
    const onTwin = { ...backup(initialRecord('cron:job', t0)), cursor: start.cursor };
    const later = Date.UTC(2026, 5, 1, 13, 0);
    const seen = await d.observe(onTwin, later);
    expect(seen.events).toEqual([]);
    // Back on the primary, the slots of the twin's time are not its misses.
    const back = await d.observe({ ...initialRecord('cron:job', later), cursor: seen.cursor }, later + 60_000);
    expect(back.events).toEqual([]);
  });

  it('holds stop-primary while a primary run is under way on this host', async () => {
    await ledger.append(line({ run: 'live', event: 'start', pid: process.pid }));
    const rt = runtime();
    await rt.refresh(true);
    const d = rt.drivers[0]!;
    const record = backup(initialRecord('cron:job', t0));
    expect(d.needed({ type: 'stop-primary' }, record)).toBe(true);
    expect(await d.run({ type: 'stop-primary' }, record)).toBe('pending');
    await ledger.append(line({ run: 'live', event: 'end', exitCode: 0, durationMs: 5 }));
    // The minute's sweep looks at every ledger, whatever the watcher said.
    vi.setSystemTime(t0 + 60_000);
    await rt.refresh(false);
    await d.observe(record, t0 + 1);
    expect(d.needed({ type: 'stop-primary' }, record)).toBe(false);
  });
});
