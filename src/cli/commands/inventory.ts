import { loadInventory } from '../../daemon/inventory.js';
import { connectIfRunning, type Context } from '../context.js';
import { displayPath, table } from '../format.js';

export async function inventoryCommand(ctx: Context): Promise<number> {
  const pm = await connectIfRunning();
  try {
    const units = await loadInventory(ctx.config, { pm, notes: (line) => ctx.say(line) });
    const rows = units.map((u) => [
      u.id,
      u.kind,
      u.name,
      `${displayPath(ctx.config.cwd, u.source.file)}${u.source.line ? `:${u.source.line}` : ''}`,
      [u.schedule ?? '-'].flat().join('; '),
    ]);
    const note = pm ? '' : '\n(PM2 is not running: apps of the live daemon are not listed)';
    ctx.result(
      units.map((u) => ({ id: u.id, kind: u.kind, name: u.name, source: u.source, schedule: u.schedule ?? null, ...(u.triggers && { triggers: u.triggers }) })),
      units.length > 0 ? table(['ID', 'KIND', 'NAME', 'SOURCE', 'SCHEDULE'], rows) + note : `no units found in ${ctx.config.cwd}${note}`,
    );
    return 0;
  } finally {
    await pm?.close();
  }
}
