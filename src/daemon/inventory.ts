import { inventoryFromFiles } from '../adapters/pm2/file-inventory.js';
import { inventoryFromDaemon } from '../adapters/pm2/live-inventory.js';
import type { Pm2ProcessManager } from '../adapters/pm2/pm2-client.js';
import { unitConfig, type CompiledConfig } from '../core/config-types.js';
import type { Pm2Unit } from '../core/types.js';

/** Units from the ecosystem files, then from the live daemon; a file's definition wins over the daemon's. */
export async function loadInventory(config: CompiledConfig, pm?: Pm2ProcessManager): Promise<Pm2Unit[]> {
  const fromFiles = await inventoryFromFiles(config);
  if (!pm || !config.sources.pm2.live) return fromFiles;
  const known = new Set(fromFiles.map((unit) => unit.id));
  const live = (await inventoryFromDaemon(pm)).filter((unit) => !known.has(unit.id) && !unitConfig(config, unit.id).ignore);
  return [...fromFiles, ...live];
}
