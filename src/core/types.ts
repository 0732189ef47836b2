/** `<kind>:<name>`, e.g. `pm2:sync`. */
export type UnitId = string;
export type UnitKind = 'pm2' | 'cron' | 'script' | 'github' | 'netlify';
export const unitKinds: readonly UnitKind[] = ['pm2', 'cron', 'script', 'github', 'netlify'];

/**
 * A PM2 app definition as PM2 accepts it in an ecosystem file, normalised:
 * `args` always a list, `env` always string values. Unknown PM2 options are kept in `options`
 * so that a twin can carry them over.
 */
export interface Pm2AppSpec {
  name: string;
  script: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  interpreter?: string;
  /** Options PM2 understands that the twin planner does not interpret (node_args, exec_mode, instances, max_memory_restart, ...). */
  options: Record<string, unknown>;
  /** @default 16 (PM2's own default) */
  maxRestarts?: number;
  minUptimeMs?: number;
  restartDelayMs?: number;
  expBackoffRestartDelayMs?: number;
  autorestart?: boolean;
  cronRestart?: string;
}

export interface UnitSource {
  /** Path of the file the unit was read from, or `pm2` for the live daemon. */
  file: string;
  /** 1-based line of the app's entry where known. */
  line?: number;
}

/** What every kind's unit carries; the supervisor, reports and CLI need no more. */
export interface UnitBase {
  id: UnitId;
  kind: UnitKind;
  name: string;
  source: UnitSource;
  /** The primary's schedule as written, when it has one; a list for a workflow with several crons. */
  schedule?: string | string[];
  /** Event names that start it, sorted (GitHub workflows). */
  triggers?: string[];
}

export interface Pm2Unit extends UnitBase {
  kind: 'pm2';
  /** Schedule, when the unit has one (cron_restart). */
  schedule?: string;
  app: Pm2AppSpec;
}

export function unitId(kind: UnitKind, name: string): UnitId {
  return `${kind}:${name}`;
}

/** One health observation of a primary. */
export interface Sample {
  ok: boolean;
  reason: string;
  at: number;
  /** The primary exited or was found dead: never excused by the start-up grace of a failback trial. */
  crash?: boolean;
}

/** PM2's view of one process, as much as the manager needs. */
export interface ProcessView {
  name: string;
  pmId: number;
  /** online, stopping, stopped, launching, errored, one-launch-status, waiting restart */
  status: string;
  pid: number;
  restarts: number;
  unstableRestarts: number;
  /** Epoch ms of the last (re)start, from pm2_env.pm_uptime. */
  startedAt: number;
  memoryBytes: number;
  cpuPercent: number;
}

/** What the PM2 bus tells about one process. */
export type ProcessEvent =
  | { type: 'exit'; name: string; at: number; manually: boolean; exitCode?: number | null; signal?: string | null }
  | { type: 'online'; name: string; at: number }
  | { type: 'restart-overlimit'; name: string; at: number };
