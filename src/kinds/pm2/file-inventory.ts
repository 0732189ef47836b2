import { access } from 'node:fs/promises';
import { relative } from 'node:path';
import { defaultEcosystemFiles, defaultsLabel } from '../../core/config.js';
import { unitConfig, type CompiledConfig } from '../../core/config-types.js';
import { RedundancyError } from '../../core/errors.js';
import { unitId, type Pm2Unit } from '../../core/types.js';
import { loadEcosystem } from './ecosystem.js';

/** Apps that belong to redundancy itself and are never supervised. */
export function isOwnApp(name: string): boolean {
  return name === 'redundancy-manager' || name.endsWith('-backup');
}

/**
 * PM2 units from the configured ecosystem files. With the default list only the first file that
 * exists is read (PM2's own lookup); an explicitly configured file must exist.
 */
export async function inventoryFromFiles(config: CompiledConfig): Promise<Pm2Unit[]> {
  const files = await filesToRead(config);
  const units: Pm2Unit[] = [];
  const definedIn = new Map<string, string>();
  for (const file of files) {
    const { apps } = await loadEcosystem(file);
    for (const { spec, line } of apps) {
      if (isOwnApp(spec.name)) continue;
      const other = definedIn.get(spec.name);
      if (other !== undefined) {
        throw new RedundancyError('ECOSYSTEM_INVALID', `${file}: app "${spec.name}" is also defined in ${other}`);
      }
      definedIn.set(spec.name, file);
      const id = unitId('pm2', spec.name);
      if (unitConfig(config, id).ignore) continue;
      const unit: Pm2Unit = { id, kind: 'pm2', name: spec.name, source: line === undefined ? { file } : { file, line }, app: spec };
      if (spec.cronRestart !== undefined) unit.schedule = spec.cronRestart;
      units.push(unit);
    }
  }
  return units;
}

async function filesToRead(config: CompiledConfig): Promise<string[]> {
  const configured = config.sources.pm2.ecosystem;
  // The compiled config does not say whether the list was written or defaulted; the default list is recognisable.
  const defaults = defaultEcosystemFiles(config.cwd);
  const isDefault = configured.length === defaults.length && configured.every((file, i) => file === defaults[i]);
  if (isDefault) {
    for (const file of configured) if (await exists(file)) return [file];
    return [];
  }
  for (const file of configured) {
    if (await exists(file)) continue;
    const label = config.file === undefined ? defaultsLabel : relative(config.cwd, config.file) || config.file;
    throw new RedundancyError('CONFIG_INVALID', `${label}: sources.pm2.ecosystem: file not found: ${file}`);
  }
  return configured;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch (error) {
    // Only "missing" means missing; any other failure is left for the loader to report.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
