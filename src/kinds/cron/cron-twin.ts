import { formatDuration } from '../../core/duration.js';
import { errorMessage } from '../../core/errors.js';
import type { CronSchedule } from '../../core/schedule/cron-fields.js';
import { throttleSchedule, type ThrottledSchedule } from '../../core/schedule/throttle.js';
import type { ScheduledUnitSpec, ZonedSchedule } from '../../schedule/schedule-unit.js';
import type { UnitPolicy } from '../../core/failover.js';
import type { CronUnit } from './cron-inventory.js';

/** A cron unit's twin, as `twins` shows it and the manager runs it. */
export interface CronTwinPlan {
  unitId: string;
  kind: 'cron';
  /** The primary line's schedule and command. */
  primary: string;
  twin: { name: string; schedule: string; timeoutMs: number; command: string; shell: string };
  notes: string[];
  zoned: ZonedSchedule;
}

/** Pure: the same command, env lines and shell, on a schedule thinned to at least `throttleMs` between firings. */
export function planCronTwin(unit: CronUnit, throttleMs: number): CronTwinPlan {
  const { entry } = unit;
  const throttled = throttleOrKeep(entry.parsed, entry.schedule, throttleMs, entry.tz);
  const notes = [throttled.note, `timeout ${formatDuration(throttleMs)} (the throttle interval); no overlap: a firing while a run is under way is skipped`];
  if (entry.parsed.kind === 'reboot') notes.push('@reboot: the twin runs once at failover');
  if (entry.tz) notes.push(`CRON_TZ=${entry.tz}`);
  const zoned: ZonedSchedule = { parsed: throttled.schedule, expr: throttled.expr, ...(entry.tz && { tz: entry.tz }) };
  return {
    unitId: unit.id,
    kind: 'cron',
    primary: `${entry.schedule} ${entry.command}`,
    twin: { name: `${unit.name}-backup`, schedule: throttled.expr, timeoutMs: throttleMs, command: entry.command, shell: entry.shell },
    notes,
    zoned,
  };
}

/** A line no thinner schedule can serve keeps its own: a twin at the primary's pace beats none. */
function throttleOrKeep(parsed: CronSchedule, expr: string, throttleMs: number, tz: string | undefined): ThrottledSchedule {
  try {
    return throttleSchedule(parsed, throttleMs, tz);
  } catch (error) {
    return { schedule: parsed, expr, changed: false, note: `not throttled (${errorMessage(error)})` };
  }
}

/** What the manager needs to watch the line and run its twin. */
export function cronUnitSpec(unit: CronUnit, plan: CronTwinPlan, policy: UnitPolicy, trialRun: boolean): ScheduledUnitSpec {
  const { entry } = unit;
  return {
    unit,
    policy,
    primary: { parsed: entry.parsed, expr: entry.schedule, ...(entry.tz && { tz: entry.tz }) },
    twin: { name: plan.twin.name, schedule: plan.zoned, timeoutMs: plan.twin.timeoutMs },
    job: { command: [entry.shell, '-c', entry.commandForShell], cwd: unit.cwd, env: entry.env, ...(entry.stdin !== undefined && { input: entry.stdin }) },
    trialRun,
  };
}
