import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CronFields, CronSchedule } from './cron-fields.js';
import { nextSlot, previousSlot, slotsBetween } from './slots.js';
import { cron } from '../../../test/helpers/cron.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const iso = (ms: number[]): string[] => ms.map((t) => new Date(t).toISOString());

// ---- Brute-force reference: every UTC minute, the zone's wall clock, cronie's rules. ----

const formats = new Map<string, Intl.DateTimeFormat>();
/** The wall clock at a UTC minute, as a minute count (wall clock read as UTC). */
function wallMinute(zone: string, ms: number): number {
  const format = formats.get(zone) ?? new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  formats.set(zone, format);
  const v: Record<string, number> = {};
  for (const p of format.formatToParts(ms)) v[p.type] = Number(p.value);
  return Date.UTC(v.year!, v.month! - 1, v.day!, v.hour!, v.minute!) / MIN;
}

function matches(f: CronFields, wall: number): boolean {
  const d = new Date(wall * MIN);
  const dom = f.daysOfMonth.includes(d.getUTCDate());
  const dow = f.daysOfWeek.includes(d.getUTCDay());
  const day = f.domStar || f.dowStar ? dom && dow : dom || dow;
  return day && f.months.includes(d.getUTCMonth() + 1) && f.hours.includes(d.getUTCHours()) && f.minutes.includes(d.getUTCMinutes());
}

/** cronie's main loop (cron.c): a jump forward runs fixed-time jobs of the skipped minutes; a jump back runs only wildcard jobs. */
function reference(s: CronSchedule, zone: string, fromMs: number, toMs: number): number[] {
  if (s.kind === 'reboot') return [];
  const f = s.fields;
  const fixed = !f.minuteStar && !f.hourStar;
  const out: number[] = [];
  const start = Math.floor(fromMs / MIN) * MIN - DAY; // settle the wall-clock high-water mark first
  let seen = wallMinute(zone, start - MIN);
  for (let t = start; t <= toMs; t += MIN) {
    const wall = wallMinute(zone, t);
    let fires = false;
    const jump = wall - seen; // cron.c's timeDiff: wall clock minus its virtual clock
    if (jump > 0) {
      fires = matches(f, wall);
      const catchUp = jump <= 5 || (jump <= 180 && fixed); // a larger jump is a reset: no catch-up
      for (let skipped = seen + 1; catchUp && !fires && skipped < wall; skipped++) fires = matches(f, skipped);
      seen = wall;
    } else if (jump < -180) {
      fires = matches(f, wall); // a reset backwards: every job runs again
      seen = wall;
    } else {
      fires = !fixed && matches(f, wall); // virtual clock waits; only wildcard jobs follow the wall clock
    }
    if (fires && t > fromMs) out.push(t);
  }
  return out;
}

const dstDays = {
  'America/New_York': [Date.UTC(2026, 2, 8), Date.UTC(2026, 10, 1)],
  'Europe/London': [Date.UTC(2026, 2, 29), Date.UTC(2026, 9, 25)],
  'Australia/Lord_Howe': [Date.UTC(2026, 3, 5), Date.UTC(2026, 9, 4)], // half-hour shifts
} as const;

describe('slotsBetween against the brute-force reference on DST days', () => {
  const lines = ['30 2 * * *', '30 1 * * *', '*/10 * * * *', '0 * * * *', '15 */2 * * *', '0,30 1,2 * * *', '*/15 1 * * *'];
  for (const [zone, days] of Object.entries(dstDays)) {
    for (const day of days) {
      for (const line of lines) {
        it(`${line} in ${zone} around ${new Date(day).toISOString().slice(0, 10)}`, () => {
          const from = day - DAY;
          const to = day + 2 * DAY;
          expect(iso(slotsBetween(cron(line), zone, from, to, Infinity))).toEqual(iso(reference(cron(line), zone, from, to)));
        });
      }
    }
  }
});

describe('cronie DST rules', () => {
  const ny = 'America/New_York';
  it('runs a fixed time in the skipped hour once at the jump, not again at 03:30', () => {
    const slots = slotsBetween(cron('30 2 * * *'), ny, Date.UTC(2026, 2, 8, 5), Date.UTC(2026, 2, 8, 12));
    expect(iso(slots)).toEqual(['2026-03-08T07:00:00.000Z']);
    expect(nextSlot(cron('30 2 * * *'), ny, Date.UTC(2026, 2, 8, 7))).toBe(Date.UTC(2026, 2, 9, 6, 30));
  });
  it('runs a fixed time in the repeated hour once (the first copy)', () => {
    expect(iso(slotsBetween(cron('30 1 * * *'), ny, Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 2)))).toEqual(['2026-11-01T05:30:00.000Z']);
  });
  it('runs wildcard lines in both copies of the repeated hour', () => {
    const slots = slotsBetween(cron('*/10 * * * *'), ny, Date.UTC(2026, 10, 1, 5) - 1, Date.UTC(2026, 10, 1, 7) - 1);
    expect(slots).toHaveLength(12); // 01:00-01:50 EDT, then 01:00-01:50 EST
    expect(slots.every((t, i) => i === 0 || t - slots[i - 1]! === 10 * MIN)).toBe(true);
    expect(slotsBetween(cron('0 * * * *'), ny, Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 1, 7))).toEqual([
      Date.UTC(2026, 10, 1, 5), Date.UTC(2026, 10, 1, 6), Date.UTC(2026, 10, 1, 7),
    ]);
  });
  it('treats a jump of more than three hours as a reset: Samoa skipping 2011-12-30', () => {
    const apia = 'Pacific/Apia';
    const from = Date.UTC(2011, 11, 28);
    const to = Date.UTC(2012, 0, 2);
    for (const line of ['30 12 * * *', '0 */6 * * *']) {
      const slots = slotsBetween(cron(line), apia, from, to, Infinity);
      expect(iso(slots)).toEqual(iso(reference(cron(line), apia, from, to)));
    }
    const localDate = new Intl.DateTimeFormat('en-CA', { timeZone: apia, dateStyle: 'short' });
    expect(slotsBetween(cron('30 12 * * *'), apia, from, to).map((t) => localDate.format(t))).toEqual(['2011-12-28', '2011-12-29', '2011-12-31', '2012-01-01', '2012-01-02']);
  });
  it('skips the gap for wildcard lines', () => {
    expect(iso(slotsBetween(cron('15 */2 * * *'), ny, Date.UTC(2026, 2, 8, 4), Date.UTC(2026, 2, 8, 9)))).toEqual(['2026-03-08T05:15:00.000Z', '2026-03-08T08:15:00.000Z']);
  });
});

describe('days, bounds and termination', () => {
  const days = (line: string, from: number, to: number): number[] => slotsBetween(cron(line), 'UTC', from - 1, to).map((t) => new Date(t).getUTCDate());
  it('ORs two restricted day fields: 1st, 15th and Fridays', () => {
    expect(days('30 4 1,15 * 5', Date.UTC(2026, 4, 1), Date.UTC(2026, 5, 1))).toEqual([1, 8, 15, 22, 29]);
    expect(days('30 4 1,15 * 5', Date.UTC(2026, 5, 1), Date.UTC(2026, 6, 1))).toEqual([1, 5, 12, 15, 19, 26]);
  });
  it('ANDs when a day field starts with * (*/2 too)', () => {
    expect(days('0 0 */2 * 5', Date.UTC(2026, 4, 1), Date.UTC(2026, 6, 1))).toEqual([1, 15, 29, 5, 19]);
    expect(days('0 0 1-7 * */7', Date.UTC(2026, 4, 1), Date.UTC(2026, 5, 1))).toEqual([3]); // first Sunday
  });
  it('takes 7 as Sunday', () => {
    const sundays = slotsBetween(cron('0 12 * * 7'), 'UTC', Date.UTC(2026, 0, 1), Date.UTC(2026, 1, 1));
    expect(sundays).toEqual(slotsBetween(cron('0 12 * * 0'), 'UTC', Date.UTC(2026, 0, 1), Date.UTC(2026, 1, 1)));
    expect(sundays.map((t) => new Date(t).getUTCDay())).toEqual([0, 0, 0, 0]);
  });
  it('returns nothing for an unsatisfiable line, fast', () => {
    const started = performance.now();
    const feb31 = cron('0 0 31 2 *');
    expect(slotsBetween(feb31, 'UTC', 0, Date.UTC(2100, 0, 1))).toEqual([]);
    expect(nextSlot(feb31, 'UTC', 0)).toBeUndefined();
    expect(previousSlot(feb31, 'UTC', Date.UTC(2026, 0, 1))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(200);
  });
  it('treats @reboot as never scheduled', () => {
    expect(slotsBetween({ kind: 'reboot' }, 'UTC', 0, DAY)).toEqual([]);
    expect(nextSlot({ kind: 'reboot' }, 'UTC', 0)).toBeUndefined();
    expect(previousSlot({ kind: 'reboot' }, 'UTC', DAY)).toBeUndefined();
  });
  it('keeps bounds: after from, at or before to, at most limit', () => {
    const hourly = cron('0 * * * *');
    expect(slotsBetween(hourly, 'UTC', HOUR, 3 * HOUR)).toEqual([2 * HOUR, 3 * HOUR]);
    expect(slotsBetween(hourly, 'UTC', 0, DAY, 5)).toHaveLength(5);
    expect(slotsBetween(hourly, 'UTC', 0, DAY)).toHaveLength(24);
    expect(nextSlot(hourly, 'UTC', HOUR)).toBe(2 * HOUR);
    expect(previousSlot(hourly, 'UTC', HOUR)).toBe(HOUR);
    expect(previousSlot(hourly, 'UTC', HOUR - 1)).toBe(0);
  });
  it('finds rare days far ahead and gives up on previous slots older than 366 days', () => {
    expect(nextSlot(cron('0 0 29 2 */7'), 'UTC', Date.UTC(2026, 0, 1))).toBe(Date.UTC(2032, 1, 29)); // a Sunday February 29
    expect(previousSlot(cron('0 0 29 2 *'), 'UTC', Date.UTC(2028, 3, 1))).toBe(Date.UTC(2028, 1, 29));
    expect(previousSlot(cron('0 0 29 2 *'), 'UTC', Date.UTC(2027, 3, 1))).toBeUndefined();
    expect(previousSlot(cron('* * * 1 *'), 'Europe/London', Date.UTC(2026, 11, 31))).toBe(Date.UTC(2026, 0, 31, 23, 59));
  });
  it('uses the process zone when tz is undefined', () => {
    const zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    const line = cron('30 2 * * *');
    expect(slotsBetween(line, undefined, Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1))).toEqual(slotsBetween(line, zone, Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1)));
  });
});

// ---- Property: random lines, random and DST days, three zones. ----

const pick = <T>(values: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...values);
/** A field's text: '*', a step, a value, a range (maybe stepped) or a short list. */
function fieldText(min: number, max: number, star = 3): fc.Arbitrary<string> {
  const value = fc.integer({ min, max });
  const range = fc.tuple(value, value).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
  return fc.oneof(
    { weight: star, arbitrary: fc.constant('*') },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: max - min + 1 }).map((n) => `*/${n}`) },
    { weight: 2, arbitrary: value.map(String) },
    { weight: 1, arbitrary: range },
    { weight: 1, arbitrary: fc.tuple(range, fc.integer({ min: 1, max: 9 })).map(([r, n]) => `${r}/${n}`) },
    { weight: 2, arbitrary: fc.uniqueArray(value, { minLength: 2, maxLength: 4 }).map((v) => v.join(',')) },
  );
}
const cronLine: fc.Arbitrary<string> = fc
  .tuple(fieldText(0, 59), fieldText(0, 23), fieldText(1, 31, 8), fieldText(1, 12, 12), fieldText(0, 7, 6))
  .map((f) => f.join(' '));

describe('slotsBetween property', () => {
  it('matches the brute-force reference over random lines, days and zones', () => {
    const zones = ['UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe'] as const;
    const allDst = Object.values(dstDays).flat();
    const day = fc.oneof(pick(allDst), fc.integer({ min: 0, max: 364 }).map((d) => Date.UTC(2026, 0, 1) + d * DAY));
    let nonEmpty = 0;
    fc.assert(
      fc.property(cronLine, pick(zones), day, fc.integer({ min: -12, max: 12 }), (line, zone, start, shift) => {
        const s = cron(line);
        const from = start + shift * HOUR;
        const to = from + 2 * DAY;
        const got = slotsBetween(s, zone, from, to, Infinity);
        expect(iso(got)).toEqual(iso(reference(s, zone, from, to)));
        if (got.length > 0) {
          nonEmpty++;
          expect(nextSlot(s, zone, from)).toBe(got[0]);
          expect(previousSlot(s, zone, to)).toBe(got[got.length - 1]);
        }
      }),
      { numRuns: 120 },
    );
    expect(nonEmpty).toBeGreaterThan(30);
  });
});
