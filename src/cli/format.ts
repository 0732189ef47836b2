import { relative } from 'node:path';
import { drillDefaults, drillFlag } from '../core/drill.js';
import type { HealthReport, RunsReport } from '../core/report-types.js';

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

/** `drillMaxAgeMs`: a unit never drilled, or whose last drill is older, is flagged in the DRILL column. */
export function formatStatus(report: HealthReport, managerUp: boolean, now: number, drillMaxAgeMs = drillDefaults.maxAgeMs): string {
  const age = Math.max(0, Math.round((now - Date.parse(report.generatedAt)) / 1000));
  const manager = managerUp
    ? `manager: running (pid ${report.manager.pid}, v${report.manager.version}, since ${report.manager.startedAt})`
    : `manager: NOT RUNNING (last report ${age}s old, from pid ${report.manager.pid}); every row below is stale: \`redundancy ensure\` starts the manager outside PM2`;
  const s = report.summary;
  const summary = `units: ${s.units}  healthy: ${s.healthy}  on twin: ${s.onTwin}  critical: ${s.critical}`;
  const rows = report.units.map((u) => [
    u.id,
    u.paused ? `${u.state} (paused)` : u.state,
    u.active,
    managerUp ? u.health : `${u.health}, ${agoText(unitAgeMs(report, u, now))} (stale)`,
    `${u.errorRate.toFixed(2)}/${u.samples}`,
    `${u.primary.name} ${u.primary.status}`,
    `${u.twin.name} ${u.twin.status}${u.twin.memoryMb !== undefined ? ` ${Math.round(u.twin.memoryMb)}MB` : ''}`,
    String(u.failovers),
    drillText(report, u.id, now, drillMaxAgeMs),
    [u.paused && `paused ${u.paused.until ? `until ${u.paused.until}` : 'until resumed'}`, u.reason, u.twin.reason && `twin: ${u.twin.reason}`, u.runs && runsText(u.runs)].filter(Boolean).join('; '),
  ]);
  const body = rows.length > 0
    ? table(['UNIT', 'STATE', 'ACTIVE', 'HEALTH', 'ERR/N', 'PRIMARY', 'TWIN', 'FAILOVERS', 'DRILL', 'REASON'], rows)
    : 'no units: nothing to supervise (see `redundancy inventory`)';
  return [manager, summary, ...kindLines(report), body].join('\n');
}

function drillText(report: HealthReport, id: string, now: number, maxAgeMs: number): string {
  const last = report.drills?.[id];
  const flag = drillFlag(last, now, maxAgeMs);
  if (!last) return `! ${flag}`;
  const text = `${last.result} ${agoText(now - Date.parse(last.at))}${last.rtoMs !== null ? `, RTO ${(last.rtoMs / 1000).toFixed(1)}s` : ''}`;
  return flag ? `! ${flag} (${text})` : text;
}

/** How old a unit's row is: since its last check, else since the report was written. */
export function unitAgeMs(report: HealthReport, unit: HealthReport['units'][number], now: number): number {
  return Math.max(0, now - Date.parse(unit.lastCheckAt ?? report.generatedAt));
}

/** `12s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function agoText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s}s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** A scheduled unit's runs in one phrase: the last, the next slot, and the twin's next firing while on it. */
export function runsText(runs: RunsReport): string {
  const time = (iso: string) => iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z');
  const last = runs.lastRun
    ? `last run ${time(runs.lastRun.at)} (${runs.lastRun.side}) ${runs.lastRun.ok ? 'ok' : 'failed'}, exit ${runs.lastRun.exitCode ?? '-'}` +
      (runs.lastRun.durationMs !== null ? `, ${(runs.lastRun.durationMs / 1000).toFixed(1)}s` : '')
    : 'no run yet';
  const parts = [last];
  if (runs.nextSlot) parts.push(`next slot ${time(runs.nextSlot)}`);
  if (runs.nextTwinRun) parts.push(`next twin run ${time(runs.nextTwinRun)} (${runs.twinSchedule})`);
  return parts.join(', ');
}

/** One line for each kind that says something of all its units: the GitHub API's budget, the Netlify site's deploys. */
function kindLines(report: HealthReport): string[] {
  const { http, reload, notifications } = report.manager;
  const lines = [
    http?.error && `http: not listening on ${http.listen}: ${http.error}`,
    reload && !reload.ok && `config: reload at ${reload.at} refused, the running config stays: ${reload.error}`,
    notifications && (notifications.pending > 0 || notifications.dead > 0 || notifications.disabled.length > 0) &&
      `notifications: ${notifications.pending} undelivered, ${notifications.dead} given up${notifications.disabled.length > 0 ? `; channels disabled (410): ${notifications.disabled.join(', ')}` : ''}`,
  ].filter((line): line is string => typeof line === 'string');
  return [...lines, ...githubLine(report), ...netlifyLine(report)];
}

function githubLine(report: HealthReport): string[] {
  const github = report.kinds?.github as { unwatched?: string; apiError?: string; pollSlowedToMs?: number; api?: { remaining: number | null; limit: number | null; resetAt: string | null; requests: number; notModified: number } } | undefined;
  if (!github) return [];
  if (github.unwatched) return [`github: not watched (${github.unwatched})`];
  const api = github.api!;
  const left = api.remaining === null ? 'budget unknown yet' : `${api.remaining} of ${api.limit} requests left until ${api.resetAt ?? '?'}`;
  return [`github: ${left}; ${api.requests} requests made, ${api.notModified} answered 304${slowed(github.pollSlowedToMs)}${github.apiError ? `; API error: ${github.apiError}` : ''}`];
}

function netlifyLine(report: HealthReport): string[] {
  type Deploy = { id: string; state: string };
  const netlify = report.kinds?.netlify as { unwatched?: string; apiError?: string; pollSlowedToMs?: number; latestDeploy?: Deploy; publishedDeploy?: Deploy } | undefined;
  if (!netlify) return [];
  if (netlify.unwatched) return [`netlify: not watched (${netlify.unwatched})`];
  const deploys = [
    netlify.latestDeploy && `latest production deploy ${netlify.latestDeploy.id} ${netlify.latestDeploy.state}`,
    netlify.publishedDeploy && `published ${netlify.publishedDeploy.id} ${netlify.publishedDeploy.state}`,
  ].filter(Boolean);
  return [`netlify: ${deploys.join(', ') || 'not read yet'}${slowed(netlify.pollSlowedToMs)}${netlify.apiError ? `; API error: ${netlify.apiError}` : ''}`];
}

function slowed(pollSlowedToMs: number | undefined): string {
  return pollSlowedToMs === undefined ? '' : `; polls slowed to every ${(pollSlowedToMs / 1000).toFixed(1)} s to last the rate limit`;
}
