import { stat } from 'node:fs/promises';
import type { CompiledConfig } from '../core/config-types.js';
import { ledgerDir, stateFile } from '../daemon/compose.js';
import { loadInventory, unitsOfKind } from '../daemon/inventory.js';
import { decideGate } from '../schedule/run-wrapper.js';
import { readJsonFile } from '../store/atomic-file.js';
import type { UnitCommand } from './job-executor.js';
import type { RunnableUnit } from './plan.js';

export { ledgerDir };

/** The cron and script units, with the command each runs (read only when the plan names units). */
export async function runnableUnits(config: CompiledConfig): Promise<{ list: RunnableUnit[]; commands: Map<string, UnitCommand> }> {
  const units = await loadInventory(config);
  const list: RunnableUnit[] = [];
  const commands = new Map<string, UnitCommand>();
  for (const unit of unitsOfKind(units, 'cron')) {
    const { entry } = unit;
    list.push({ id: unit.id, command: entry.command });
    commands.set(unit.id, { argv: [entry.shell, '-c', entry.commandForShell], cwd: unit.cwd, env: entry.env, ...(entry.stdin !== undefined && { input: entry.stdin }) });
  }
  for (const unit of unitsOfKind(units, 'script')) {
    list.push({ id: unit.id, command: unit.script });
    commands.set(unit.id, { argv: [process.execPath, unit.script], cwd: config.cwd, env: {} });
  }
  return { list, commands };
}

/**
 * The side a unit runs on now, read from the state file without touching it (the manager owns it):
 * the twin only while a fresh state says the unit is on its twin, as `redundancy run` decides.
 */
export function sideReader(config: CompiledConfig): (unitId: string) => Promise<'primary' | 'twin'> {
  return async (unitId) => {
    const file = stateFile(config);
    const [read, info] = await Promise.all([readJsonFile(file).catch(() => ({ kind: 'missing' as const })), stat(file).catch(() => undefined)]);
    const units = read.kind === 'ok' ? (read.value as { units?: Record<string, { state?: { kind?: string; started?: boolean } }> }).units : undefined;
    const state = units?.[unitId]?.state;
    const kind = state?.kind === 'probing' && state.started !== true ? 'failing-over' : state?.kind;
    const twin = decideGate({ side: 'twin', state: kind, stateAgeMs: read.kind === 'ok' && info ? Date.now() - info.mtimeMs : undefined, staleAfterMs: config.schedules.staleAfterMs, manual: false });
    return twin.run ? 'twin' : 'primary';
  };
}
