import { type Pm2Unit, unitId } from '../../core/types.js';
import type { Pm2ProcessManager } from './pm2-client.js';

/** The manager's own app: never a unit. */
export const managerAppName = 'redundancy-manager';

/** Twins are named `<primary>-backup`: they are not units of their own. */
function isOwnApp(name: string): boolean {
  return name === managerAppName || name.endsWith('-backup');
}

/** The units of the live PM2 daemon: one per app name (cluster instances share it). */
export async function inventoryFromDaemon(pm: Pick<Pm2ProcessManager, 'listAppSpecs'>): Promise<Pm2Unit[]> {
  const units = new Map<string, Pm2Unit>();
  for (const { spec } of await pm.listAppSpecs()) {
    if (isOwnApp(spec.name) || units.has(spec.name)) continue;
    const unit: Pm2Unit = { id: unitId('pm2', spec.name), kind: 'pm2', name: spec.name, source: { file: 'pm2' }, app: spec };
    if (spec.cronRestart !== undefined) unit.schedule = spec.cronRestart;
    units.set(spec.name, unit);
  }
  return [...units.values()];
}
