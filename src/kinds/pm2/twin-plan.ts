import type { TwinMode } from '../../core/config-types.js';
import { formatDuration } from '../../core/duration.js';
import type { Pm2AppSpec, Pm2Unit, UnitId } from '../../core/types.js';

/** How a unit's twin differs from its primary, and why. */
export interface TwinPlan {
  unitId: UnitId;
  /** Name of the primary app. */
  primary: string;
  twin: Pm2AppSpec;
  /** Short phrases: what was changed from the primary and why. */
  notes: string[];
  mode: TwinMode;
  /** Why a unit that asked for a warm twin got a cold one. */
  coldReason?: string;
}

/** Where a warm twin's launcher lives and where it reports whether it is parked. */
export interface WarmLaunch {
  launcher: string;
  /** The launcher writes `{ pid, state: parked | active | failed, reason? }` here. */
  statusFile(twin: string): string;
}

/** Names of the launcher's own variables: read and removed before the app loads. */
export const warmEnv = { script: 'REDUNDANCY_WARM_SCRIPT', status: 'REDUNDANCY_WARM_STATUS', pmx: 'REDUNDANCY_WARM_PMX' } as const;

/** PM2's own max_restarts when an app sets none. */
export const pm2DefaultMaxRestarts = 16;
/** Base of the twin's exponential restart backoff when the primary sets none. */
export const twinBackoffBaseMs = 100;

/**
 * The restart delay of a primary the manager starts, when the app sets no delay of its own. A
 * crashed primary then waits that long before PM2 boots it again: stopping it on a failover clears
 * PM2's timer instead of killing a fresh boot, and a crash loop restarts at most once per delay plus
 * boot, so 50 primaries failing at once cannot become a storm that starves PM2's daemon. It costs a
 * primary that restarts on its own this much more downtime per crash.
 */
export const primaryRestartDelayMs = 250;

/** The primary as the manager starts it: its own restart delay or backoff if it has one, else `primaryRestartDelayMs`. */
export function primaryAsStarted(app: Pm2AppSpec): Pm2AppSpec {
  if (app.restartDelayMs !== undefined || app.expBackoffRestartDelayMs !== undefined || app.autorestart === false) return app;
  return { ...app, restartDelayMs: primaryRestartDelayMs };
}

export function twinName(primary: string): string {
  return `${primary}-backup`;
}

/**
 * The twin of a PM2 unit: the same work under a stronger restart policy, safe to keep registered
 * but stopped. Pure: no PM2 naming here beyond the notes users read.
 */
export function planTwin(unit: Pm2Unit, mode: TwinMode = 'cold', warm?: WarmLaunch): TwinPlan {
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
  const watching = primary.options.watch !== undefined && primary.options.watch !== false;
  if (watching) notes.push('watch turned off: file changes must not start the stopped twin');
  if (primary.autorestart === false) notes.push('autorestart turned on: the twin is the last line and must come back');
  notes.push(`env REDUNDANCY_ROLE=backup, REDUNDANCY_PRIMARY=${primary.name}`);

  const twin: Pm2AppSpec = {
    name: twinName(primary.name),
    script: primary.script,
    args: [...primary.args],
    env: { ...primary.env, REDUNDANCY_ROLE: 'backup', REDUNDANCY_PRIMARY: primary.name },
    options: watching ? { ...primary.options, watch: false } : { ...primary.options },
    maxRestarts,
    expBackoffRestartDelayMs: backoff,
    autorestart: true,
  };
  if (primary.cwd !== undefined) twin.cwd = primary.cwd;
  if (primary.interpreter !== undefined) twin.interpreter = primary.interpreter;
  if (primary.minUptimeMs !== undefined) twin.minUptimeMs = primary.minUptimeMs;
  const plan: TwinPlan = { unitId: unit.id, primary: primary.name, twin, notes, mode: 'cold' };
  if (mode === 'cold') return plan;
  const refusal = warm ? warmRefusal(primary) : 'no launcher available';
  if (refusal !== undefined || !warm) return { ...plan, coldReason: refusal };
  // PM2 runs the launcher with the app's args and env; the launcher loads the real script on activation.
  twin.script = warm.launcher;
  // PM2's metrics module costs ~13 MB at boot: the launcher loads it on activation instead, if the primary has it.
  const pmx = primary.options.pmx !== false && primary.options.pmx !== 'false';
  twin.options = { ...twin.options, pmx: false };
  twin.env = { ...twin.env, [warmEnv.script]: primary.script, [warmEnv.status]: warm.statusFile(twin.name), [warmEnv.pmx]: String(pmx) };
  notes.push('warm: runs parked in the standby launcher, loads the app on activation');
  return { ...plan, mode: 'warm' };
}

export function planTwins(units: readonly Pm2Unit[], modeOf: (unit: Pm2Unit) => TwinMode = () => 'cold', warm?: WarmLaunch): TwinPlan[] {
  return units.map((unit) => planTwin(unit, modeOf(unit), warm));
}

const nodeModule = /\.(c|m)?js$/;
// Flags that run code in the launcher before it parks, which a warm twin must not do.
const preloadFlag = /^(-r|--require|--import|--loader|--experimental-loader)(=|$)/;

/** Why the standby launcher cannot stand in for how PM2 would run this app; undefined if it can. */
export function warmRefusal(app: Pm2AppSpec): string | undefined {
  const interpreter = app.interpreter?.split('/').pop();
  if (interpreter !== undefined && interpreter !== 'node' && interpreter !== 'nodejs') return `interpreter ${app.interpreter} is not node`;
  const execMode = String(app.options.exec_mode ?? 'fork');
  const instances = app.options.instances;
  if (execMode.includes('cluster') || (instances !== undefined && instances !== 1 && instances !== '1')) return 'cluster mode';
  if (!nodeModule.test(app.script)) return `script ${app.script} is not a .js, .cjs or .mjs module`;
  for (const key of ['node_args', 'interpreter_args']) {
    const raw = app.options[key];
    const flags = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(/\s+/) : [];
    const preload = flags.find((flag) => preloadFlag.test(flag));
    if (preload) return `${key} ${preload} would load code before the twin parks`;
  }
  return undefined;
}
