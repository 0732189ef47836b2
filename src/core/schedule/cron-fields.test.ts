import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CronFields, formatCronFields, isUnsatisfiable, parseCronExpression } from './cron-fields.js';

function fields(text: string): CronFields {
  const parsed = parseCronExpression(text);
  if (!parsed.ok) throw new Error(`${text}: column ${parsed.column}: expected ${parsed.expected}`);
  if (parsed.schedule.kind !== 'cron') throw new Error(`${text}: not a cron schedule`);
  return parsed.schedule.fields;
}

function failure(text: string): { column: number; expected: string } {
  const parsed = parseCronExpression(text);
  if (parsed.ok) throw new Error(`${text}: parsed`);
  return { column: parsed.column, expected: parsed.expected };
}

const range = (a: number, b: number, step = 1): number[] => {
  const out: number[] = [];
  for (let v = a; v <= b; v += step) out.push(v);
  return out;
};

describe('parseCronExpression forms', () => {
  it('reads "*" as the whole field and sets the star flags', () => {
    expect(fields('* * * * *')).toEqual({
      minutes: range(0, 59),
      hours: range(0, 23),
      daysOfMonth: range(1, 31),
      months: range(1, 12),
      daysOfWeek: range(0, 6),
      domStar: true,
      dowStar: true,
      minuteStar: true,
      hourStar: true,
    });
  });

  it('reads values, ranges, lists and steps', () => {
    const f = fields('5 9-17 1,15,20-22 */3 1-5/2');
    expect(f.minutes).toEqual([5]);
    expect(f.hours).toEqual(range(9, 17));
    expect(f.daysOfMonth).toEqual([1, 15, 20, 21, 22]);
    expect(f.months).toEqual([1, 4, 7, 10]);
    expect(f.daysOfWeek).toEqual([1, 3, 5]);
    expect([f.minuteStar, f.hourStar, f.domStar, f.dowStar]).toEqual([false, false, false, false]);
  });

  it('steps within the field, as crontab(5) NOTES say', () => {
    expect(fields('*/35 */23 * * *').minutes).toEqual([0, 35]);
    expect(fields('*/35 */23 * * *').hours).toEqual([0, 23]);
    expect(fields('*/45 * */10 * *').daysOfMonth).toEqual([1, 11, 21, 31]);
    expect(fields('0-30/10,45 * * * *').minutes).toEqual([0, 10, 20, 30, 45]);
  });

  it('sorts and de-duplicates lists', () => {
    expect(fields('30,5,5,10-12,11 * * * *').minutes).toEqual([5, 10, 11, 12, 30]);
  });

  it('counts a field starting with "*" as unrestricted, "*/2" included', () => {
    const f = fields('*/10 */2 */2 * 1-5');
    expect([f.minuteStar, f.hourStar, f.domStar, f.dowStar]).toEqual([true, true, true, false]);
    expect(fields('0 0 1-31 * 0-7').domStar).toBe(false);
  });

  it('takes month and weekday names, any case, in ranges and lists', () => {
    expect(fields('0 0 * JAN-mar,Dec *').months).toEqual([1, 2, 3, 12]);
    expect(fields('0 0 * * mon-fri').daysOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(fields('0 0 * * Mon,WED,fri').daysOfWeek).toEqual([1, 3, 5]);
    expect(fields('0 0 * jan-dec/3 *').months).toEqual([1, 4, 7, 10]);
  });

  it('maps 7 to Sunday, and a range ending in Sunday wraps like cronie', () => {
    expect(fields('0 0 * * 7').daysOfWeek).toEqual([0]);
    expect(fields('0 0 * * 0,7').daysOfWeek).toEqual([0]);
    expect(fields('0 0 * * 5-7').daysOfWeek).toEqual([0, 5, 6]);
    expect(fields('0 0 * * fri-sun').daysOfWeek).toEqual([0, 5, 6]);
    expect(fields('0 0 * * */2').daysOfWeek).toEqual([0, 2, 4, 6]);
    expect(fields('0 0 * * */7').daysOfWeek).toEqual([0]);
  });

  it('normalises whitespace in expr', () => {
    const parsed = parseCronExpression('  */5 \t *  * * 1-5 ');
    expect(parsed.ok && parsed.schedule).toMatchObject({ kind: 'cron', expr: '*/5 * * * 1-5' });
  });
});

describe('parseCronExpression nicknames', () => {
  it('expands nicknames with cronie flags', () => {
    const expand = (nick: string) => {
      const parsed = parseCronExpression(nick);
      return parsed.ok && parsed.schedule.kind === 'cron' ? parsed.schedule : undefined;
    };
    expect(expand('@yearly')).toMatchObject({ expr: '0 0 1 1 *', fields: { dowStar: true, domStar: false } });
    expect(expand('@annually')?.expr).toBe('0 0 1 1 *');
    expect(expand('@monthly')).toMatchObject({ expr: '0 0 1 * *', fields: { dowStar: true, domStar: false } });
    expect(expand('@weekly')).toMatchObject({ expr: '0 0 * * 0', fields: { domStar: true, dowStar: false } });
    expect(expand('@daily')?.expr).toBe('0 0 * * *');
    expect(expand('@midnight')?.expr).toBe('0 0 * * *');
    expect(expand('@hourly')).toMatchObject({ expr: '0 * * * *', fields: { hourStar: true, minuteStar: false } });
  });

  it('reads @reboot as its own kind', () => {
    expect(parseCronExpression(' @reboot ')).toEqual({ ok: true, schedule: { kind: 'reboot' } });
  });

  it('refuses unknown or mis-cased nicknames (cronie uses strcmp) and trailing text', () => {
    expect(failure('@fortnightly')).toEqual({ column: 1, expected: expect.stringContaining('@reboot, @yearly') });
    expect(failure('@Daily').column).toBe(1);
    expect(failure('@daily 5')).toEqual({ column: 8, expected: 'nothing after @daily' });
  });
});

describe('parseCronExpression errors', () => {
  it('names the field and the column of the bad token', () => {
    expect(failure('60 * * * *')).toEqual({ column: 1, expected: 'a minute 0-59, "*", a range, a list or a step' });
    expect(failure('0 24 * * *')).toEqual({ column: 3, expected: 'an hour 0-23, "*", a range, a list or a step' });
    expect(failure('0 0 0 * *')).toEqual({ column: 5, expected: 'a day of month 1-31, "*", a range, a list or a step' });
    expect(failure('0 0 * 13 *')).toEqual({ column: 7, expected: 'a month 1-12 or jan-dec, "*", a range, a list or a step' });
    expect(failure('0 0 * * 8')).toEqual({ column: 9, expected: 'a day of week 0-7 or sun-sat, "*", a range, a list or a step' });
  });

  it('points at the bad list element or range end', () => {
    expect(failure('0,15,61 * * * *').column).toBe(6);
    expect(failure('0   1-25 * * *').column).toBe(7);
    expect(failure('0 0 * * monday').column).toBe(9);
    expect(failure('0 0 * * 1,,2').column).toBe(11);
    expect(failure('0 0 * jan-foo *').column).toBe(11);
  });

  it('refuses reversed ranges, zero or missing steps and steps after a single value', () => {
    expect(failure('30-10 * * * *')).toEqual({ column: 1, expected: 'a minute range low-high with low <= high' });
    expect(failure('*/0 * * * *')).toEqual({ column: 3, expected: 'a step of 1 or more after "/"' });
    expect(failure('1-5/x * * * *').column).toBe(5);
    expect(failure('5/15 * * * *')).toEqual({ column: 1, expected: expect.stringContaining('write 5-59/15') });
    expect(failure('1~5 * * * *').expected).toContain('random');
  });

  it('reports missing and extra fields', () => {
    expect(failure('')).toEqual({ column: 1, expected: 'five cron fields or an @nickname' });
    expect(failure('* * * *')).toEqual({ column: 8, expected: expect.stringMatching(/^a day of week/) });
    expect(failure('* * * * * *')).toEqual({ column: 11, expected: 'the end of the expression after five fields' });
  });
});

describe('formatCronFields', () => {
  it.each([
    ['* * * * *', '* * * * *'],
    ['*/15 */6 */2 */3 */2', '*/15 */6 */2 */3 */2'],
    ['0-59 0-23 1-31 1-12 0-7', '0-59 0-23 1-31 * 0-6'],
    ['0 9-17 1,15 * mon-fri', '0 9-17 1,15 * 1-5'],
    ['0,1,2,10,11 0 * jan,jul *', '0-2,10,11 0 * */6 *'],
    ['0 0 * 1,2,3,7 sun,7', '0 0 * 1-3,7 0'],
    ['0 0 */10,5 * *', '0 0 */10,5 * *'],
    ['0 0 1-7 * */7', '0 0 1-7 * */7'],
    ['0-30/10 * * * *', '0,10,20,30 * * * *'],
  ])('%s -> %s', (input, output) => {
    expect(formatCronFields(fields(input))).toBe(output);
  });

  it('round-trips generated expressions, star flags included', () => {
    const value = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map(String);
    const element = (lo: number, hi: number) =>
      fc.oneof(
        value(lo, hi),
        fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: 0, max: hi - lo })).map(([a, d]) => `${a}-${Math.min(hi, a + d)}`),
        fc.integer({ min: 1, max: hi - lo + 1 }).map((n) => `*/${n}`),
        fc.constant('*'),
      );
    const field = (lo: number, hi: number) => fc.array(element(lo, hi), { minLength: 1, maxLength: 3 }).map((parts) => parts.join(','));
    const expr = fc.tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 7)).map((parts) => parts.join(' '));
    fc.assert(
      fc.property(expr, (text) => {
        const original = fields(text);
        expect(fields(formatCronFields(original))).toEqual(original);
      }),
    );
  });
});

describe('isUnsatisfiable', () => {
  it.each([
    ['0 0 31 2 *', true],
    ['0 0 30 2 *', true],
    ['0 0 30,31 2 */2', true],
    ['0 0 31 4,6,9,11 *', true],
    ['0 0 29 2 *', false],
    ['0 0 31 2,3 *', false],
    ['0 0 31 2 1', false],
    ['0 0 * * *', false],
    ['@weekly', false],
  ])('%s -> %s', (text, expected) => {
    expect(isUnsatisfiable(fields(text))).toBe(expected);
  });

  it('is true for hand-built empty sets', () => {
    const base = fields('0 0 * * *');
    expect(isUnsatisfiable({ ...base, minutes: [] })).toBe(true);
    expect(isUnsatisfiable({ ...base, daysOfWeek: [] })).toBe(true);
    expect(isUnsatisfiable({ ...base, domStar: false, dowStar: false, daysOfMonth: [31], months: [2], daysOfWeek: [] })).toBe(true);
  });
});
