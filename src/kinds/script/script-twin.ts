import { formatDuration } from '../../core/duration.js';
import type { UnitPolicy } from '../../core/failover.js';
import type { ScheduledUnitSpec } from '../../schedule/schedule-unit.js';
import type { ScriptUnit } from './script-inventory.js';

/** How a script's backup wrapper retries. */
export interface RetryPolicy {
  /** Attempts after the first. @default 3 */
  retries: number;
  /** First wait; doubles each attempt, with up to 50% jitter. @default 1s */
  backoffMs: number;
  timeoutMs: number;
}

export interface ScriptTwinPlan {
  unitId: string;
  kind: 'script';
  primary: string;
  twin: { name: string; schedule: null; file: string; retries: number; backoffMs: number; timeoutMs: number };
  notes: string[];
}

/** Pure: the script's twin is its backup wrapper, run on demand with retries, backoff and a timeout. */
export function planScriptTwin(unit: ScriptUnit, wrappersDir: string, timeoutMs: number): ScriptTwinPlan {
  const retry: RetryPolicy = { retries: 3, backoffMs: 1_000, timeoutMs };
  return {
    unitId: unit.id,
    kind: 'script',
    primary: unit.script,
    twin: { name: `${unit.name}-backup`, schedule: null, file: `${wrappersDir}/${unit.name}-backup.mjs`, ...retry },
    notes: [
      `${retry.retries} retries, backoff ${formatDuration(retry.backoffMs)} doubling with jitter, timeout ${formatDuration(timeoutMs)} an attempt`,
      'on demand: while on its twin, `redundancy run` runs the script through this wrapper',
    ],
  };
}

export function scriptUnitSpec(unit: ScriptUnit, plan: ScriptTwinPlan, policy: UnitPolicy, cwd: string, trialRun: boolean): ScheduledUnitSpec {
  return {
    unit,
    policy,
    twin: { name: plan.twin.name, timeoutMs: plan.twin.timeoutMs },
    job: { command: [process.execPath, unit.script], cwd, env: {} },
    trialRun,
  };
}
