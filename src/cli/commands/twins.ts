import { renderTwinsFile, writeTwinsFile } from '../../kinds/pm2/twin-file.js';
import { planUnitTwins } from '../../daemon/compose.js';
import { loadInventory } from '../../daemon/inventory.js';
import { connectIfRunning, type Context } from '../context.js';
import { displayPath, table } from '../format.js';

export async function twinsCommand(ctx: Context, opts: { write?: boolean; dryRun?: boolean }): Promise<number> {
  const pm = await connectIfRunning();
  const units = await loadInventory(ctx.config, pm).finally(() => pm?.close());
  const plans = planUnitTwins(ctx.config, units);
  const file = ctx.config.twinsFile;
  const text = renderTwinsFile(plans, { generatedFrom: [...new Set(units.map((u) => displayPath(ctx.config.cwd, u.source.file)))] });
  const rows = plans.map((p) => [
    p.unitId,
    p.twin.name,
    p.coldReason ? `cold (warm refused: ${p.coldReason})` : p.mode,
    String(p.twin.maxRestarts ?? '-'),
    `${p.twin.expBackoffRestartDelayMs ?? '-'}ms`,
    p.notes.join('; '),
  ]);
  ctx.result(plans, rows.length > 0 ? table(['UNIT', 'TWIN', 'MODE', 'MAX_RESTARTS', 'BACKOFF', 'NOTES'], rows) : 'no units: no twins to plan');
  if (!opts.write) return 0;
  if (opts.dryRun) {
    ctx.say(`\nwould write ${displayPath(ctx.config.cwd, file)}:\n${text}`);
    return 0;
  }
  await writeTwinsFile(file, text);
  ctx.say(`wrote ${displayPath(ctx.config.cwd, file)} (${plans.length} twins)`);
  return 0;
}
