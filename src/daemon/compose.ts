import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { CompiledConfig } from '../core/config-types.js';
import type { UnitRecord } from '../core/failover.js';
import type { KindRuntime } from '../core/kind.js';
import type { ProcessManager } from '../core/ports.js';
import type { Pauses } from '../core/pause.js';
import type { DrillSummary, ManagerReport } from '../core/report-types.js';
import { decodeRecord } from '../core/record-codec.js';
import type { Pm2Unit } from '../core/types.js';
import { unitConfig } from '../core/config-types.js';
import { cronUnitSpec, planCronTwin, type CronTwinPlan } from '../kinds/cron/cron-twin.js';
import { githubRuntime } from '../kinds/github/github-units.js';
import { netlifyRuntime } from '../kinds/netlify/netlify-units.js';
import { dryRunProcessManager } from '../kinds/pm2/dry-run.js';
import { planScriptTwin, scriptUnitSpec, type ScriptTwinPlan } from '../kinds/script/script-twin.js';
import { ScheduleRuntime } from '../schedule/schedule-kind.js';
import { Ledger } from '../store/ledger.js';
import { Pm2Runtime, type Pm2RuntimeOptions } from '../kinds/pm2/pm2-kind.js';
import { planPm2Twins, pm2UnitSpecs } from '../kinds/pm2/pm2-units.js';
import type { TwinPlan } from '../kinds/pm2/twin-plan.js';
import type { Logger } from '../store/logger.js';
import { ReportWriter } from '../store/report-writer.js';
import { StateStore } from '../store/state-store.js';
import { version } from '../version.js';
import { unitsOfKind, type Unit } from './inventory.js';
import { withEffectFault } from './fault-injection.js';
import type { HostGate } from '../core/host-gate.js';
import { Supervisor, type SupervisorObserver } from './supervisor.js';

export { warmLaunch } from '../kinds/pm2/pm2-units.js';

export function stateFile(config: CompiledConfig): string {
  return join(config.stateDir, 'state.json');
}

/** The PM2 twins of the inventory's PM2 units. */
export function planUnitTwins(config: CompiledConfig, units: readonly Unit[]): TwinPlan[] {
  return planPm2Twins(config, unitsOfKind(units, 'pm2'));
}

export function ledgerDir(config: CompiledConfig): string {
  return join(config.stateDir, 'ledger');
}

/** Where script wrappers are written: beside the PM2 twins file. */
export function scriptWrappersDir(config: CompiledConfig): string {
  return join(config.cwd, 'automation', 'redundancy', 'scripts');
}

export function planCronTwins(config: CompiledConfig, units: readonly Unit[]): CronTwinPlan[] {
  return unitsOfKind(units, 'cron').map((unit) => planCronTwin(unit, config.schedules.throttle.cron));
}

export function planScriptTwins(config: CompiledConfig, units: readonly Unit[]): ScriptTwinPlan[] {
  return unitsOfKind(units, 'script').map((unit) => planScriptTwin(unit, scriptWrappersDir(config), config.schedules.throttle.script));
}

export interface OpenOptions {
  config: CompiledConfig;
  units: Unit[];
  /** The PM2 daemon; needed when the inventory has PM2 units. */
  pm?: ProcessManager;
  logger: Logger;
  clock: Clock;
  startedAt: number;
  /** Read everything, change nothing: PM2 calls, runs, state and reports are only said. */
  dryRun?: (action: string) => void;
  /** Crash testing: `REDUNDANCY_FAULT`'s kill points around effects (fault-injection.ts). */
  fault?: string;
  /** The manager's line of the report; kept by the caller, which adds what it learns (the listener). */
  manager?: ManagerReport;
  /** Maintenance pauses in force. */
  pauses?: () => Pauses;
  observer?: SupervisorObserver;
  /** Multi-host: the lease's gate, and what the state file keeps of it. */
  host?: HostGate & { stateExtra(): Record<string, unknown> };
  /** The last drill of each unit, for the report. */
  drills?: () => Record<string, DrillSummary>;
  /** When rounds list every PM2 app (see Pm2RuntimeOptions). */
  fullList?: Pick<Pm2RuntimeOptions, 'fullListEveryMs' | 'smallDaemonApps'>;
}

/** One runtime per kind the inventory has; adding a kind is one line here. */
export function openKinds(opts: OpenOptions): KindRuntime[] {
  const { config, logger, clock, dryRun } = opts;
  const kinds: KindRuntime[] = [];
  const pm2Units: Pm2Unit[] = unitsOfKind(opts.units, 'pm2');
  if (opts.pm) {
    const pm = dryRun ? dryRunProcessManager(opts.pm, dryRun) : opts.pm;
    kinds.push(new Pm2Runtime({ pm, units: pm2UnitSpecs(config, pm2Units), clock, logger, ...opts.fullList }));
  }
  const host = opts.host;
  const ledger = new Ledger({ dir: ledgerDir(config), ...(host && { epoch: () => host.epoch() }) });
  const timing = { graceMs: config.schedules.graceMs, maxRuntimeMs: config.schedules.maxRuntimeMs };
  const scheduled = { ledger, timing, clock, logger, host: config.host?.name ?? hostname(), ...(dryRun && { dryRun }) };
  const settings = (id: string) => unitConfig(config, id);
  const policy = (id: string) => ({ ...settings(id).policy, overlap: settings(id).overlap });
  const cronUnits = unitsOfKind(opts.units, 'cron');
  const cronPlans = planCronTwins(config, cronUnits);
  const cronSpecs = cronUnits.map((u, i) => cronUnitSpec(u, cronPlans[i]!, policy(u.id), settings(u.id).trialRun));
  if (cronSpecs.length > 0) kinds.push(new ScheduleRuntime({ kind: 'cron', units: cronSpecs, ...scheduled }));
  const scriptUnits = unitsOfKind(opts.units, 'script');
  const scriptPlans = planScriptTwins(config, scriptUnits);
  const scriptSpecs = scriptUnits.map((u, i) => scriptUnitSpec(u, scriptPlans[i]!, policy(u.id), config.cwd, settings(u.id).trialRun));
  if (scriptSpecs.length > 0) kinds.push(new ScheduleRuntime({ kind: 'script', units: scriptSpecs, ...scheduled }));
  const workflows = unitsOfKind(opts.units, 'github');
  if (workflows.length > 0) kinds.push(githubRuntime(config, workflows, { clock, logger }));
  const functions = unitsOfKind(opts.units, 'netlify');
  if (functions.length > 0) kinds.push(netlifyRuntime(config, functions, { clock, logger, ledger }));
  return kinds;
}

/** The kinds with the crash-test kill points armed, as a supervisor gets them at start and at a reload. */
export function openFaultedKinds(opts: OpenOptions): KindRuntime[] {
  const kinds = openKinds(opts);
  withEffectFault(kinds, opts.fault);
  return kinds;
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
  const host = opts.host;
  const store = new StateStore<UnitRecord>({ file: stateFile(config), validateUnit: decodeRecord, logger, ...(host && { extra: () => host.stateExtra() }) });
  const kinds = openFaultedKinds(opts);
  return new Supervisor({
    kinds,
    store: dryRun ? { load: (now) => store.load(now), save: async () => undefined } : store,
    reports: dryRun ? { write: async () => undefined } : reports,
    logger,
    clock: opts.clock,
    manager: opts.manager ?? { pid: process.pid, version, startedAt: new Date(opts.startedAt).toISOString() },
    ...(opts.pauses && { pauses: opts.pauses }),
    ...(opts.observer && { observer: opts.observer }),
    ...(host && { host }),
    ...(opts.drills && { drills: opts.drills }),
  });
}

/** The PM2 apps, primaries and twins, of the units that follow a multi-host lease: what the watchdog stops. */
export function leaseApps(config: CompiledConfig, units: readonly Unit[]): string[] {
  const host = config.host;
  if (!host) return [];
  const follows = (id: string) => host.units === 'all' || host.units.includes(id);
  return planUnitTwins(config, units).filter((plan) => follows(plan.unitId)).flatMap((plan) => [plan.primary, plan.twin.name]);
}
