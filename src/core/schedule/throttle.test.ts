import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRedundancyError } from '../errors.js';
import type { CronFields, CronSchedule } from './cron-fields.js';
import { slotsBetween } from './slots.js';
import { throttleSchedule, type ThrottledSchedule } from './throttle.js';
import { cron } from '../../../test/helpers/cron.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const twin = (line: string, targetMs: number, tz = 'UTC'): ThrottledSchedule => throttleSchedule(cron(line), targetMs, tz);

describe('throttleSchedule examples', () => {
  it('thins minutes to a readable step', () => {
    expect(twin('*/5 * * * *', 30 * MIN)).toMatchObject({ expr: '*/30 * * * *', changed: true, note: '*/5 * * * * -> */30 * * * * (at least 30m apart)' });
    expect(twin('*/5 * * * *', 20 * MIN).expr).toBe('*/20 * * * *');
    expect(twin('*/5 * * * *', 25 * MIN).expr).toBe('*/30 * * * *'); // as many firings as 0,25 and reads better
    expect(twin('*/7 * * * *', 25 * MIN).expr).toBe('0,28 * * * *');
  });
  it('thins hours once a firing an hour is still too often', () => {
    expect(twin('*/5 * * * *', 6 * HOUR).expr).toBe('0 */6 * * *');
    expect(twin('*/5 * * * *', DAY).expr).toBe('0 0 * * *');
  });
  it('keeps lines already slower than the target, @reboot and lines that never fire', () => {
    expect(twin('0 * * * *', 30 * MIN)).toMatchObject({ expr: '0 * * * *', changed: false, note: 'already at least 30m apart; kept' });
    expect(twin('30 2 * * *', DAY)).toMatchObject({ changed: false });
    expect(throttleSchedule({ kind: 'reboot' }, HOUR)).toEqual({ schedule: { kind: 'reboot' }, expr: '@reboot', changed: false, note: '@reboot is not throttled; kept' });
    expect(twin('0 0 31 2 *', HOUR)).toMatchObject({ expr: '0 0 31 2 *', changed: false, note: 'never fires; kept' });
  });
  it('never touches months and keeps the day rule', () => {
    const t = twin('*/5 * 1,15 1-6 5', HOUR);
    expect(t.expr).toBe('0 * 1,15 1-6 5');
    expect(twin('*/15 * */2 * 1-5', HOUR).expr).toBe('0 * */2 * 1-5');
  });
});

describe('throttleSchedule across clock changes (Europe/London)', () => {
  const london = (line: string, targetMs: number): string => twin(line, targetMs, 'Europe/London').expr;
  it('leaves room for the 23-hour day', () => {
    expect(london('*/5 * * * *', 6 * HOUR)).toBe('0 */8 * * *'); // 00:00 -> 06:00 spans the lost hour: 5h
  });
  it('drops the clock-change weekday when a daily line cannot stay 24h apart', () => {
    expect(twin('30 2 * * *', DAY, 'Europe/London')).toMatchObject({ expr: '30 2 * * 1-6', note: '30 2 * * * -> 30 2 * * 1-6 (at least 24h apart; on fewer weekdays)' });
  });
  it('keeps a fixed-time twin off hours whose skipped times run at the jump', () => {
    expect(london('15,45 0-3 * * *', 30 * MIN)).toBe('15,45 0,2 * * *'); // 01:15 would run at the 01:00 UTC jump, 15m after 00:45
  });
  it('moves a twin out of the repeated hour, where a wildcard line runs twice', () => {
    expect(london('*/10 1,5 * * *', 6 * HOUR)).toBe('0 5 * * *');
  });
  it('refuses when every thinner line breaks the contract', () => {
    // Only hour 1, days ORed (no weekday can be dropped): a wildcard twin runs twice in autumn, a fixed one at 02:00 in spring.
    let error: unknown;
    try {
      london('*/10 1 1,15 * 0', 2 * HOUR);
    } catch (e) {
      error = e;
    }
    expect(isRedundancyError(error) && error.code).toBe('CONFIG_INVALID');
  });
  it('uses the process zone when tz is undefined', () => {
    const zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(throttleSchedule(cron('*/5 * * * *'), 6 * HOUR)).toEqual(throttleSchedule(cron('*/5 * * * *'), 6 * HOUR, zone));
  });
});

// ---- Properties: random lines and targets, a whole year of real firings from slots.ts. ----

function fieldText(min: number, max: number, star: number): fc.Arbitrary<string> {
  const value = fc.integer({ min, max });
  const range = fc.tuple(value, value).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
  return fc.oneof(
    { weight: star, arbitrary: fc.constant('*') },
    { weight: 3, arbitrary: fc.integer({ min: 2, max: Math.min(12, max - min) }).map((n) => `*/${n}`) },
    { weight: 1, arbitrary: value.map(String) },
    { weight: 1, arbitrary: range },
    { weight: 1, arbitrary: fc.tuple(range, fc.integer({ min: 1, max: 5 })).map(([r, n]) => `${r}/${n}`) },
    { weight: 2, arbitrary: fc.uniqueArray(value, { minLength: 2, maxLength: 6 }).map((v) => v.join(',')) },
  );
}
const anyLine = fc
  .tuple(fieldText(0, 59, 3), fieldText(0, 23, 4), fieldText(1, 31, 10), fieldText(1, 12, 16), fieldText(0, 7, 8))
  .map((f) => f.join(' '));
/** Lines that fire in or next to the hours clocks change in (London 01:00, New York 01:00-02:00). */
const hoursNearChanges = fc
  .tuple(fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }), fc.option(fc.integer({ min: 4, max: 23 })))
  .map(([near, far]) => [...near, ...(far === null ? [] : [far])].join(','));
const nearChangesLine = fc
  .tuple(fieldText(0, 59, 3), hoursNearChanges, fc.constantFrom('*', '*', '1-7', '1,15', '*/2'), fc.constantFrom('*', '*', '*', '3,10,11'), fc.constantFrom('*', '*', '1-5', '0', '0,6'))
  .map((f) => f.join(' '));
const cronLine = fc.oneof(anyLine, nearChangesLine);
const targets = [5 * MIN, 30 * MIN, HOUR, 6 * HOUR, DAY] as const;
const zones = ['Europe/London', 'America/New_York', 'UTC'] as const;
/** Largest DST shift of each zone: a daily twin cannot stay 24h apart across it. */
const shiftMs: Record<(typeof zones)[number], number> = { 'Europe/London': HOUR, 'America/New_York': HOUR, UTC: 0 };

// A year and two weeks: both 2026 clock changes and two year ends.
const FROM = Date.UTC(2025, 11, 24);
const TO = Date.UTC(2027, 0, 8);

const hourOffsets = new Map<string, Int32Array>();
/** The zone's local day of an instant; offsets sampled each UTC hour (London changes on the hour). */
function localDay(zone: string, t: number): number {
  let table = hourOffsets.get(zone);
  if (table === undefined) {
    const format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric' });
    table = new Int32Array(Math.ceil((TO - FROM) / HOUR) + 1);
    for (let i = 0; i < table.length; i++) {
      const v: Record<string, number> = {};
      for (const p of format.formatToParts(FROM + i * HOUR)) v[p.type] = Number(p.value);
      table[i] = (Date.UTC(v.year!, v.month! - 1, v.day!, v.hour!) - (FROM + i * HOUR)) / MIN;
    }
    hourOffsets.set(zone, table);
  }
  return Math.floor((t + table[Math.floor((t - FROM) / HOUR)]! * MIN) / DAY);
}

const subset = (a: number[], b: number[]): boolean => a.every((v) => b.includes(v));

function fieldsOf(s: CronSchedule): CronFields {
  if (s.kind !== 'cron') throw new Error('expected a cron schedule');
  return s.fields;
}

describe('throttleSchedule properties', () => {
  it('twins fire only when the primary does, at least the target apart, on every day the primary fires', () => {
    const stats = { runs: 0, changed: 0, refused: 0, fewerDays: 0, dstDayLost: 0 };
    fc.assert(
      fc.property(cronLine, fc.constantFrom(...targets), fc.constantFrom(...zones), (line, targetMs, zone) => {
        const primary = cron(line);
        let result: ThrottledSchedule;
        try {
          result = throttleSchedule(primary, targetMs, zone);
        } catch (e) {
          if (!isRedundancyError(e) || e.code !== 'CONFIG_INVALID') throw e;
          stats.refused++;
          return;
        }
        stats.runs++;
        const p = fieldsOf(primary);
        const t = fieldsOf(result.schedule);
        // The text says what the fields say, and the sets are subsets with the same months and day rule.
        expect(fieldsOf(cron(result.expr))).toEqual(t);
        expect([subset(t.minutes, p.minutes), subset(t.hours, p.hours), subset(t.daysOfMonth, p.daysOfMonth), subset(t.daysOfWeek, p.daysOfWeek)]).toEqual([true, true, true, true]);
        expect([t.months, t.domStar || t.dowStar]).toEqual([p.months, p.domStar || p.dowStar]);
        if (!result.changed) expect(result.expr).toBe(primary.kind === 'cron' && primary.expr);
        else stats.changed++;

        const ps = slotsBetween(primary, zone, FROM, TO, Infinity);
        const ts = slotsBetween(result.schedule, zone, FROM, TO, Infinity);
        // (1) every twin firing is a primary firing (both ascending: one merge walk)
        let j = 0;
        const stray = ts.find((x) => {
          while (j < ps.length && ps[j]! < x) j++;
          return ps[j] !== x;
        });
        if (stray !== undefined) expect.fail(`${result.note} in ${zone}: twin fires alone at ${new Date(stray).toISOString()}`);
        // (2) gaps in real time
        const close = ts.findIndex((x, i) => i > 0 && x - ts[i - 1]! < targetMs);
        if (close > 0) expect.fail(`${result.note} in ${zone}: ${new Date(ts[close - 1]!).toISOString()} -> ${new Date(ts[close]!).toISOString()}`);
        // (3) a firing on each local day the primary fires, unless the note says why not
        if (result.note.includes('fewer weekdays')) stats.fewerDays++;
        else if (result.note.includes('may skip a day')) stats.dstDayLost++;
        else if (targetMs <= DAY - shiftMs[zone]) {
          const twinDays = new Set(ts.map((x) => localDay(zone, x)));
          const whole = (d: number): boolean => d > localDay(zone, FROM) && d < localDay(zone, TO); // edge days are cut
          const missing = ps.map((x) => localDay(zone, x)).find((d) => whole(d) && !twinDays.has(d));
          if (missing !== undefined) expect.fail(`${result.note} in ${zone}: no firing on ${new Date(missing * DAY).toISOString().slice(0, 10)}`);
        }
      }),
      { numRuns: 200 },
    );
    expect(stats.changed).toBeGreaterThan(20);
    expect(stats.refused).toBeLessThan(10);
  });

  // The throttle checks the calendar from 2020 to 2047; in UTC the exact smallest gap over it follows from the firing days.
  it('keeps exactly the lines whose firings are already the target apart (UTC)', () => {
    fc.assert(
      fc.property(cronLine, fc.constantFrom(...targets), (line, targetMs) => {
        const primary = cron(line);
        const f = fieldsOf(primary);
        const days: number[] = [];
        for (let day = Date.UTC(2020, 0, 1); day < Date.UTC(2048, 0, 1); day += DAY) {
          const d = new Date(day);
          const dom = f.daysOfMonth.includes(d.getUTCDate());
          const dow = f.daysOfWeek.includes(d.getUTCDay());
          if (f.months.includes(d.getUTCMonth() + 1) && (f.domStar || f.dowStar ? dom && dow : dom || dow)) days.push(day);
        }
        if (days.length === 0) return;
        const times = f.hours.flatMap((h) => f.minutes.map((m) => (h * 60 + m) * MIN));
        let gap = Infinity;
        for (let i = 1; i < times.length; i++) gap = Math.min(gap, times[i]! - times[i - 1]!);
        for (let i = 1; i < days.length; i++) gap = Math.min(gap, days[i]! - days[i - 1]! - (times[times.length - 1]! - times[0]!));
        expect(throttleSchedule(primary, targetMs, 'UTC').changed).toBe(gap < targetMs);
      }),
      { numRuns: 100 },
    );
  });
});
