import { relative } from 'node:path';
import type { HealthReport } from '../core/report-types.js';

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

export function displayPath(cwd: string, file: string): string {
  if (file === 'pm2') return 'pm2 (live daemon)';
  const rel = relative(cwd, file);
  return rel.startsWith('..') ? file : rel;
}

export function formatStatus(report: HealthReport, managerUp: boolean, now: number): string {
  const age = Math.max(0, Math.round((now - Date.parse(report.generatedAt)) / 1000));
  const manager = managerUp
    ? `manager: running (pid ${report.manager.pid}, v${report.manager.version}, since ${report.manager.startedAt})`
    : `manager: NOT RUNNING (last report ${age}s old, from pid ${report.manager.pid})`;
  const s = report.summary;
  const summary = `units: ${s.units}  healthy: ${s.healthy}  on twin: ${s.onTwin}  critical: ${s.critical}`;
  const rows = report.units.map((u) => [
    u.id,
    u.state,
    u.active,
    u.health,
    `${u.errorRate.toFixed(2)}/${u.samples}`,
    `${u.primary.name} ${u.primary.status}`,
    `${u.twin.name} ${u.twin.status}${u.twin.memoryMb !== undefined ? ` ${Math.round(u.twin.memoryMb)}MB` : ''}`,
    String(u.failovers),
    u.twin.reason ? `${u.reason}; twin: ${u.twin.reason}` : u.reason,
  ]);
  const body = rows.length > 0
    ? table(['UNIT', 'STATE', 'ACTIVE', 'HEALTH', 'ERR/N', 'PRIMARY', 'TWIN', 'FAILOVERS', 'REASON'], rows)
    : 'no units: nothing to supervise (see `redundancy inventory`)';
  return `${manager}\n${summary}\n${body}`;
}
