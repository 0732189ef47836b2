import { parseDuration, formatDuration } from '../../core/duration.js';
import { RedundancyError } from '../../core/errors.js';
import { dropEnded, type Pauses } from '../../core/pause.js';
import { askManager } from '../../daemon/control-client.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import { loadInventory } from '../../daemon/inventory.js';
import { readPauses, writePauses } from '../../store/pause-file.js';
import { connectIfRunning, type Context } from '../context.js';

export interface PauseOptions {
  all?: boolean;
  for?: string;
}

/**
 * `pause [<unit>|--all] [--for D]` and `resume`: written to the state directory, which a manager
 * started later also reads, then told to the running manager.
 */
export async function pauseCommand(ctx: Context, unit: string | undefined, opts: PauseOptions, action: 'pause' | 'resume'): Promise<number> {
  const target = await targetOf(ctx, unit, opts);
  const now = Date.now();
  const forMs = opts.for === undefined ? undefined : parseDuration(opts.for);
  if (opts.for !== undefined && (forMs === undefined || forMs <= 0)) throw new RedundancyError('USAGE', `--for ${opts.for}: expected a duration like 30m or 2h`);
  if (action === 'resume' && opts.for !== undefined) throw new RedundancyError('USAGE', 'resume takes no --for');
  const before = dropEnded(await readPauses(ctx.config.stateDir), now);
  const pause = { since: now, until: forMs === undefined ? null : now + forMs };
  const after: Pauses = { ...before, units: { ...before.units } };
  if (target === 'all') {
    if (action === 'pause') after.all = pause;
    else {
      delete after.all;
      after.units = {};
    }
  } else if (action === 'pause') after.units[target] = pause;
  else delete after.units[target];
  await writePauses(ctx.config.stateDir, after);
  const told = await askManager(controlSocketPath(ctx.config.stateDir), 'POST', '/pauses', 10_000).catch(() => undefined);
  const what = target === 'all' ? 'every unit' : target;
  const until = forMs === undefined ? 'until `redundancy resume`' : `for ${formatDuration(forMs)}`;
  const stillAll = action === 'resume' && target !== 'all' && after.all ? ' (still paused with every unit: `redundancy resume --all`)' : '';
  const text = action === 'pause' ? `${what} paused ${until}: samples are recorded, no failover or failback fires` : `${what} resumed${stillAll}`;
  ctx.result({ action, target, until: action === 'pause' && pause.until !== null ? new Date(pause.until).toISOString() : null, manager: told !== undefined }, told ? text : `${text} (no manager running: it applies when one starts)`);
  return 0;
}

async function targetOf(ctx: Context, unit: string | undefined, opts: PauseOptions): Promise<string> {
  if (opts.all && unit) throw new RedundancyError('USAGE', 'give a unit or --all, not both');
  if (!unit) {
    if (!opts.all) throw new RedundancyError('USAGE', 'give a unit (see `redundancy inventory`) or --all');
    return 'all';
  }
  const pm = await connectIfRunning();
  const known = await loadInventory(ctx.config, { ...(pm && { pm }) }).finally(() => pm?.close());
  if (!known.some((u) => u.id === unit)) throw new RedundancyError('UNKNOWN_UNIT', `unknown unit ${unit}; see \`redundancy inventory\``);
  return unit;
}
