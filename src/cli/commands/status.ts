import { join } from 'node:path';
import { drillDefaults, drillFlag } from '../../core/drill.js';
import { statusExitCode } from '../../core/health.js';
import type { HealthReport } from '../../core/report-types.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import { readJsonFile } from '../../store/atomic-file.js';
import { HEALTH_REPORT_FILE } from '../../store/report-writer.js';
import { askManager } from '../../daemon/control-client.js';
import type { Context } from '../context.js';
import { formatStatus, unitAgeMs } from '../format.js';

/** The running manager's report, else the last one on disk marked as stale. */
export async function currentStatus(ctx: Context): Promise<{ report?: HealthReport; managerUp: boolean }> {
  const answer = await askManager(controlSocketPath(ctx.config.stateDir), 'GET', '/status', 5_000).catch(() => undefined);
  if (answer?.status === 200) return { report: answer.body as HealthReport, managerUp: true };
  const file = await readJsonFile(join(ctx.config.logsDir, HEALTH_REPORT_FILE));
  return { report: file.kind === 'ok' ? (file.value as HealthReport) : undefined, managerUp: false };
}

export async function statusCommand(ctx: Context, opts: { watch?: boolean }): Promise<number> {
  let code = await printStatus(ctx);
  while (opts.watch) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(1_000, ctx.config.checkIntervalMs)));
    if (!ctx.json) process.stdout.write('\x1b[2J\x1b[H');
    code = await printStatus(ctx);
  }
  return code;
}

async function printStatus(ctx: Context): Promise<number> {
  const { report, managerUp } = await currentStatus(ctx);
  if (!report) {
    ctx.result(
      { manager: { running: false }, summary: null, units: [] },
      `manager: NOT RUNNING, and no health report yet (${join(ctx.config.logsDir, HEALTH_REPORT_FILE)}); start it with \`redundancy start\``,
    );
    return 2;
  }
  const configLine = ctx.configError ? `config: does not load: ${ctx.configError}\n` : '';
  const now = Date.now();
  // The manager is down: the report on disk is the last it wrote, and every row says how old it is.
  const stale = managerUp
    ? {}
    : { stale: true, ageMs: Math.max(0, now - Date.parse(report.generatedAt)), units: report.units.map((u) => ({ ...u, stale: true, ageMs: unitAgeMs(report, u, now) })) };
  const maxAge = ctx.config.drills?.maxAgeMs ?? drillDefaults.maxAgeMs;
  // Flags only: a unit due for a drill is not unhealthy, so the exit code does not change.
  const drillFlags = Object.fromEntries(report.units.flatMap((u) => {
    const flag = drillFlag(report.drills?.[u.id], now, maxAge);
    return flag ? [[u.id, flag]] : [];
  }));
  ctx.result(
    { ...report, manager: { ...report.manager, running: managerUp }, ...stale, drillFlags, ...(ctx.configError && { configError: ctx.configError }) },
    `${configLine}${formatStatus(report, managerUp, now, maxAge)}`,
  );
  return statusExitCode(report, managerUp);
}
