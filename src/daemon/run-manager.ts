import type { Server } from 'node:http';
import { Pm2ProcessManager } from '../kinds/pm2/pm2-client.js';
import { systemClock } from '../core/clock.js';
import type { CompiledConfig } from '../core/config-types.js';
import type { ManagerReport } from '../core/report-types.js';
import { errorMessage, RedundancyError } from '../core/errors.js';
import { flushLogger, type Logger } from '../store/logger.js';
import { readPauses } from '../store/pause-file.js';
import { acquireStateLock } from '../store/state-lock.js';
import { askManager } from './control-client.js';
import { leaseApps, openFaultedKinds, openSupervisor } from './compose.js';
import { HostRuntime } from '../hosts/host-runtime.js';
import { mirrorJobs, StandbyMirror } from '../hosts/standby-mirror.js';
import { reloadConfig, type ReloadResult } from './reload.js';
import { UnitQueue } from './unit-queue.js';
import { controlSocketPath } from './control-socket.js';
import { startControlServer } from './control-server.js';
import { withInjectedFault } from './fault-injection.js';
import { Alerts, resolveChannels } from './alerts.js';
import { watchedPaths, watchSources } from './config-watch.js';
import { Observability } from './observability.js';
import { Drills } from './drills.js';
import { version } from '../version.js';
import { loadInventory } from './inventory.js';
import { Pm2Reconnector } from '../kinds/pm2/pm2-reconnect.js';

/**
 * The manager in this process: one health round every `checkInterval`, PM2 bus events in between,
 * the control socket for the CLI. SIGTERM/SIGINT stop it cleanly and leave the active side running.
 */
export async function runManager(config: CompiledConfig, logger: Logger): Promise<void> {
  const socketPath = controlSocketPath(config.stateDir);
  const running = await askManager(socketPath, 'GET', '/status', 2_000).catch(() => undefined);
  if (running) {
    const pid = (running.body as { manager?: { pid?: number } }).manager?.pid;
    throw new RedundancyError('USAGE', `a manager is already running for ${config.cwd} (pid ${pid ?? 'unknown'})`);
  }
  const lock = await acquireStateLock(config.stateDir);
  if (!lock.acquired) throw new RedundancyError('USAGE', `a manager is already running for ${config.cwd} (pid ${lock.heldBy})`);
  try {
    await supervise(config, logger, socketPath);
  } finally {
    await lock.release();
  }
}

async function supervise(startConfig: CompiledConfig, logger: Logger, socketPath: string): Promise<void> {
  let config = startConfig;
  // Listening from the first moment: a stop during start-up finishes starting, then stops cleanly.
  const stopSignal = waitForStopSignal();
  const startedAt = Date.now();
  const manager: ManagerReport = { pid: process.pid, version, startedAt: new Date(startedAt).toISOString() };
  const observability = new Observability(config, manager, logger);
  // Multi-host: every unit that follows the lease stays parked until this host leads.
  const host = config.host ? new HostRuntime({ config: config.host, stateDir: config.stateDir, logsDir: config.logsDir, logger, apps: [] }) : undefined;
  const alerts = new Alerts(config, resolveChannels(config), { clock: systemClock, logger, metrics: observability.metrics, manager, ...(host && { epoch: () => host.epoch() }) });
  const pm = await Pm2ProcessManager.connect({ startDaemon: true });
  const units = await loadInventory(config, { pm, notes: (line) => logger.warn(line) });
  let pauses = await readPauses(config.stateDir, (line) => logger.warn(line));
  host?.setApps(leaseApps(config, units));
  // Bound once the supervisor exists: each needs the other (the report shows the last drills).
  let drills: Drills | undefined;
  const supervisor = openSupervisor({
    ...(host && { host }),
    drills: () => drills?.summaries() ?? {},
    manager,
    observer: observability.observer({ report: (report) => alerts.report(report), sample: (id, sample, state) => alerts.sample(id, sample, state) }),
    pauses: () => pauses,
    config,
    units,
    pm: withInjectedFault(pm, process.env.REDUNDANCY_FAULT),
    fault: process.env.REDUNDANCY_FAULT,
    logger,
    clock: systemClock,
    startedAt,
  });
  drills = new Drills({
    supervisor,
    metrics: observability.metrics,
    notify: (record) => alerts.drill(record),
    logsDir: () => config.logsDir,
    config: () => config.drills,
    clock: systemClock,
    logger,
  });
  await drills.load();
  // Rounds and reloads take turns: a reload swaps the units a round would be looking at.
  const serial = new UnitQueue();
  // Watching follows the config: a reload may turn it on or off, or change what is watched.
  let watcher: { close(): Promise<void> } | undefined;
  let watching = '';
  const rewatch = async () => {
    const wanted = config.watch ? JSON.stringify(watchedPaths(config)) : '';
    if (wanted === watching) return;
    await watcher?.close();
    watcher = config.watch ? watchSources(config, () => void reload(), logger) : undefined;
    watching = wanted;
  };
  const reload = (): Promise<ReloadResult> =>
    serial.run('supervisor', async () => {
      const result = await reloadConfig({
        current: config,
        pm,
        logger,
        apply: async (next, nextUnits) => {
          const token = Observability.tokenOf(next);
          const channels = resolveChannels(next);
          host?.setApps(leaseApps(next, nextUnits));
          const kinds = openFaultedKinds({ ...(host && { host }), config: next, units: nextUnits, pm: withInjectedFault(pm, process.env.REDUNDANCY_FAULT), fault: process.env.REDUNDANCY_FAULT, logger, clock: systemClock, startedAt });
          const swapped = await supervisor.replaceKinds(kinds);
          config = next;
          await observability.reconfigure(next, token);
          await alerts.reconfigure(next, channels);
          return swapped;
        },
      });
      manager.reload = result.ok ? { at: result.at, ok: true } : { at: result.at, ok: false, error: result.error };
      observability.metrics.configReloaded(result.ok);
      if (!result.ok) alerts.configError(`reload refused, the running config stays: ${result.error}`);
      else await rewatch();
      supervisor.refreshReport();
      return result;
    });
  // What was already notified is loaded before init() finishes a half-done transition and reports it.
  await alerts.start();
  // The socket answers from the start, so a CLI never mistakes a manager still starting for none.
  const ready = supervisor.init();
  ready.catch(() => undefined); // awaited below; this only keeps a failed init from counting as unhandled meanwhile
  const server = await startControlServer(socketPath, {
    status: async () => (await ready, supervisor.report()),
    check: async () => (await ready, serial.run('supervisor', () => supervisor.round())),
    manual: async (unit, action) => {
      await ready;
      const record = await supervisor.manual(unit, action);
      return { state: record.state.kind, reason: record.reason };
    },
    hasUnit: (unit) => supervisor.has(unit),
    ...(host && {
      host: async (action: 'promote' | 'demote') => {
        await ready;
        return { message: action === 'promote' ? await host.promote(3 * (config.host?.lease.ttlMs ?? 10_000)) : await host.demote() };
      },
    }),
    drill: async (unit, dryRun) => (await ready, drills.drill(unit, { dryRun })),
    reload: async () => (await ready, reload()),
    pauses: async () => {
      const before = pauses;
      pauses = await readPauses(config.stateDir, (line) => logger.warn(line));
      alerts.paused(before, pauses);
      logger.info({ pauses }, 'pauses read');
      await ready;
      return supervisor.refreshReport();
    },
  });
  await ready;
  host?.start({ activate: () => supervisor.activate(), park: () => supervisor.park() });
  // A standby keeps a copy of the active host's data when the config has mirror jobs and `host.mirrorEvery`.
  const standbyMirror = host && config.host?.mirrorEveryMs !== undefined && mirrorJobs(config).length > 0
    ? new StandbyMirror({ config, everyMs: config.host.mirrorEveryMs, logger, standingBy: () => !host.acting(), onStatus: (status) => host.setMirror(status) })
    : undefined;
  await standbyMirror?.start();
  await observability.start(() => supervisor.report());
  const unsubscribe = supervisor.listen();
  // A lost daemon took the apps with it: reconnect (starting one), then restore each unit's side.
  const reconnector = new Pm2Reconnector({ pm, logger, restored: () => supervisor.resync() });
  logger.info({ units: units.map((u) => u.id), socket: socketPath, pid: process.pid }, 'manager started');
  const round = async () => {
    const report = await supervisor.round();
    await host?.round(report);
    return report;
  };
  const loop = startRounds(() => serial.run('supervisor', round), reconnector, () => config.checkIntervalMs, logger);
  const onHangup = () => void reload();
  process.on('SIGHUP', onHangup);
  await rewatch();
  await stopSignal;
  process.off('SIGHUP', onHangup);
  await watcher?.close();
  logger.info(host ? 'manager stopping; the lease is given up and the units that follow it stop' : 'manager stopping; the active side of every unit keeps running');
  loop.stop();
  // The lease is given up with the units stopped first, so another host takes over at once.
  standbyMirror?.stop();
  await host?.stop();
  await reconnector.stop();
  // A drill under way puts its unit back and answers its CLI before the socket closes.
  await drills.stop();
  await closeServer(server);
  await observability.close();
  unsubscribe();
  await supervisor.drain();
  await alerts.close();
  await pm.close();
  await flushLogger(logger);
}

/**
 * One round now, then one every `intervalMs`; none while PM2 is lost (the reconnect restores the
 * units), and a failed round whose daemon no longer answers starts the reconnect.
 */
function startRounds(round: () => Promise<unknown>, reconnector: Pm2Reconnector, intervalMs: () => number, logger: Logger): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const once = async () => {
    if (reconnector.down) return;
    try {
      await round();
    } catch (error) {
      await reconnector.check();
      // Said once for a lost daemon (by the reconnect), not on every round.
      if (!reconnector.down) logger.error({ err: errorMessage(error) }, 'health round failed');
    }
  };
  // A chain of timeouts, not an interval: a slow round never overlaps the next.
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => void once().finally(next), intervalMs());
  };
  void once().finally(next);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
