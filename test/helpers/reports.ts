import type { HealthReport, UnitReport } from '../../src/core/report-types.js';

/** A healthy unit's line of the report, with `over` on top. */
export function unitLine(id: string, over: Partial<UnitReport> = {}): UnitReport {
  const [kind, name] = id.split(':') as [UnitReport['kind'], string];
  return {
    id, kind, name, state: 'primary', active: 'primary', health: 'healthy', errorRate: 0, samples: 10,
    twin: { name: `${name}-backup`, status: 'stopped' }, primary: { name, status: 'online' },
    lastCheckAt: null, lastTransitionAt: null, failovers: 0, reason: 'ok', ...over,
  };
}

/** A report of these units, generated at the epoch, by manager pid 1. */
export function reportOf(units: UnitReport[], critical = 0): HealthReport {
  const at = new Date(0).toISOString();
  return { generatedAt: at, manager: { pid: 1, version: '0.0.0', startedAt: at }, summary: { units: units.length, healthy: units.length - critical, onTwin: 0, critical }, units };
}
