import { loadConfig } from '../core/config-file.js';
import type { CompiledConfig } from '../core/config-types.js';
import { RedundancyError, errorMessage } from '../core/errors.js';
import type { UnitId } from '../core/types.js';
import type { Pm2ProcessManager } from '../kinds/pm2/pm2-client.js';
import type { Logger } from '../store/logger.js';
import { loadInventory, type Unit } from './inventory.js';

export type ReloadResult =
  | { ok: true; at: string; added: UnitId[]; removed: UnitId[]; notes: string[] }
  | { ok: false; at: string; error: string };

export interface ReloadDeps {
  current: CompiledConfig;
  pm?: Pm2ProcessManager;
  logger: Logger;
  /** Swaps the running config and units for the new ones; the old stay if it throws. */
  apply(next: CompiledConfig, units: Unit[]): Promise<{ added: UnitId[]; removed: UnitId[] }>;
}

/** What a running manager cannot take over without a restart: where its state and logs live. */
const fixedKeys = ['stateDir', 'logsDir'] as const;

/**
 * Re-reads the config and every source, validates both as a start does, then swaps. Any error
 * before the swap leaves the running config as it was and comes back as one line.
 */
export async function reloadConfig(deps: ReloadDeps): Promise<ReloadResult> {
  const at = new Date().toISOString();
  const notes: string[] = [];
  let file = deps.current.file;
  try {
    const next = await loadConfig({ ...(deps.current.file !== undefined && { configPath: deps.current.file }), cwd: deps.current.cwd });
    file = next.file;
    for (const key of fixedKeys) {
      if (next[key] !== deps.current[key]) throw new RedundancyError('CONFIG_INVALID', `${next.file ?? 'config'}: ${key}: a running manager keeps ${deps.current[key]}; restart it to move it`);
    }
    const units = await loadInventory(next, { ...(deps.pm && { pm: deps.pm }), notes: (line) => notes.push(line) });
    const { added, removed } = await deps.apply(next, units);
    deps.logger.info({ added, removed }, 'config reloaded');
    return { ok: true, at, added, removed, notes };
  } catch (error) {
    // Errors found after the file compiled (a source, a secret) name the key; the file goes in front.
    const text = errorMessage(error);
    const message = file !== undefined && !text.includes(file) ? `${file}: ${text}` : text;
    deps.logger.error({ err: message }, 'reload refused; the running config stays');
    return { ok: false, at, error: message };
  }
}
