import { formatDuration } from './duration.js';
import type { Pm2AppSpec, Pm2Unit, UnitId } from './types.js';

/** How a unit's twin differs from its primary, and why. */
export interface TwinPlan {
  unitId: UnitId;
  /** Name of the primary app. */
  primary: string;
  twin: Pm2AppSpec;
  /** Short phrases: what was changed from the primary and why. */
  notes: string[];
}

/** PM2's own max_restarts when an app sets none. */
export const pm2DefaultMaxRestarts = 16;
/** Base of the twin's exponential restart backoff when the primary sets none. */
export const twinBackoffBaseMs = 100;

export function twinName(primary: string): string {
  return `${primary}-backup`;
}

/**
 * The twin of a PM2 unit: the same work under a stronger restart policy, safe to keep registered
 * but stopped. Pure: no PM2 naming here beyond the notes users read.
 */
export function planTwin(unit: Pm2Unit): TwinPlan {
  const primary = unit.app;
  const notes: string[] = [];
  const base = primary.maxRestarts ?? pm2DefaultMaxRestarts;
  // At least one restart: a twin that never restarts would be weaker than its primary.
  const maxRestarts = Math.max(1, Math.round(base * 1.5));
  notes.push(`max_restarts ${base} -> ${maxRestarts} (1.5x the primary's${primary.maxRestarts === undefined ? ', PM2 default' : ''})`);
  const backoff = primary.expBackoffRestartDelayMs ?? twinBackoffBaseMs;
  if (primary.expBackoffRestartDelayMs === undefined) {
    notes.push(`exp_backoff_restart_delay ${formatDuration(backoff)} added (backs off x1.5 up to 15s)`);
  }
  if (primary.restartDelayMs !== undefined) {
    notes.push(`restart_delay ${formatDuration(primary.restartDelayMs)} dropped: PM2 ignores the exponential backoff when it is set`);
  }
  if (primary.cronRestart !== undefined) {
    notes.push(`cron_restart "${primary.cronRestart}" dropped: PM2 would start the stopped twin on that schedule`);
  }
  if (primary.options.watch !== undefined && primary.options.watch !== false) {
    notes.push('watch turned off: file changes must not start the stopped twin');
  }
  if (primary.autorestart === false) notes.push('autorestart turned on: the twin is the last line and must come back');
  notes.push(`env REDUNDANCY_ROLE=backup, REDUNDANCY_PRIMARY=${primary.name}`);

  const twin: Pm2AppSpec = {
    name: twinName(primary.name),
    script: primary.script,
    args: [...primary.args],
    env: { ...primary.env, REDUNDANCY_ROLE: 'backup', REDUNDANCY_PRIMARY: primary.name },
    options: { ...primary.options, watch: false },
    maxRestarts,
    expBackoffRestartDelayMs: backoff,
    autorestart: true,
  };
  if (primary.cwd !== undefined) twin.cwd = primary.cwd;
  if (primary.interpreter !== undefined) twin.interpreter = primary.interpreter;
  if (primary.minUptimeMs !== undefined) twin.minUptimeMs = primary.minUptimeMs;
  return { unitId: unit.id, primary: primary.name, twin, notes };
}

export function planTwins(units: readonly Pm2Unit[]): TwinPlan[] {
  return units.map(planTwin);
}
