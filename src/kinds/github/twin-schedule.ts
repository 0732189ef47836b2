/**
 * The twin's `schedule` entries: each a subset of one primary cron's firings (throttleSchedule), moved off
 * the top of the hour when another of the primary's minutes allows it, because GitHub delays and drops
 * scheduled runs most at :00.
 */
import { formatDuration } from '../../core/duration.js';
import { errorMessage } from '../../core/errors.js';
import { formatCronFields, type CronFields, type CronSchedule } from '../../core/schedule/cron-fields.js';
import { isFixedTime, zoneOffsetMs, zoneTransitions } from '../../core/schedule/slots.js';
import { throttleSchedule } from '../../core/schedule/throttle.js';
import { checkGithubCron, usesSeven } from './github-cron.js';
import { isTimeZone, type WorkflowSchedule } from './workflow-file.js';

export interface TwinCron {
  /** the primary's cron as written */
  primary: string;
  cron: string;
  timezone?: string;
}

export interface TwinSchedule {
  /** distinct entries for the twin's `on.schedule` */
  crons: TwinCron[];
  /** primary cron (whitespace-normalised) -> the twin cron that stands in for it */
  rewrite: Map<string, string>;
  notes: string[];
  warnings: string[];
}

const HOUR = 3_600_000;
const normalise = (cron: string): string => cron.trim().split(/\s+/).join(' ');

/**
 * `perEntry`: the jobs tell crons apart (`github.event.schedule`), so every primary cron keeps a twin cron;
 * otherwise one cron serves, which keeps every gap at least `throttleMs`.
 */
export function planTwinSchedule(schedules: WorkflowSchedule[], throttleMs: number, seed: string, perEntry: boolean): TwinSchedule {
  const notes: string[] = [];
  const warnings: string[] = [];
  const planned: Planned[] = [];
  schedules.forEach((entry, index) => {
    const result = twinCron(entry, throttleMs, `${seed}#${index}`);
    if ('skip' in result) notes.push(result.skip);
    else planned.push(result);
  });
  // one to serve: throttled, then off the top of the hour, then without a zone; the first of equals
  const score = (p: Planned): number => (p.warning ? 0 : 4) + (p.offPeak ? 2 : 0) + (p.timezone === undefined ? 1 : 0);
  const best = planned.reduce<Planned | undefined>((a, p) => (a === undefined || score(p) > score(a) ? p : a), undefined);
  const chosen = perEntry || best === undefined ? planned : [best];
  const rewrite = new Map<string, string>();
  for (const p of planned) rewrite.set(normalise(p.primary), (chosen.includes(p) ? p : chosen[0]!).cron);
  const crons: TwinCron[] = [];
  for (const { primary, cron, timezone, note, warning } of chosen) {
    notes.push(note);
    if (warning) warnings.push(warning);
    if (crons.some((c) => c.cron === cron && c.timezone === timezone)) notes.push(`cron '${primary}' shares the twin cron '${cron}' with an earlier entry`);
    else crons.push({ primary, cron, ...(timezone !== undefined && { timezone }) });
  }
  if (chosen.length < planned.length) notes.push(`the jobs do not read github.event.schedule, so one cron of ${planned.length} serves the twin`);
  if (crons.length > 1) notes.push(`${crons.length} twin crons, each thinned on its own (the jobs tell them apart): firings of different crons may fall closer than ${formatDuration(throttleMs)}`);
  return { crons, rewrite, notes, warnings };
}

type Planned = TwinCron & { offPeak: boolean; note: string; warning?: string };

function twinCron(entry: WorkflowSchedule, throttleMs: number, seed: string): Planned | { skip: string } {
  const check = checkGithubCron(entry.cron);
  const where = `cron '${entry.cron}' (line ${entry.line})`;
  if (!check.ok) return { skip: `${where} is not valid on GitHub (${check.message}): the primary never fires on it, the twin leaves it out` };
  if (entry.timezone !== undefined && !isTimeZone(entry.timezone)) return { skip: `${where} has an unknown timezone '${entry.timezone}': the twin leaves it out` };
  const primary = check.schedule;
  // A line that fires every hour of every day fires at the same instants in UTC when the zone is whole hours off it.
  const utc = entry.timezone === undefined || zoneFree(primary.fields, entry.timezone);
  const tz = utc ? 'UTC' : entry.timezone!;
  const timezone = utc ? undefined : entry.timezone;
  const zone = entry.timezone === undefined ? '' : utc ? ` (${entry.timezone}, the same instants in UTC)` : ` (${entry.timezone})`;
  const variant = offPeakFields(primary.fields, throttleMs, seed, tz);
  let failure = '';
  for (const fields of variant ? [variant, primary.fields] : [primary.fields]) {
    const candidate: CronSchedule = fields === primary.fields ? primary : { kind: 'cron', expr: formatCronFields(fields), fields };
    try {
      const throttled = throttleSchedule(candidate, throttleMs, tz);
      if (throttled.schedule.kind !== 'cron') continue;
      const cron = throttled.changed || fields !== primary.fields ? throttled.expr : githubText(primary.expr, primary.fields);
      const offPeak = throttled.schedule.fields.minutes.every((m) => m !== 0);
      const how = cron === normalise(entry.cron) ? `kept: already at least ${formatDuration(throttleMs)} apart` : `at least ${formatDuration(throttleMs)} apart${offPeak ? ', off the top of the hour' : ''}`;
      return { primary: entry.cron, cron, ...(timezone !== undefined && { timezone }), offPeak, note: `${where}${zone} -> '${cron}' (${how})` };
    } catch (error) {
      failure = errorMessage(error);
    }
  }
  const cron = githubText(primary.expr, primary.fields);
  const warning = `${where}: not throttled (${failure}); the twin fires on the primary's own schedule`;
  return { primary: entry.cron, cron, ...(timezone !== undefined && { timezone }), offPeak: false, note: warning, warning };
}

const HORIZON: [number, number] = [Date.UTC(2020, 0, 1), Date.UTC(2048, 0, 1)];

function zoneFree(f: CronFields, tz: string): boolean {
  const everyDay = f.months.length === 12 && f.daysOfMonth.length === 31 && f.daysOfWeek.length === 7;
  // a fixed-time line runs a repeated hour once, so only wildcard lines match UTC across clock changes
  if (!everyDay || f.hours.length !== 24 || isFixedTime(f)) return false;
  const offsets = [zoneOffsetMs(tz, HORIZON[0]), ...zoneTransitions(tz, ...HORIZON).map((t) => t.offsetAfterMs)];
  return offsets.every((o) => o % HOUR === 0);
}

/** The cron as written, or re-formatted when its day of week uses 7 for Sunday (GitHub documents 0-6). */
function githubText(expr: string, fields: CronFields): string {
  return usesSeven(expr.split(' ')[4] ?? '') ? formatCronFields(fields) : expr;
}

/**
 * The primary's line restricted to minutes off the top of the hour: one minute (preferring one off the
 * quarter hours, picked by `seed` so twins spread out) when the twin fires at most hourly, else all but :00.
 * Undefined when no such minute exists, or when it would change how the zone's clock changes treat the line.
 */
export function offPeakFields(fields: CronFields, throttleMs: number, seed: string, tz: string): CronFields | undefined {
  const minutes = fields.minutes;
  let chosen: number[];
  if (throttleMs >= HOUR) {
    const pool = [minutes.filter((m) => m % 15 !== 0), minutes.filter((m) => m !== 0 && m !== 30), minutes.filter((m) => m !== 0)].find((p) => p.length > 0);
    if (pool === undefined) return undefined;
    chosen = [pool[hash(seed) % pool.length]!];
  } else {
    chosen = minutes.filter((m) => m !== 0);
    if (chosen.length === 0) return undefined;
  }
  if (chosen.length === minutes.length) return undefined;
  const variant: CronFields = { ...fields, minutes: chosen, minuteStar: false };
  if (isFixedTime(variant) !== isFixedTime(fields) && zoneTransitions(tz, ...HORIZON).length > 0) return undefined;
  return variant;
}

/** FNV-1a: a stable spread of minutes across a repository's twins. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
