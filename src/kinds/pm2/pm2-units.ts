import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unitConfig, type CompiledConfig } from '../../core/config-types.js';
import type { Pm2Unit } from '../../core/types.js';
import { makeProbe } from '../../probe/make-probe.js';
import type { Pm2UnitSpec } from './pm2-kind.js';
import { coldTwin, warmTwin } from './twin-driver.js';
import { planTwins, type TwinPlan, type WarmLaunch } from './twin-plan.js';

/** The standby launcher of warm twins, and where each reports whether it is parked. */
export function warmLaunch(config: CompiledConfig): WarmLaunch {
  return {
    launcher: fileURLToPath(new URL('../../warm/launcher.cjs', import.meta.url)),
    statusFile: (twin) => join(config.stateDir, 'warm', `${twin}.json`),
  };
}

/** Every twin as configured: cold, or warm where the unit asks and the launcher can serve it. */
export function planPm2Twins(config: CompiledConfig, units: readonly Pm2Unit[]): TwinPlan[] {
  return planTwins(units, (unit) => unitConfig(config, unit.id).twinMode, warmLaunch(config));
}

/** Each PM2 unit with its twin plan, the driver of that twin, its probe and its policy. */
export function pm2UnitSpecs(config: CompiledConfig, units: readonly Pm2Unit[]): Pm2UnitSpec[] {
  const plans = planPm2Twins(config, units);
  const warm = warmLaunch(config);
  return units.map((unit, i) => {
    const settings = unitConfig(config, unit.id);
    const twin = plans[i]!;
    return {
      unit,
      twin,
      driver: twin.mode === 'warm' ? warmTwin(twin, warm.statusFile(twin.twin.name)) : coldTwin(twin),
      probe: settings.probe ? makeProbe(settings.probe, config.cwd) : undefined,
      policy: { ...settings.policy, overlap: settings.overlap },
    };
  });
}
