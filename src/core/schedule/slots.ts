/**
 * Fire times of a cron line with cronie's semantics, as UTC epoch-ms instants. Pure: no clock.
 *
 * croner finds the matching days on the zone's wall calendar (run on a UTC clock, so it applies no DST rule
 * of its own); a day's wall times are its hours x minutes; each wall time then becomes instants by cronie's
 * rule for clock changes (cron.c, crontab(5)): a fixed-time line (minute and hour not starting with '*')
 * runs its skipped times once at the jump and its repeated times once; a wildcard line follows the wall
 * clock, so it skips the gap and runs in both copies of a repeated hour.
 */
import { Cron } from 'croner';
import { isUnsatisfiable, type CronFields, type CronSchedule } from './cron-fields.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const LOOKBACK_MS = 366 * DAY;

/** A change of a zone's UTC offset; `atMs` is the first whole minute on the new offset. */
export interface ZoneTransition {
  atMs: number;
  offsetBeforeMs: number;
  offsetAfterMs: number;
}

/** The zone cron uses for a line without CRON_TZ: the process's. */
export function resolveZone(tz: string | undefined): string {
  return tz ?? new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function isFixedTime(fields: CronFields): boolean {
  return !fields.minuteStar && !fields.hourStar;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall clock minus UTC at `atMs`, in ms (whole seconds). */
export function zoneOffsetMs(zone: string, atMs: number): number {
  let format = formatters.get(zone);
  if (format === undefined) {
    const numeric = 'numeric' as const;
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: numeric, month: numeric, day: numeric, hour: numeric, minute: numeric, second: numeric,
    });
    formatters.set(zone, format);
  }
  const p = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of format.formatToParts(atMs)) if (part.type in p) p[part.type as keyof typeof p] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(atMs / 1000) * 1000;
}

/** The one transition between two minutes whose offsets differ (bisection on whole minutes). */
function transitionBetween(zone: string, loMs: number, hiMs: number): ZoneTransition {
  const before = zoneOffsetMs(zone, loMs);
  let lo = Math.floor(loMs / MINUTE);
  let hi = Math.ceil(hiMs / MINUTE);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoneOffsetMs(zone, mid * MINUTE) === before) lo = mid;
    else hi = mid;
  }
  return { atMs: hi * MINUTE, offsetBeforeMs: before, offsetAfterMs: zoneOffsetMs(zone, hi * MINUTE) };
}

const transitionCache = new Map<string, ZoneTransition[]>();

/** Offset changes in [fromMs, toMs), found by weekly probes: a zone does not change and change back within a week. */
export function zoneTransitions(zone: string, fromMs: number, toMs: number): ZoneTransition[] {
  const key = `${zone}|${fromMs}|${toMs}`;
  const cached = transitionCache.get(key);
  if (cached) return cached;
  const found: ZoneTransition[] = [];
  for (let lo = fromMs; lo < toMs; ) {
    const hi = Math.min(lo + 7 * DAY, toMs);
    if (zoneOffsetMs(zone, hi) === zoneOffsetMs(zone, lo)) {
      lo = hi;
      continue;
    }
    const tr = transitionBetween(zone, lo, hi);
    found.push(tr);
    lo = tr.atMs; // another change may follow within the same week
  }
  transitionCache.set(key, found);
  return found;
}

/**
 * Instants at which a line fires for one wall time (ms, wall clock read as UTC), given the transition
 * nearest to it: none or one for a skipped time, one or two for a repeated one. cron.c measures the jump
 * as the minutes between its virtual clock and the wall clock (shift + 1 forward, 1 - shift back): up to 5
 * runs every skipped job at the jump, up to 180 only fixed-time ones; back by up to 180 runs only wildcard
 * jobs until caught up; anything larger is a clock reset: skipped times are lost, repeated ones run again.
 */
export function wallInstants(wallMs: number, fixed: boolean, tr: ZoneTransition): number[] {
  const { atMs, offsetBeforeMs: before, offsetAfterMs: after } = tr;
  if (wallMs < atMs + Math.min(before, after)) return [wallMs - before];
  if (wallMs >= atMs + Math.max(before, after)) return [wallMs - after];
  const jump = (after - before) / MINUTE + 1;
  if (jump > 1) return jump <= 5 || (jump <= 180 && fixed) ? [atMs] : [];
  return fixed && jump >= -180 ? [wallMs - before] : [wallMs - before, wallMs - after];
}

function dayCron(fields: CronFields): Cron {
  const days = [fields.daysOfMonth, fields.months, fields.daysOfWeek].map((v) => v.join(',')).join(' ');
  // cronie ANDs the day fields when either starts with '*', and ORs them otherwise. utcOffset 0 keeps croner
  // on plain UTC arithmetic (no DST rule of its own, whatever the process's zone): it only picks wall days.
  return new Cron(`0 0 ${days}`, { utcOffset: 0, domAndDow: fields.domStar || fields.dowStar, paused: true, mode: '5-part' });
}

/** The first matching wall day (ms, midnight read as UTC) strictly after `afterMs`. */
function nextDay(cron: Cron, afterMs: number): number | undefined {
  return cron.nextRun(new Date(afterMs))?.getTime();
}

/** Wall times of a firing day as ms after midnight, ascending. */
export function timesOfDay(fields: CronFields): number[] {
  return fields.hours.flatMap((h) => fields.minutes.map((m) => (h * 60 + m) * MINUTE));
}

/** The instants of one wall day, ascending; the offset is probed two days either side of it. */
function dayInstants(zone: string, dayMs: number, times: number[], fixed: boolean): number[] {
  const loMs = dayMs - 2 * DAY;
  const hiMs = dayMs + 3 * DAY;
  const before = zoneOffsetMs(zone, loMs);
  if (zoneOffsetMs(zone, hiMs) === before) return times.map((t) => dayMs + t - before);
  const tr = transitionBetween(zone, loMs, hiMs);
  return times.flatMap((t) => wallInstants(dayMs + t, fixed, tr)).sort((a, b) => a - b);
}

/** Firings t with fromMs < t <= toMs, ascending, at most `limit`. */
export function slotsBetween(schedule: CronSchedule, tz: string | undefined, fromMs: number, toMs: number, limit = 10_000): number[] {
  const out: number[] = [];
  if (schedule.kind === 'reboot' || isUnsatisfiable(schedule.fields) || !(toMs > fromMs) || limit < 1) return out;
  const { fields } = schedule;
  const zone = resolveZone(tz);
  const cron = dayCron(fields);
  const times = timesOfDay(fields);
  const fixed = isFixedTime(fields);
  // A wall day's instants lie within a day of its wall clock, so start one wall day early.
  const fromWallDay = Math.floor((fromMs + zoneOffsetMs(zone, fromMs)) / DAY) * DAY;
  let day = nextDay(cron, fromWallDay - DAY - 1);
  let last = fromMs;
  while (day !== undefined) {
    // Days come out in order and a day's instants all precede the next day's, so stop at the first past toMs.
    for (const t of dayInstants(zone, day, times, fixed)) {
      if (t <= last) continue;
      if (t > toMs) return out;
      out.push(t);
      last = t;
      if (out.length >= limit) return out;
    }
    const next = nextDay(cron, day);
    if (next !== undefined && next <= day) throw new Error(`croner went back from ${new Date(day).toISOString()}`);
    day = next;
  }
  return out;
}

/** First firing strictly after afterMs; undefined for @reboot or an unsatisfiable line. */
export function nextSlot(schedule: CronSchedule, tz: string | undefined, afterMs: number): number | undefined {
  return slotsBetween(schedule, tz, afterMs, Number.POSITIVE_INFINITY, 1)[0];
}

/** Last firing at or before atMs; undefined when none within the last 366 days. */
export function previousSlot(schedule: CronSchedule, tz: string | undefined, atMs: number): number | undefined {
  if (schedule.kind === 'reboot' || isUnsatisfiable(schedule.fields)) return undefined;
  const earliest = atMs - LOOKBACK_MS - 1;
  // Windows going back, growing so that dense lines look at little and sparse ones take few steps.
  let span = 3_600_000;
  for (let to = atMs; to > earliest; span = Math.min(span * 4, 31 * DAY)) {
    const from = Math.max(to - span, earliest);
    const found = slotsBetween(schedule, tz, from, to, Number.POSITIVE_INFINITY);
    if (found.length > 0) return found[found.length - 1];
    to = from;
  }
  return undefined;
}
