import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeProbe } from '../adapters/probe/make-probe.js';
import type { Clock } from '../core/clock.js';
import { unitConfig, type CompiledConfig } from '../core/config-types.js';
import type { UnitRecord } from '../core/failover.js';
import type { ProcessManager } from '../core/ports.js';
import { decodeRecord } from '../core/record-codec.js';
import { planTwins, type TwinPlan, type WarmLaunch } from '../core/twin-plan.js';
import type { Pm2Unit } from '../core/types.js';
import type { Logger } from '../store/logger.js';
import { ReportWriter } from '../store/report-writer.js';
import { StateStore } from '../store/state-store.js';
import { dryRunProcessManager } from './dry-run.js';
import { Supervisor, unitPolicy, type SupervisedUnit, type SupervisorDeps } from './supervisor.js';
import { coldTwin, warmTwin } from './twin-driver.js';

import { version } from '../version.js';

export function stateFile(config: CompiledConfig): string {
  return join(config.stateDir, 'state.json');
}

/** The standby launcher of warm twins, and where each reports whether it is parked. */
export function warmLaunch(config: CompiledConfig): WarmLaunch {
  return {
    launcher: fileURLToPath(new URL('../warm/launcher.cjs', import.meta.url)),
    statusFile: (twin) => join(config.stateDir, 'warm', `${twin}.json`),
  };
}

/** Every twin as configured: cold, or warm where the unit asks and the launcher can serve it. */
export function planUnitTwins(config: CompiledConfig, units: readonly Pm2Unit[]): TwinPlan[] {
  return planTwins(units, (unit) => unitConfig(config, unit.id).twinMode, warmLaunch(config));
}

export function supervisedUnits(config: CompiledConfig, units: Pm2Unit[]): SupervisedUnit[] {
  const plans = planUnitTwins(config, units);
  const warm = warmLaunch(config);
  return units.map((unit, i) => {
    const probe = unitConfig(config, unit.id).probe;
    const twin = plans[i]!;
    return {
      unit,
      twin,
      driver: twin.mode === 'warm' ? warmTwin(twin, warm.statusFile(twin.twin.name)) : coldTwin(twin),
      probe: probe ? makeProbe(probe, config.cwd) : undefined,
      policy: unitPolicy(config, unit.id),
    };
  });
}

export interface OpenOptions {
  config: CompiledConfig;
  units: Pm2Unit[];
  pm: ProcessManager;
  logger: Logger;
  clock: Clock;
  startedAt: number;
  /** Read everything, change nothing: PM2 calls, state and reports are only said. */
  dryRun?: (action: string) => void;
  /** When rounds list every PM2 app (see SupervisorDeps). */
  fullList?: Pick<SupervisorDeps, 'fullListEveryMs' | 'smallDaemonApps'>;
}

/** Wires a Supervisor over real or dry-run adapters; the daemon and one-off CLI commands share it. */
export function openSupervisor(opts: OpenOptions): Supervisor {
  const { config, logger, dryRun } = opts;
  // The writer reports a run of failures once, not every round.
  const reports = new ReportWriter({
    logsDir: config.logsDir,
    historyMaxBytes: config.history.maxBytes,
    historyKeep: config.history.keep,
    onError: (error) => logger.error({ err: error.message }, 'health report not written; supervision goes on'),
    onRecover: () => logger.info('health report written again'),
  });
  const store = new StateStore<UnitRecord>({ file: stateFile(config), validateUnit: decodeRecord, logger });
  return new Supervisor({
    config,
    units: supervisedUnits(config, opts.units),
    pm: dryRun ? dryRunProcessManager(opts.pm, dryRun) : opts.pm,
    store: dryRun ? { load: (now) => store.load(now), save: async () => undefined } : store,
    reports: dryRun ? { write: async () => undefined } : reports,
    logger,
    clock: opts.clock,
    manager: { pid: process.pid, version, startedAt: new Date(opts.startedAt).toISOString() },
    ...opts.fullList,
  });
}
