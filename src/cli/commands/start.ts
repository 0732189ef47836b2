import { RedundancyError } from '../../core/errors.js';
import { planCronTwins, planScriptTwins, planUnitTwins } from '../../daemon/compose.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import { loadInventory } from '../../daemon/inventory.js';
import { MANAGER_APP, managerAppSpec } from '../../daemon/manager-app.js';
import { runManager } from '../../daemon/run-manager.js';
import { askManager } from '../../daemon/control-client.js';
import { withPm2, type Context } from '../context.js';
import { formatStatus } from '../format.js';
import { waitForManager } from '../wait-manager.js';

export async function startCommand(ctx: Context, opts: { foreground?: boolean; dryRun?: boolean }): Promise<number> {
  // Bad ecosystem files fail here, before anything starts.
  const fileUnits = await loadInventory(ctx.config);
  if (opts.dryRun) {
    for (const plan of planUnitTwins(ctx.config, fileUnits)) {
      ctx.say(`would supervise ${plan.unitId} (start it if PM2 does not know it) and register ${plan.twin.name} stopped`);
    }
    for (const plan of [...planCronTwins(ctx.config, fileUnits), ...planScriptTwins(ctx.config, fileUnits)]) {
      ctx.say(`would watch ${plan.unitId} through its ledger; its twin ${plan.twin.name} runs ${plan.twin.schedule ?? 'on demand'} while on it`);
    }
    ctx.say(opts.foreground ? 'would run the manager in this process' : `would start ${MANAGER_APP} under PM2`);
    return 0;
  }
  if (opts.foreground) {
    await runManager(ctx.config, ctx.logger);
    return 0;
  }
  const socketPath = controlSocketPath(ctx.config.stateDir);
  const already = await askManager(socketPath, 'GET', '/status', 2_000).catch(() => undefined);
  if (already?.status === 200) {
    ctx.result(already.body, `${MANAGER_APP} is already running for ${ctx.config.cwd}`);
    return 0;
  }
  return withPm2(true, async (pm) => {
    await pm.start(managerAppSpec(ctx.config));
    const alive = async () => {
      const view = (await pm.list()).find((v) => v.name === MANAGER_APP);
      return view !== undefined && view.status !== 'errored' && view.status !== 'stopped';
    };
    const report = await waitForManager(socketPath, 30_000, alive);
    if (!report) {
      throw new RedundancyError(
        'PM2_OPERATION',
        `${MANAGER_APP} did not come up within 30s; see \`pm2 logs ${MANAGER_APP}\` and ${ctx.config.logsDir}/redundancy.log`,
      );
    }
    const twins = report.units.filter((u) => u.kind === 'pm2').map((u) => u.twin.name).join(', ') || 'none';
    const scheduled = report.units.filter((u) => u.runs !== undefined).length;
    const also = scheduled > 0 ? `; ${scheduled} cron and script units watched through their ledger` : '';
    ctx.result(report, `${MANAGER_APP} started (pid ${report.manager.pid}); twins registered: ${twins}${also}\n\n${formatStatus(report, true, Date.now())}`);
    return 0;
  });
}
