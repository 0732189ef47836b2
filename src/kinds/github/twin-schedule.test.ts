import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slotsBetween } from '../../core/schedule/slots.js';
import { offPeakFields, planTwinSchedule } from './twin-schedule.js';
import type { WorkflowSchedule } from './workflow-file.js';
import { cron } from '../../../test/helpers/cron.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const entries = (...crons: Array<string | [string, string]>): WorkflowSchedule[] =>
  crons.map((c, i) => (typeof c === 'string' ? { cron: c, line: i + 1 } : { cron: c[0], timezone: c[1], line: i + 1 }));
const one = (text: string, throttleMs = DAY, seed = 'w.yml'): string => planTwinSchedule(entries(text), throttleMs, seed, false).crons[0]!.cron;

describe('planTwinSchedule', () => {
  it('moves the twin off the top of the hour onto another of the primary minutes', () => {
    expect(['15 0 * * *', '45 0 * * *']).toContain(one('*/15 * * * *'));
    expect(['20 2 * * *', '40 2 * * *']).toContain(one('0,20,40 2 * * *'));
    expect(one('*/5 * * * *')).not.toMatch(/^(0|15|30|45) /); // off the quarter hours when the line allows
    expect(one('*/5 * * * *', 30 * MIN)).toBe('5,35 * * * *');
  });
  it('spreads twins of different files over the allowed minutes, the same file always alike', () => {
    const minutes = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((seed) => one('*/5 * * * *', DAY, `${seed}.yml`)));
    expect(minutes.size).toBeGreaterThan(1);
    expect(one('*/5 * * * *', DAY, 'x.yml')).toBe(one('*/5 * * * *', DAY, 'x.yml'));
  });
  it('keeps a slow line as written, at :00 when that is its only minute, with day of week 7 as 0', () => {
    expect(one('0 4 * * *')).toBe('0 4 * * *');
    expect(one('0  4 * *  MON')).toBe('0 4 * * MON');
    expect(one('0 4 * * 7')).toBe('0 4 * * 0');
    expect(one('0 * * * *')).toBe('0 0 * * *');
  });
  it('one cron serves when the jobs do not tell crons apart; every primary cron maps to it', () => {
    const plan = planTwinSchedule(entries('0 4 * * *', '*/10 * * * *'), DAY, 'w.yml', false);
    expect(plan.crons).toHaveLength(1);
    expect(plan.crons[0]!.primary).toBe('*/10 * * * *'); // the one that can leave :00
    expect([...plan.rewrite.values()]).toEqual([plan.crons[0]!.cron, plan.crons[0]!.cron]);
    expect(plan.notes).toContain('the jobs do not read github.event.schedule, so one cron of 2 serves the twin');
  });
  it('every cron keeps a twin cron when the jobs tell them apart, and the map says which stands for which', () => {
    const plan = planTwinSchedule(entries('*/15 * * * *', '30 5,17 * * 1,3'), DAY, 'nightly-sync.yml', true);
    expect(plan.crons.map((c) => c.primary)).toEqual(['*/15 * * * *', '30 5,17 * * 1,3']);
    expect(plan.rewrite.get('30 5,17 * * 1,3')).toBe('30 5 * * 1,3');
    expect(plan.notes.some((n) => n.includes('may fall closer than 24h'))).toBe(true);
  });
  it('leaves out crons GitHub rejects and entries with an unknown zone, saying why', () => {
    const plan = planTwinSchedule(entries('@daily', ['0 4 * * *', 'Mars/Olympus'], '5 4 * * *'), DAY, 'w.yml', true);
    expect(plan.crons.map((c) => c.cron)).toEqual(['5 4 * * *']);
    expect(plan.notes.slice(0, 2)).toEqual([expect.stringContaining("cron '@daily' (line 1) is not valid on GitHub"), expect.stringContaining("unknown timezone 'Mars/Olympus'")]);
  });
  it('keeps a zone the cron depends on, and drops one it does not', () => {
    const plan = planTwinSchedule(entries(['30 5 * * 1-5', 'America/New_York'], ['*/10 * * * *', 'Europe/Berlin'], ['*/10 * * * *', 'Asia/Kolkata']), DAY, 'w.yml', true);
    expect(plan.crons[0]).toEqual({ primary: '30 5 * * 1-5', cron: '30 5 * * 1-5', timezone: 'America/New_York' });
    expect(plan.crons[1]).not.toHaveProperty('timezone');
    expect(plan.crons[2]).toMatchObject({ timezone: 'Asia/Kolkata' }); // half an hour off UTC
  });
  it('does not change how clock changes treat a line when choosing its minute', () => {
    const wildcard = cron('*/15 4 * * *');
    if (wildcard.kind !== 'cron') throw new Error('cron');
    expect(offPeakFields(wildcard.fields, DAY, 's', 'UTC')?.minutes).toHaveLength(1);
    expect(offPeakFields(wildcard.fields, DAY, 's', 'America/New_York')).toBeUndefined();
  });
});

/** Five fields drawn from the shapes people write. */
const field = (min: number, max: number, steps: number[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant('*'),
    fc.constantFrom(...steps).map((s) => `*/${s}`),
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 4 }).map((v) => v.sort((a, b) => a - b).join(',')),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
  );
const cronText = fc
  .tuple(field(0, 59, [5, 7, 10, 15, 20, 30]), field(0, 23, [2, 3, 6, 12]), fc.oneof(fc.constant('*'), field(1, 28, [2, 7])), fc.constant('*'), field(0, 6, [2, 3]))
  .map((f) => f.join(' '));
const target = fc.constantFrom(5 * MIN, 30 * MIN, HOUR, 6 * HOUR, DAY, 2 * DAY, 7 * DAY);

function firings(text: string, tz: string | undefined, from: number, to: number): number[] {
  return slotsBetween(cron(text), tz ?? 'UTC', from, to, 500_000);
}

describe('planTwinSchedule property: every twin firing is a firing of the primary', () => {
  const from = Date.UTC(2026, 0, 1);
  it('in UTC, at least the target apart', () => {
    fc.assert(
      fc.property(cronText, target, fc.string({ maxLength: 8 }), (text, targetMs, seed) => {
        const plan = planTwinSchedule(entries(text), targetMs, seed, false);
        const to = from + Math.max(21 * DAY, 6 * targetMs);
        const primary = new Set(firings(text, undefined, from, to));
        const twin = firings(plan.crons[0]!.cron, undefined, from, to);
        expect(twin.filter((t) => !primary.has(t))).toEqual([]);
        // a line no thinner schedule serves (days both fields pin closer than the target) keeps its own, and says so
        if (plan.warnings.length > 0) {
          expect(plan.warnings[0]).toContain('not throttled');
          return;
        }
        for (let i = 1; i < twin.length; i++) expect(twin[i]! - twin[i - 1]!).toBeGreaterThanOrEqual(targetMs);
      }),
      { numRuns: 150 },
    );
  });
  it('for several crons, zoned or not, each standing for its own', () => {
    const zone = fc.constantFrom(undefined, 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata');
    fc.assert(
      fc.property(fc.array(fc.tuple(cronText, zone), { minLength: 1, maxLength: 3 }), target, (list, targetMs) => {
        const schedules = list.map(([text, tz], i) => ({ cron: text, line: i + 1, ...(tz && { timezone: tz }) }));
        const plan = planTwinSchedule(schedules, targetMs, 'p.yml', true);
        const start = Date.UTC(2026, 2, 1);
        const to = start + 45 * DAY; // spans the spring clock change in America and Europe
        const primary = new Set(list.flatMap(([text, tz]) => firings(text, tz, start, to)));
        for (const c of plan.crons) expect(firings(c.cron, c.timezone, start, to).filter((t) => !primary.has(t))).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
