import { unitConfig, type CompiledConfig } from '../core/config-types.js';
import type { Pm2Unit, UnitKind } from '../core/types.js';
import { inventoryCron, type CronInventory, type CronUnit } from '../kinds/cron/cron-inventory.js';
import type { UserCrontab } from '../kinds/cron/user-crontab.js';
import { inventoryGithub, type GithubUnit } from '../kinds/github/github-inventory.js';
import type { NetlifyUnit } from '../kinds/netlify/netlify-function.js';
import { loadNetlifyUnits } from '../kinds/netlify/netlify-units.js';
import { inventoryFromFiles } from '../kinds/pm2/file-inventory.js';
import { inventoryFromDaemon } from '../kinds/pm2/live-inventory.js';
import type { Pm2ProcessManager } from '../kinds/pm2/pm2-client.js';
import { inventoryScripts, type ScriptUnit } from '../kinds/script/script-inventory.js';

/** A unit of any kind. */
export type Unit = Pm2Unit | CronUnit | ScriptUnit | GithubUnit | NetlifyUnit;

export function unitsOfKind<K extends UnitKind>(units: readonly Unit[], kind: K): Array<Extract<Unit, { kind: K }>> {
  return units.filter((u): u is Extract<Unit, { kind: K }> => u.kind === kind);
}

export interface InventoryOptions {
  /** The live PM2 daemon, when one runs. */
  pm?: Pm2ProcessManager;
  /** The user's crontab (tests point it at another user). */
  crontab?: UserCrontab;
  /** Lines and files left out, each said once. */
  notes?: (line: string) => void;
  /** The first source file that could not be read at all (a workflow, netlify.toml), for commands that must not go on without it. */
  broken?: (line: string) => void;
}

/** Every kind's units, in a stable order: PM2, cron, scripts, GitHub workflows, Netlify functions. */
export async function loadInventory(config: CompiledConfig, opts: InventoryOptions | Pm2ProcessManager = {}): Promise<Unit[]> {
  const { pm, crontab, notes, broken } = 'list' in opts ? { pm: opts, crontab: undefined, notes: undefined, broken: undefined } : opts;
  const [pm2, cron, github, netlify] = await Promise.all([loadPm2Units(config, pm), inventoryCron(config, crontab), inventoryGithub(config), loadNetlifyUnits(config)]);
  reportLeftOut(cron, notes);
  for (const note of [...github.notes, ...netlify.notes]) notes?.(note);
  const unreadable = github.broken ?? netlify.broken;
  if (unreadable !== undefined) broken?.(unreadable);
  const scripts = await inventoryScripts(config, cron.units.map((u) => u.entry.command));
  return [...pm2, ...cron.units, ...scripts, ...github.units, ...netlify.units];
}

/** PM2: the ecosystem files, then the live daemon; a file's definition wins over the daemon's. */
async function loadPm2Units(config: CompiledConfig, pm: Pm2ProcessManager | undefined): Promise<Pm2Unit[]> {
  const fromFiles = await inventoryFromFiles(config);
  if (!pm || !config.sources.pm2.live) return fromFiles;
  const known = new Set(fromFiles.map((unit) => unit.id));
  const live = (await inventoryFromDaemon(pm)).filter((unit) => !known.has(unit.id) && !unitConfig(config, unit.id).ignore);
  return [...fromFiles, ...live];
}

function reportLeftOut(cron: CronInventory, notes: ((line: string) => void) | undefined): void {
  if (!notes) return;
  for (const skipped of cron.skipped) notes(`${skipped.file}: skipped: ${skipped.reason}`);
  for (const warning of cron.warnings) notes(warning);
}
