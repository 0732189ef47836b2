import { errorRate } from './error-window.js';
import { holdDownMs, type UnitRecord } from './failover.js';
import type { PolicyConfig } from './config-types.js';
import type { ActiveSide, HealthReport, ManagerReport, RunsReport, UnitHealth, UnitReport } from './report-types.js';
import type { UnitBase } from './types.js';

/** What the last round saw of one side of a unit. */
export interface SideObservation {
  name: string;
  /** The kind's status of this side (PM2's status, `scheduled`, `off`...), or `missing`. */
  status: string;
  /** Running and, where probed, answering. */
  ok: boolean;
  /** Running, probed, but not yet seen answering since it started. */
  starting?: boolean;
  mode?: 'cold' | 'warm';
  reason?: string;
  memoryMb?: number;
}

export interface UnitObservation {
  unit: UnitBase;
  record: UnitRecord;
  primary: SideObservation;
  twin: SideObservation;
  runs?: RunsReport;
  /** The unit's policy: its threshold and hold-down are shown with the state. */
  policy?: PolicyConfig;
}

/** Which side does the work right now; `none` when the side that should is not up. */
export function activeSide(obs: UnitObservation): ActiveSide {
  switch (obs.record.state.kind) {
    case 'primary':
    case 'failing-back':
    case 'probing':
      if (obs.primary.ok) return 'primary';
      return obs.twin.ok ? 'twin' : 'none';
    case 'failing-over':
    case 'backup':
      return obs.twin.ok ? 'twin' : 'none';
  }
}

/** Health of the primary: healthy with a clean window, degraded with failures or on trial, unhealthy when failed over or down. */
export function primaryHealth(obs: UnitObservation): UnitHealth {
  const kind = obs.record.state.kind;
  if (kind === 'backup' || kind === 'failing-over') return 'unhealthy';
  if (kind === 'probing') return 'degraded';
  if (!obs.primary.ok) return 'unhealthy';
  return obs.primary.starting || errorRate(obs.record.window) > 0 ? 'degraded' : 'healthy';
}

export function unitReport(obs: UnitObservation): UnitReport {
  const { unit, record } = obs;
  return {
    id: unit.id,
    kind: unit.kind,
    name: unit.name,
    state: record.state.kind,
    active: activeSide(obs),
    health: primaryHealth(obs),
    errorRate: Math.round(errorRate(record.window) * 100) / 100,
    samples: record.window.length,
    twin: sideReport(obs.twin),
    primary: { name: obs.primary.name, status: obs.primary.status },
    lastCheckAt: iso(record.lastCheckAt),
    lastTransitionAt: iso(record.lastTransitionAt),
    failovers: record.failovers,
    reason: record.reason,
    ...(obs.runs && { runs: obs.runs }),
    ...policyFields(obs),
    lastSamples: record.window.map((s) => (s.ok ? '1' : '0')).join(''),
    ...('drill' in record.state && record.state.drill && { drill: true }),
  };
}

/** A unit on a standby host: parked here and run by the active host, which is no outage. */
export function standbyReport(line: UnitReport): UnitReport {
  return { ...line, active: 'standby', health: 'healthy', reason: 'this host is a standby; the active host runs the unit' };
}

function policyFields(obs: UnitObservation): Pick<UnitReport, 'threshold' | 'holdDownUntil'> {
  const { policy, record } = obs;
  if (!policy) return {};
  const state = record.state;
  const held = state.kind === 'backup' && !state.manual;
  return { threshold: policy.errorRateThreshold, ...(held && { holdDownUntil: new Date(state.since + holdDownMs(record, policy)).toISOString() }) };
}

export function buildReport(observations: readonly UnitObservation[], manager: ManagerReport, now: number): HealthReport {
  return reportOf(observations.map(unitReport), manager, now);
}

/** The report of units already judged one by one (a supervisor reuses those that did not change). */
export function reportOf(units: UnitReport[], manager: ManagerReport, now: number): HealthReport {
  return {
    generatedAt: new Date(now).toISOString(),
    manager,
    summary: {
      units: units.length,
      healthy: units.filter((u) => (u.active === 'primary' || u.active === 'standby') && u.health === 'healthy').length,
      onTwin: units.filter((u) => u.active === 'twin').length,
      critical: units.filter((u) => u.active === 'none').length,
    },
    units,
  };
}

/** Exit code of `status`: 0 all healthy, 1 some unit on its twin or degraded, 2 some unit with no side up. */
export function statusExitCode(report: HealthReport, managerUp: boolean): 0 | 1 | 2 {
  if (!managerUp || report.summary.critical > 0) return 2;
  return report.summary.healthy === report.summary.units ? 0 : 1;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function sideReport(side: SideObservation): UnitReport['twin'] {
  const { name, status, mode, reason, memoryMb } = side;
  return { name, status, ...(mode && { mode }), ...(reason !== undefined && { reason }), ...(memoryMb !== undefined && { memoryMb }) };
}
