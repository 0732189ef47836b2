import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pm2ProcessManager } from '../../kinds/pm2/pm2-client.js';
import { isRedundancyError, RedundancyError } from '../../core/errors.js';
import { uninstallCrontab } from '../../kinds/cron/cron-twin-files.js';
import { inventoryGithub } from '../../kinds/github/github-inventory.js';
import { githubApiFor } from '../../kinds/github/github-units.js';
import { variableName } from '../../kinds/github/workflow-file.js';
import type { UnitRecord } from '../../core/failover.js';
import { decodeRecord } from '../../core/record-codec.js';
import { planUnitTwins, stateFile } from '../../daemon/compose.js';
import { loadInventory } from '../../daemon/inventory.js';
import { MANAGER_APP } from '../../daemon/manager-app.js';
import { StateStore } from '../../store/state-store.js';
import { connectIfRunning, type Context } from '../context.js';

export interface StopOptions {
  cleanup?: boolean;
  force?: boolean;
  dryRun?: boolean;
}

/** Stops the manager; the active side of every unit keeps running. `--cleanup` also removes the twins. */
export async function stopCommand(ctx: Context, opts: StopOptions): Promise<number> {
  const pm = await connectIfRunning();
  // Refused before anything changes: a unit on its PM2 twin keeps it.
  const twins = opts.cleanup && pm ? await twinsToRemove(ctx, pm, opts.force === true).catch(async (error: unknown) => {
    await pm.close();
    throw error;
  }) : [];
  if (opts.cleanup) {
    await restoreCrontab(ctx, opts);
    await removeGithubVariables(ctx, opts);
  }
  if (!pm) {
    ctx.say('PM2 is not running: nothing to stop');
    return 0;
  }
  try {
    const act = async (what: string, work: () => Promise<void>) => {
      if (opts.dryRun) return ctx.say(`would ${what}`);
      await work();
      ctx.say(what.replace(/^(\w+)/, (verb) => pastTense[verb] ?? verb));
    };
    const manager = (await pm.list()).find((v) => v.name === MANAGER_APP);
    if (!manager) ctx.say(`${MANAGER_APP} is not registered in PM2`);
    else if (opts.force && manager.pid > 0) {
      await act(`kill ${MANAGER_APP} (pid ${manager.pid})`, async () => {
        process.kill(manager.pid, 'SIGKILL');
        await pm.stop(MANAGER_APP);
      });
    } else await act(`stop ${MANAGER_APP}`, () => pm.stop(MANAGER_APP));
    if (!opts.cleanup) return 0;
    for (const twin of twins) await act(`remove ${twin}`, () => pm.remove(twin));
    if (manager) await act(`remove ${MANAGER_APP}`, () => pm.remove(MANAGER_APP));
    await act(`remove ${stateFile(ctx.config)}`, async () => {
      await rm(stateFile(ctx.config), { force: true });
      await rm(join(ctx.config.stateDir, 'warm'), { recursive: true, force: true });
    });
    return 0;
  } finally {
    await pm.close();
  }
}

const pastTense: Record<string, string> = { stop: 'stopped', kill: 'killed', remove: 'removed' };

/** Twin names to remove; refuses, without --force, while a unit runs on its twin. */
async function twinsToRemove(ctx: Context, pm: Pm2ProcessManager, force: boolean): Promise<string[]> {
  const plans = planUnitTwins(ctx.config, await loadInventory(ctx.config, pm));
  const store = new StateStore<UnitRecord>({ file: stateFile(ctx.config), validateUnit: decodeRecord });
  const { units } = await store.load(Date.now());
  const onTwin = plans.filter((p) => units[p.unitId] && units[p.unitId]!.state.kind !== 'primary');
  if (onTwin.length > 0 && !force) {
    const names = onTwin.map((p) => `${p.unitId} (${p.twin.name})`).join(', ');
    throw new RedundancyError('REFUSED', `${names} not on the primary: removing the twin would leave nothing running; run \`redundancy failback <unit>\` first, or add --force`);
  }
  const registered = new Set((await pm.list()).map((v) => v.name));
  return plans.map((p) => p.twin.name).filter((name) => registered.has(name));
}

/** The user's crontab as it was before `twins --install-crontab`: original lines back, block gone. */
async function restoreCrontab(ctx: Context, opts: StopOptions): Promise<void> {
  const change = await uninstallCrontab({ config: ctx.config, backupDir: ctx.config.stateDir, dryRun: opts.dryRun === true }).catch((error: unknown) => {
    // No cron on this machine: there is no crontab to restore.
    if (isRedundancyError(error) && error.code === 'IO') return undefined;
    throw error;
  });
  if (!change?.changed) return;
  ctx.say(opts.dryRun ? `would restore the crontab:\n${change.diff}` : `restored the crontab (the block's lines back; old text kept as ${change.backup})`);
}

/** The repository variables that gate the twin workflows (`REDUNDANCY_ACTIVE_<STEM>`), deleted. */
async function removeGithubVariables(ctx: Context, opts: StopOptions): Promise<void> {
  const { units } = await inventoryGithub(ctx.config);
  if (units.length === 0) return;
  const access = githubApiFor(ctx.config, ctx.logger);
  if (!('api' in access)) {
    ctx.say(`GitHub variables left as they are: ${access.unwatched}`);
    return;
  }
  for (const unit of units) {
    const name = variableName(unit.name);
    if (opts.dryRun) ctx.say(`would delete the repository variable ${name}`);
    else if (await access.api.deleteVariable(name)) ctx.say(`deleted the repository variable ${name}`);
  }
}
