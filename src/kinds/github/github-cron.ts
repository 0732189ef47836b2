/**
 * A `schedule` cron as GitHub Actions reads it: five POSIX fields, no @nicknames, day of week 0-6 (7 read
 * as Sunday, as cron does), and no firing more often than every 5 minutes (docs: events-that-trigger-workflows).
 */
import { isUnsatisfiable, parseCronExpression, type CronFields, type CronSchedule } from '../../core/schedule/cron-fields.js';
import { timesOfDay } from '../../core/schedule/slots.js';

export type GithubCron =
  | { ok: true; schedule: Extract<CronSchedule, { kind: 'cron' }>; /** GitHub takes it, but not as written (too often) or it never fires */ problem?: string }
  | { ok: false; /** 1-based, within the cron text */ column: number; message: string };

const MINUTE = 60_000;
const DAY = 86_400_000;
/** GitHub's shortest interval between scheduled runs. */
export const githubMinIntervalMs = 5 * MINUTE;

export function checkGithubCron(text: string): GithubCron {
  const tokens = [...text.matchAll(/\S+/g)];
  const first = tokens[0];
  if (first === undefined) return { ok: false, column: 1, message: 'an empty cron: GitHub needs five fields (minute hour day-of-month month day-of-week)' };
  const column = (i: number): number => (tokens[i]?.index ?? 0) + 1;
  if (first[0].startsWith('@')) {
    const parsed = tokens.length === 1 ? parseCronExpression(first[0]) : undefined;
    const hint = parsed?.ok && parsed.schedule.kind === 'cron' ? `; write '${parsed.schedule.expr}'` : '';
    return { ok: false, column: column(0), message: `GitHub does not accept cron nicknames such as ${first[0]}: it needs five fields${hint}` };
  }
  if (tokens.length !== 5) {
    return { ok: false, column: column(Math.min(tokens.length, 5)), message: `GitHub cron takes five fields (minute hour day-of-month month day-of-week), got ${tokens.length}` };
  }
  const parsed = parseCronExpression(text);
  if (!parsed.ok) return { ok: false, column: parsed.column, message: `expected ${parsed.expected}` };
  const schedule = parsed.schedule as Extract<CronSchedule, { kind: 'cron' }>;
  const gap = shortestGapMs(schedule.fields);
  if (gap < githubMinIntervalMs) {
    const every = gap === MINUTE ? 'every minute' : `${gap / MINUTE} minutes apart`;
    return { ok: true, schedule, problem: `fires ${every}: GitHub runs a schedule at most once every 5 minutes (write */5 or slower)` };
  }
  if (isUnsatisfiable(schedule.fields)) return { ok: true, schedule, problem: 'never fires: no date matches it' };
  if (usesSeven(tokens[4]![0])) {
    return { ok: true, schedule, problem: 'day of week 7 is read as Sunday, but GitHub documents 0-6 and linters reject 7: write 0' };
  }
  return { ok: true, schedule };
}

/** Shortest gap between firings within a day, and across midnight when the line fires every day. */
function shortestGapMs(fields: CronFields): number {
  const times = timesOfDay(fields);
  let gap = Infinity;
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, times[i]! - times[i - 1]!);
  const everyDay = fields.months.length === 12 && (fields.domStar || fields.dowStar
    ? fields.daysOfMonth.length === 31 && fields.daysOfWeek.length === 7
    : fields.daysOfMonth.length === 31 || fields.daysOfWeek.length === 7);
  if (everyDay && times.length > 0) gap = Math.min(gap, times[0]! + DAY - times[times.length - 1]!);
  return gap;
}

/** A day-of-week field naming 7 (Sunday) as a value or range end, not as a step. */
export const usesSeven = (dow: string): boolean => /(^|[^0-9])7($|[^0-9])/.test(dow.replace(/\/\d+/g, ''));
