import { inventoryFromFiles } from '../kinds/pm2/file-inventory.js';
import { inventoryFromDaemon } from '../kinds/pm2/live-inventory.js';
import type { Pm2ProcessManager } from '../kinds/pm2/pm2-client.js';
import { unitConfig, type CompiledConfig } from '../core/config-types.js';
import type { Pm2Unit, UnitKind } from '../core/types.js';

/** A unit of any kind. */
export type Unit = Pm2Unit;

export function unitsOfKind<K extends UnitKind>(units: readonly Unit[], kind: K): Array<Extract<Unit, { kind: K }>> {
  return units.filter((u): u is Extract<Unit, { kind: K }> => u.kind === kind);
}

/** Every kind's units. PM2: the ecosystem files, then the live daemon; a file's definition wins over the daemon's. */
export async function loadInventory(config: CompiledConfig, pm?: Pm2ProcessManager): Promise<Unit[]> {
  const fromFiles = await inventoryFromFiles(config);
  if (!pm || !config.sources.pm2.live) return fromFiles;
  const known = new Set(fromFiles.map((unit) => unit.id));
  const live = (await inventoryFromDaemon(pm)).filter((unit) => !known.has(unit.id) && !unitConfig(config, unit.id).ignore);
  return [...fromFiles, ...live];
}
