import { describe, expect, it } from 'vitest';
import { checkGithubCron, usesSeven } from './github-cron.js';

describe('checkGithubCron', () => {
  it('accepts five POSIX fields with names, lists, ranges and steps', () => {
    for (const cron of ['30 5 * * 1,3', '*/5 * * * *', '0 9-17/2 * JAN-MAR MON-FRI', '17 4 1,15 * *']) {
      expect(checkGithubCron(cron)).toMatchObject({ ok: true });
      expect(checkGithubCron(cron)).not.toHaveProperty('problem');
    }
  });
  it('rejects nicknames, naming the five fields to write instead', () => {
    expect(checkGithubCron('@daily')).toEqual({ ok: false, column: 1, message: "GitHub does not accept cron nicknames such as @daily: it needs five fields; write '0 0 * * *'" });
    expect(checkGithubCron('@reboot')).toMatchObject({ ok: false, message: 'GitHub does not accept cron nicknames such as @reboot: it needs five fields' });
  });
  it('rejects other field counts at the first extra or missing field', () => {
    expect(checkGithubCron('0 4 * * * 2026')).toMatchObject({ ok: false, column: 11, message: expect.stringContaining('got 6') });
    expect(checkGithubCron('0 4 * *')).toMatchObject({ ok: false, message: expect.stringContaining('got 4') });
    expect(checkGithubCron('  ')).toMatchObject({ ok: false, column: 1 });
  });
  it('rejects values out of range at their column', () => {
    expect(checkGithubCron('0 24 * * *')).toMatchObject({ ok: false, column: 3, message: expect.stringContaining('an hour 0-23') });
    expect(checkGithubCron('5/15 * * * *')).toMatchObject({ ok: false, column: 1 });
  });
  it('says so when a line fires more often than GitHub runs schedules, across midnight too', () => {
    expect(checkGithubCron('*/1 * * * *')).toMatchObject({ ok: true, problem: expect.stringContaining('fires every minute') });
    expect(checkGithubCron('*/2 * * * *')).toMatchObject({ ok: true, problem: expect.stringContaining('2 minutes apart') });
    expect(checkGithubCron('58 23 * * *')).not.toHaveProperty('problem');
    expect(checkGithubCron('58 23 * * *')).toMatchObject({ ok: true });
    expect(checkGithubCron('0,58 0,23 * * *')).toMatchObject({ problem: expect.stringContaining('2 minutes apart') });
    expect(checkGithubCron('0,58 0,23 * * 1')).not.toHaveProperty('problem'); // 23:58 Monday to 00:00 Tuesday: not a firing
  });
  it('reads day of week 7 as Sunday and says GitHub documents 0-6', () => {
    const seven = checkGithubCron('0 4 * * 7');
    expect(seven).toMatchObject({ ok: true, problem: expect.stringContaining('write 0') });
    if (seven.ok) expect(seven.schedule.fields.daysOfWeek).toEqual([0]);
    expect(usesSeven('5-7')).toBe(true);
    expect(usesSeven('*/7')).toBe(false);
    expect(usesSeven('1,17')).toBe(false);
  });
  it('says a line that never fires never fires', () => {
    expect(checkGithubCron('0 0 31 2 *')).toMatchObject({ ok: true, problem: 'never fires: no date matches it' });
  });
});
