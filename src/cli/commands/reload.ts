import { resolve } from 'node:path';
import { RedundancyError, isRedundancyError } from '../../core/errors.js';
import { askManager } from '../../daemon/control-client.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import { loadInventory } from '../../daemon/inventory.js';
import type { ReloadResult } from '../../daemon/reload.js';
import { makeContext, type GlobalOptions } from '../context.js';

/**
 * `reload`: the running manager re-reads the config and every source and swaps only if they load
 * (also on SIGHUP). A config this command cannot load is still sent to the manager, which then
 * refuses it, says so in `status` and `/metrics`, and notifies; with no manager running the config
 * and sources are only checked here.
 */
export async function reloadCommand(opts: GlobalOptions): Promise<number> {
  const ctx = await makeContext(opts).catch(async (error: unknown) => {
    if (!isRedundancyError(error) || error.exitCode !== 78) throw error;
    // The manager's socket where a config that does not load would have put it: the default state dir.
    const answer = await askManager(controlSocketPath(resolve(opts.cwd ?? process.cwd(), '.redundancy')), 'POST', '/reload', 120_000);
    if (answer) refused(answer.body as ReloadResult);
    throw error;
  });
  try {
    const answer = await askManager(controlSocketPath(ctx.config.stateDir), 'POST', '/reload', 120_000);
    if (!answer) {
      const units = await loadInventory(ctx.config, { notes: (line) => ctx.say(line) });
      ctx.result({ ok: true, manager: false, units: units.length }, `no manager running: the config and sources load (${units.length} units); a manager reads them when it starts`);
      return 0;
    }
    const result = answer.body as ReloadResult;
    if (!result.ok) refused(result);
    for (const note of result.notes) ctx.say(note);
    const changes = [result.added.length > 0 && `added ${result.added.join(', ')}`, result.removed.length > 0 && `no longer supervised (left as they are): ${result.removed.join(', ')}`].filter(Boolean);
    ctx.result(result, `reloaded${changes.length > 0 ? `: ${changes.join('; ')}` : ': no unit added or removed'}`);
    return 0;
  } finally {
    await ctx.close();
  }
}

function refused(result: ReloadResult): never {
  throw new RedundancyError('CONFIG_INVALID', `reload refused, the running config stays: ${result.ok ? 'unknown' : result.error}`);
}
