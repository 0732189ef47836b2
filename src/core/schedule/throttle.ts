/**
 * A twin schedule for a cron line: a subset of its firings, at least a target interval apart.
 * Minutes are thinned on their circle of 60, then hours on 24, then days of week on 7, greedily; months never.
 * Clock changes move firings in real time (a 23-hour day, a repeated hour that wildcard lines run twice, a
 * skipped hour whose fixed times run at the jump), so each candidate is also checked against every transition
 * of the zone over a 28-year horizon with the same cronie rule slots.ts uses, and thinned further if it fails.
 */
import { formatDuration } from '../duration.js';
import { RedundancyError } from '../errors.js';
import { formatCronFields, isUnsatisfiable, type CronFields, type CronSchedule } from './cron-fields.js';
import { isFixedTime, resolveZone, timesOfDay, wallInstants, zoneTransitions, type ZoneTransition } from './slots.js';

export interface ThrottledSchedule {
  schedule: CronSchedule;
  /** five-field text (or '@reboot') */
  expr: string;
  changed: boolean;
  /** one phrase for users, e.g. '*\/5 * * * * -> *\/30 * * * * (at least 30m apart)' or 'already at least 30m apart; kept' */
  note: string;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Transitions and calendar checked: today's DST rules over 28 years, every weekday/date alignment. */
const HORIZON_FROM = Date.UTC(2020, 0, 1);
const HORIZON_TO = Date.UTC(2048, 0, 1);
/** Firings further than this from a transition cannot bring a gap under any target we thin for. */
const SEARCH_DAYS = 400;
/** Days (since the epoch, on the wall calendar) whose firing is looked at: the horizon and the search around it. */
const SPAN_FROM = HORIZON_FROM / DAY - SEARCH_DAYS;
const SPAN_TO = HORIZON_TO / DAY + SEARCH_DAYS;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface Days {
  /** firing days in the span, ascending */
  list: number[];
  fires(day: number): boolean;
  /** fewest days between two consecutive firing days (Infinity for one or none) */
  gap: number;
}
interface Line {
  /** wall times of a firing day, ms after midnight */
  times: number[];
  fixed: boolean;
  days: Days;
}

/** The firing days in the span, walking the calendar once with counters (cronie's OR/AND day rule). */
function daysOf(f: CronFields): Days {
  const flags = (values: number[], size: number): Uint8Array => values.reduce((a, v) => ((a[v] = 1), a), new Uint8Array(size));
  const [month, dom, dow] = [flags(f.months, 13), flags(f.daysOfMonth, 32), flags(f.daysOfWeek, 7)];
  const and = f.domStar || f.dowStar;
  const bits = new Uint8Array(SPAN_TO - SPAN_FROM);
  const list: number[] = [];
  let gap = Infinity;
  const start = new Date(SPAN_FROM * DAY);
  let [y, m, d, w] = [start.getUTCFullYear(), start.getUTCMonth() + 1, start.getUTCDate(), start.getUTCDay()];
  for (let day = SPAN_FROM; day < SPAN_TO; day++) {
    if (month[m] && (and ? dom[d] && dow[w] : dom[d] || dow[w])) {
      bits[day - SPAN_FROM] = 1;
      if (list.length > 0) gap = Math.min(gap, day - list[list.length - 1]!);
      list.push(day);
    }
    w = (w + 1) % 7;
    const leap = m === 2 && (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? 1 : 0;
    if (++d > MONTH_DAYS[m - 1]! + leap) [d, m] = [1, m + 1];
    if (m > 12) [m, y] = [1, y + 1];
  }
  return { list, gap, fires: (day) => bits[day - SPAN_FROM] === 1 };
}

const daysCache = new Map<string, Days>();
/** Day patterns repeat across a crontab (most lines fire daily): computed once each, a bounded number kept. */
function daysFor(f: CronFields): Days {
  const key = `${f.daysOfMonth.join()} ${f.months.join()} ${f.daysOfWeek.join()} ${f.domStar || f.dowStar}`;
  let days = daysCache.get(key);
  if (days === undefined) {
    if (daysCache.size >= 256) daysCache.clear();
    days = daysOf(f);
    daysCache.set(key, days);
  }
  return days;
}

const lineOf = (fields: CronFields): Line => ({ times: timesOfDay(fields), fixed: isFixedTime(fields), days: daysFor(fields) });

/** Gaps without clock changes: within a day, and from a day's last firing to the next firing day's first. */
function baseGapOk(l: Line, targetMs: number): boolean {
  const { times } = l;
  for (let i = 1; i < times.length; i++) if (times[i]! - times[i - 1]! < targetMs) return false;
  return l.days.gap * DAY - (times[times.length - 1]! - times[0]!) >= targetMs;
}

/** Index of the first firing day after `day` (binary search). */
function firingDayAfter(list: number[], day: number): number {
  let [lo, hi] = [0, list.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! <= day) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lastWallBefore(l: Line, wall: number): number | undefined {
  const day = Math.floor((wall - 1) / DAY);
  if (l.days.fires(day)) for (let i = l.times.length - 1; i >= 0; i--) if (day * DAY + l.times[i]! < wall) return day * DAY + l.times[i]!;
  const before = l.days.list[firingDayAfter(l.days.list, day - 1) - 1];
  return before === undefined || day - before > SEARCH_DAYS ? undefined : before * DAY + l.times[l.times.length - 1]!;
}

function firstWallFrom(l: Line, wall: number): number | undefined {
  const day = Math.floor(wall / DAY);
  if (l.days.fires(day)) for (const t of l.times) if (day * DAY + t >= wall) return day * DAY + t;
  const after = l.days.list[firingDayAfter(l.days.list, day)];
  return after === undefined || after - day > SEARCH_DAYS ? undefined : after * DAY + l.times[0]!;
}

/** Instants of the wall times in [fromWall, toWall], ascending, unique. */
function instants(l: Line, fromWall: number, toWall: number, tr: ZoneTransition): number[] {
  const out = new Set<number>();
  for (let d = Math.floor(fromWall / DAY); d <= Math.floor(toWall / DAY); d++) {
    if (!l.days.fires(d)) continue;
    for (const t of l.times) {
      const wall = d * DAY + t;
      if (wall >= fromWall && wall <= toWall) for (const i of wallInstants(wall, l.fixed, tr)) out.add(i);
    }
  }
  return [...out].sort((a, b) => a - b);
}

const localDay = (t: number, tr: ZoneTransition): number => Math.floor((t + (t < tr.atMs ? tr.offsetBeforeMs : tr.offsetAfterMs)) / DAY);

function firesOnDay(l: Line, day: number, tr: ZoneTransition): boolean {
  for (const d of [day, day - 1]) {
    if (!l.days.fires(d)) continue;
    for (const t of l.times) if (wallInstants(d * DAY + t, l.fixed, tr).some((i) => localDay(i, tr) === day)) return true;
  }
  return false;
}

/** Around one transition: gaps, firings the primary has too, and (if asked) a firing on each day the primary fires. */
function transitionOk(twin: Line, primary: Line, tr: ZoneTransition, targetMs: number, coverage: boolean): boolean {
  const lo = tr.atMs + Math.min(tr.offsetBeforeMs, tr.offsetAfterMs); // skipped or repeated walls: [lo, hi)
  const hi = tr.atMs + Math.max(tr.offsetBeforeMs, tr.offsetAfterMs);
  const around = instants(twin, lastWallBefore(twin, lo) ?? lo, firstWallFrom(twin, hi) ?? hi, tr);
  for (let i = 1; i < around.length; i++) if (around[i]! - around[i - 1]! < targetMs) return false;
  const moved = instants(twin, lo, hi - 1, tr);
  if (moved.length > 0) {
    const own = new Set(instants(primary, lo, hi, tr));
    if (!moved.every((t) => own.has(t))) return false;
  }
  if (!coverage) return true;
  for (let d = Math.floor(lo / DAY); d <= Math.floor(hi / DAY); d++) if (firesOnDay(primary, d, tr) && !firesOnDay(twin, d, tr)) return false;
  return true;
}

function accepts(twin: Line, primary: Line, transitions: ZoneTransition[], targetMs: number, coverage: boolean): boolean {
  return baseGapOk(twin, targetMs) && transitions.every((tr) => transitionOk(twin, primary, tr, targetMs, coverage));
}

/** Greedy on a circle: keep `start`, then each value at least `gap` after the last kept and before `start` again. */
function greedy(values: number[], size: number, gap: number, start: number): number[] {
  const kept = [start];
  let last = 0;
  for (const d of values.map((v) => (v - start + size) % size).sort((a, b) => a - b)) {
    if (d - last >= gap && size - d >= gap) {
      kept.push((start + d) % size);
      last = d;
    }
  }
  return kept.sort((a, b) => a - b);
}

/** Thinned sets, best first: an even `0,n,2n..` set when it keeps as many values as greedy from the first
 * value, then that greedy set, then (with `rotations`) greedy from each other value. */
function* thinned(values: number[], size: number, gap: number, rotations: boolean): Generator<number[]> {
  const first = greedy(values, size, gap, values[0]!);
  for (let n = Math.max(gap, 1); n < size; n++) {
    const even = Array.from({ length: Math.ceil(size / n) }, (_, i) => i * n);
    if (size % n === 0 && even.length >= first.length && even.every((v) => values.includes(v))) {
      yield even;
      break;
    }
  }
  yield first;
  if (rotations) for (const start of values.slice(1)) yield greedy(values, size, gap, start);
}

/** `0,n,2n..` below size: prints as '*' or '*\/n'. */
const isEven = (set: number[], size: number): boolean => set.length > 1 && set.every((v, i) => v === i * set[1]!) && size - set[set.length - 1]! === set[1];

/**
 * The twin's fields for chosen sets, readable first. The day rule must not change: day of month is never
 * thinned, and a day-of-week star stays when it is what makes cronie AND the day fields (then 0 must stay).
 * A minute or hour star needs 0 in its set; the readable variant keeps it only as '*' or '*\/n', which may
 * turn a wildcard line into a fixed-time one (the transition check decides), the other keeps the line wildcard.
 */
function variants(f: CronFields, minutes: number[], hours: number[], daysOfWeek: number[]): CronFields[] {
  if (!f.domStar && f.dowStar && !daysOfWeek.includes(0)) return [];
  const dowStar = f.dowStar && (!f.domStar || daysOfWeek.length === 7);
  const canMinute = f.minuteStar && minutes.includes(0);
  const canHour = f.hourStar && hours.includes(0);
  const readable = { minuteStar: canMinute && isEven(minutes, 60), hourStar: canHour && isEven(hours, 24) };
  const stars = [readable];
  if (!readable.minuteStar && !readable.hourStar && (canMinute || canHour)) stars.push({ minuteStar: canMinute, hourStar: !canMinute });
  return stars.map((star) => ({ ...f, minutes, hours, daysOfWeek, dowStar, ...star }));
}

interface Candidate {
  fields: CronFields;
  /** runs on fewer days of the week than the primary */
  fewerDays: boolean;
}

/** Hour sets at least g hours apart for g = g0..24, each set once: thinner only as far as needed. */
function* hourSets(hours: number[], g0: number): Generator<number[]> {
  const seen = new Set<string>();
  for (let g = g0; g <= 24; g++) {
    for (const set of thinned(hours, 24, g, true)) {
      const key = set.join();
      if (!seen.has(key)) yield set;
      seen.add(key);
    }
  }
}

/** Candidates in order of preference: hours thinned only as far as needed, then one weekday dropped, then spaced weekdays. */
function* candidates(f: CronFields, targetMs: number): Generator<Candidate> {
  const step = Math.ceil(targetMs / MINUTE);
  const minutes = step >= 60 ? [f.minutes[0]!] : thinned(f.minutes, 60, step, false).next().value!;
  const g0 = step <= 60 ? 1 : Math.ceil(targetMs / HOUR);
  const each = function* (daysOfWeek: number[], times: Iterable<[number[], number[]]>, fewerDays: boolean): Generator<Candidate> {
    for (const [m, h] of times) for (const fields of variants(f, m, h, daysOfWeek)) yield { fields, fewerDays };
  };
  const thinnedTimes = function* (): Generator<[number[], number[]]> {
    for (const h of hourSets(f.hours, g0)) yield [minutes, h];
  };
  yield* each(f.daysOfWeek, thinnedTimes(), false);
  if (!f.domStar && !f.dowStar) return; // both day fields restricted: cronie ORs them, so dropping weekdays leaves the dates
  // Clock changes fall on the same weekday in most zones: a day without them may keep the rest daily.
  if (f.daysOfWeek.length > 1) for (const drop of f.daysOfWeek) yield* each(f.daysOfWeek.filter((d) => d !== drop), thinnedTimes(), true);
  const single = f.hours.map((h): [number[], number[]] => [[f.minutes[0]!], [h]]);
  for (let k = Math.max(2, Math.ceil(targetMs / DAY)); k <= 7; k++) {
    for (const daysOfWeek of thinned(f.daysOfWeek, 7, k, true)) yield* each(daysOfWeek, single, true);
  }
}

const kept = (schedule: CronSchedule, expr: string, note: string): ThrottledSchedule => ({ schedule, expr, changed: false, note });

/**
 * A schedule whose firings are the primary's and at least `targetMs` apart in real time, in zone `tz`
 * (undefined: the process's zone, as for slots). Where the primary fires every day it still does, unless the
 * target is within the zone's DST shift of a day. Throws CONFIG_INVALID when no thinning can do it.
 */
export function throttleSchedule(schedule: CronSchedule, targetMs: number, tz?: string): ThrottledSchedule {
  if (schedule.kind === 'reboot') return kept(schedule, '@reboot', '@reboot is not throttled; kept');
  const { fields: f, expr } = schedule;
  const apart = formatDuration(targetMs);
  if (isUnsatisfiable(f)) return kept(schedule, expr, 'never fires; kept');
  const zone = resolveZone(tz);
  const transitions = zoneTransitions(zone, HORIZON_FROM, HORIZON_TO);
  const primary = lineOf(f);
  if (accepts(primary, primary, transitions, targetMs, false)) return kept(schedule, expr, `already at least ${apart} apart; kept`);
  const shift = Math.max(0, ...transitions.map((tr) => Math.abs(tr.offsetAfterMs - tr.offsetBeforeMs)));
  const daily = targetMs <= DAY - shift;
  // First keep a firing on every day the primary fires; failing that, accept losing one on a clock-change day.
  for (const coverage of daily ? [true, false] : [false]) {
    for (const { fields, fewerDays } of candidates(f, targetMs)) {
      if (coverage && fewerDays) break; // the rest all drop weekdays
      const line = lineOf(fields);
      if (!accepts(line, primary, transitions, targetMs, coverage)) continue;
      const twinExpr = formatCronFields(fields);
      const skipsDay = !coverage && !transitions.every((tr) => transitionOk(line, primary, tr, targetMs, true));
      const caveat = fewerDays ? '; on fewer weekdays' : skipsDay ? '; may skip a day when the clock changes' : '';
      return { schedule: { kind: 'cron', expr: twinExpr, fields }, expr: twinExpr, changed: true, note: `${expr} -> ${twinExpr} (at least ${apart} apart${caveat})` };
    }
  }
  throw new RedundancyError('CONFIG_INVALID', `cannot throttle '${expr}' to ${apart} apart in ${zone}: every thinner schedule fires closer or off the line's own times when the clock changes`);
}
