import type { UnitId, UnitKind } from './types.js';

/**
 * The health report of DESIGN.md ("Files"): written to `logs/redundancy-health.json` and printed by
 * `redundancy status --json`. Users and scripts rely on these fields: add, never rename.
 * Times are ISO-8601 strings; `null` means "never happened yet".
 */
export interface HealthReport {
  generatedAt: string;
  manager: ManagerReport;
  summary: ReportSummary;
  units: UnitReport[];
  /** Per kind, what concerns all its units (GitHub: the API's remaining budget). */
  kinds?: Record<string, Record<string, unknown>>;
  /** The last drill of each unit ever drilled (`redundancy drill`). */
  drills?: Record<UnitId, DrillSummary>;
}

export interface ManagerReport {
  pid: number;
  version: string;
  startedAt: string;
  /** The read-only listener (`/health`, `/metrics`): where it listens, or why it does not. */
  http?: { listen: string; error?: string };
  /** Notifications not yet delivered, and those given up. */
  notifications?: { pending: number; dead: number; disabled: string[] };
  /** The last `reload`: when, and the error that kept the running config. */
  reload?: { at: string; ok: boolean; error?: string };
  /** Multi-host: this host, its role, and the fencing token (the leader key's creation revision) it acts under. */
  host?: HostReport;
}

export interface HostReport {
  name: string;
  cluster: string;
  role: 'active' | 'standby';
  /** The epoch this host acts under while active; the last one it held while standby (null: never). */
  epoch: number | null;
}

export interface ReportSummary {
  /** Units supervised. */
  units: number;
  /** Units on their primary with a healthy primary, and units on a standby host (the active host runs them). */
  healthy: number;
  /** Units running on their twin. */
  onTwin: number;
  /** Units with neither side healthy. */
  critical: number;
}

/** The failover states of DESIGN.md's state machine. */
export type FailoverStateName = 'primary' | 'failing-over' | 'backup' | 'probing' | 'failing-back';
/** `standby`: this host is a standby of a multi-host cluster; the unit runs on the active host. */
export type ActiveSide = 'primary' | 'twin' | 'none' | 'standby';
export type UnitHealth = 'healthy' | 'degraded' | 'unhealthy';

/** One side of a unit as PM2 shows it. */
export interface SideReport {
  name: string;
  /** PM2 status (`online`, `stopped`, `errored`, ...), `missing` when PM2 does not know the app; for a warm twin `warm` while parked, `failed` when its app did not load. */
  status: string;
  /** Twins only: cold (registered stopped) or warm (parked launcher). */
  mode?: 'cold' | 'warm';
  /** Why the side is as it is, when that is not plain: a warm twin's load failure, why a unit is cold. */
  reason?: string;
  /** Resident memory PM2 measured. */
  memoryMb?: number;
}

export interface UnitReport {
  id: UnitId;
  kind: UnitKind;
  name: string;
  state: FailoverStateName;
  active: ActiveSide;
  /** Health of the primary, from its sample window. */
  health: UnitHealth;
  /** failed / total over the window; 0 with no samples. */
  errorRate: number;
  /** Samples in the window. */
  samples: number;
  twin: SideReport;
  primary: SideReport;
  lastCheckAt: string | null;
  lastTransitionAt: string | null;
  failovers: number;
  /** Why the unit is where it is, e.g. `error rate 0.90 > 0.80`. */
  reason: string;
  /** Scheduled kinds (cron, script): runs from the ledger and the next firings. */
  runs?: RunsReport;
  /** Under maintenance (`redundancy pause`): samples are recorded, no transition fires. */
  paused?: { since: string; until: string | null };
  /** The error rate above which the unit fails over (its policy). */
  threshold?: number;
  /** The window's samples, oldest first: `1` ok, `0` failed. */
  lastSamples?: string;
  /** On its twin after an automatic failover: when the hold-down ends and a failback trial may start. */
  holdDownUntil?: string;
  /** True while a drill has the unit off its primary (not a failure: no failover is counted or notified). */
  drill?: boolean;
}

/** The last drill of a unit (`logs/drills.jsonl`), as the report and the dashboard show it. */
export interface DrillSummary {
  at: string;
  result: 'ok' | 'failed';
  /** Decision to the twin serving, in ms; null when the twin was not verified. */
  rtoMs: number | null;
  /** Failback decision to the primary serving again, in ms; null when it was not verified. */
  failbackMs: number | null;
  reason: string;
}

/** The ledger's view of a scheduled unit. Times are ISO-8601; `null` when there is none. */
export interface RunsReport {
  /** The primary's schedule as written; null for a unit run on demand. */
  schedule: string | null;
  lastRun: { at: string; side: 'primary' | 'twin'; exitCode: number | null; durationMs: number | null; ok: boolean } | null;
  nextSlot: string | null;
  /** The twin's throttled schedule. */
  twinSchedule: string | null;
  /** The twin's next firing, while the unit is on its twin. */
  nextTwinRun: string | null;
}
