import { RedundancyError, errorMessage } from '../../core/errors.js';
import { readdir } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { unitConfig, type CompiledConfig } from '../../core/config-types.js';
import type { UnitBase } from '../../core/types.js';

export interface ScriptUnit extends UnitBase {
  kind: 'script';
  /** Absolute path of the script. */
  script: string;
}

const scriptExtensions = new Set(['.js', '.mjs', '.cjs']);

/**
 * Node scripts in `sources.scripts.dirs`, run on demand through `redundancy run script:<name>`.
 * A script a crontab line calls is left out: it is watched as that cron unit, not twice.
 */
export async function inventoryScripts(config: CompiledConfig, cronCommands: readonly string[]): Promise<ScriptUnit[]> {
  const units: ScriptUnit[] = [];
  for (const dir of config.sources.scripts.dirs) {
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw new RedundancyError('CONFIG_INVALID', `sources.scripts.dirs: cannot read ${dir}: ${errorMessage(error)}`, { cause: error });
    });
    for (const name of names.sort()) {
      if (!scriptExtensions.has(extname(name))) continue;
      const script = join(dir, name);
      const id = `script:${basename(name, extname(name))}`;
      if (unitConfig(config, id).ignore || calledByCron(script, config.cwd, cronCommands)) continue;
      units.push({ id, kind: 'script', name: id.slice('script:'.length), source: { file: script }, script });
    }
  }
  return units;
}

function calledByCron(script: string, cwd: string, commands: readonly string[]): boolean {
  const forms = [script, relative(cwd, script)];
  return commands.some((command) => forms.some((form) => command.includes(form)));
}
