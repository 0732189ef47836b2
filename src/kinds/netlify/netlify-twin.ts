import { formatDuration } from '../../core/duration.js';
import { errorMessage } from '../../core/errors.js';
import { parseCronExpression, type CronSchedule } from '../../core/schedule/cron-fields.js';
import { throttleSchedule } from '../../core/schedule/throttle.js';
import { netlifyTimeoutMs, type NetlifyFunctionInfo, type NetlifyFunctionType } from './netlify-function.js';

/** How the local runner carries a twin: on its throttled schedule, or behind its HTTP listener. */
export type RunnerMode = 'schedule' | 'http';

/** A function's twin, as `twins` shows it, `netlify-backup.json` records it and the manager runs it. */
export interface NetlifyTwinPlan {
  unitId: string;
  kind: 'netlify';
  /** The primary function's name. */
  primary: string;
  twin: {
    name: string;
    entry: string;
    type: NetlifyFunctionType;
    /** Throttled; null for functions served over HTTP. */
    schedule: string | null;
    timeoutMs: number;
    runner: RunnerMode;
    /** Where the local listener serves it (mode `http`). */
    paths: string[];
  };
  notes: string[];
  /** The twin's schedule parsed, for the manager's timer (Netlify schedules are in UTC). */
  parsed?: CronSchedule;
}

/** Netlify refuses these two of cron's nicknames. */
const refused = new Set(['@reboot', '@annually']);

/** Pure: the same handler, run locally; a scheduled one on a schedule thinned to at least `throttleMs`. */
export function planNetlifyTwin(unitId: string, fn: NetlifyFunctionInfo, throttleMs: number): NetlifyTwinPlan {
  const timeoutMs = netlifyTimeoutMs[fn.type];
  const base = { name: `${fn.name}-backup`, entry: fn.entry, type: fn.type, timeoutMs, paths: fn.paths };
  const notes = [`timeout ${formatDuration(timeoutMs)} (Netlify's limit for ${fn.type} functions)`];
  if (fn.type !== 'scheduled' || fn.schedule === undefined) {
    notes.push(fn.type === 'background' ? 'served over HTTP by the local runner; answers 202 and runs after' : 'served over HTTP by the local runner');
    return { unitId, kind: 'netlify', primary: fn.name, twin: { ...base, schedule: null, runner: 'http' }, notes };
  }
  const parsed = parseNetlifySchedule(fn.schedule);
  if (!parsed.ok) throw new Error(`${fn.source.file}:${fn.source.line}: schedule ${JSON.stringify(fn.schedule)}: ${parsed.reason}`);
  let schedule = parsed.schedule;
  let expr = fn.schedule;
  try {
    const throttled = throttleSchedule(parsed.schedule, throttleMs, 'UTC');
    schedule = throttled.schedule;
    expr = throttled.expr;
    notes.push(throttled.note);
  } catch (error) {
    notes.push(`not throttled (${errorMessage(error)})`);
  }
  notes.push('no overlap: a firing while a run is under way is skipped');
  return { unitId, kind: 'netlify', primary: fn.name, twin: { ...base, schedule: expr, runner: 'schedule' }, notes, parsed: schedule };
}

/** A schedule as Netlify accepts it: five cron fields in UTC, or a nickname other than `@reboot` and `@annually`. */
export function parseNetlifySchedule(text: string): { ok: true; schedule: CronSchedule } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (refused.has(trimmed)) return { ok: false, reason: `Netlify does not accept ${trimmed}` };
  const parsed = parseCronExpression(trimmed);
  if (!parsed.ok) return { ok: false, reason: `expected ${parsed.expected} at column ${parsed.column}` };
  return { ok: true, schedule: parsed.schedule };
}

/** `automation/redundancy/netlify-backup.json`: what the local runner runs for each function, for people and tools to read. */
export function renderNetlifyBackup(plans: readonly NetlifyTwinPlan[], opts: { cwdRelative: (file: string) => string; listen: string }): string {
  const functions = plans.map((plan) => ({
    unitId: plan.unitId,
    function: plan.primary,
    twin: plan.twin.name,
    entry: opts.cwdRelative(plan.twin.entry),
    type: plan.twin.type,
    schedule: plan.twin.schedule,
    timeoutMs: plan.twin.timeoutMs,
    runner:
      plan.twin.runner === 'schedule'
        ? { mode: 'schedule', how: 'bundled with esbuild and called in a child process with {"next_run": ...}, as Netlify calls a scheduled function' }
        : { mode: 'http', how: 'bundled with esbuild and served by the manager while the unit is on its twin', urls: plan.twin.paths.map((p) => `http://${opts.listen}${p}`) },
  }));
  return `${JSON.stringify({ generatedBy: 'redundancy twins --write', version: 1, functions }, null, 2)}\n`;
}
