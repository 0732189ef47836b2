import type { Server } from 'node:http';
import { Pm2ProcessManager } from '../adapters/pm2/pm2-client.js';
import { systemClock } from '../core/clock.js';
import type { CompiledConfig } from '../core/config-types.js';
import { errorMessage, RedundancyError } from '../core/errors.js';
import { flushLogger, type Logger } from '../store/logger.js';
import { askManager } from '../cli/control-client.js';
import { openSupervisor } from './compose.js';
import { controlSocketPath } from './control-socket.js';
import { startControlServer } from './control-server.js';
import { withInjectedFault } from './fault-injection.js';
import { loadInventory } from './inventory.js';
import type { Supervisor } from './supervisor.js';

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
  const startedAt = Date.now();
  const pm = await Pm2ProcessManager.connect({ startDaemon: true });
  const units = await loadInventory(config, pm);
  const supervisor = openSupervisor({
    config,
    units,
    pm: withInjectedFault(pm, process.env.REDUNDANCY_FAULT),
    logger,
    clock: systemClock,
    startedAt,
  });
  await supervisor.init();
  const unsubscribe = pm.onEvent((event) => supervisor.handleProcessEvent(event));
  const server = await startControlServer(socketPath, {
    status: () => supervisor.report(),
    check: () => supervisor.round(),
    manual: async (unit, action) => {
      const record = await supervisor.manual(unit, action);
      return { state: record.state.kind, reason: record.reason };
    },
    hasUnit: (unit) => supervisor.has(unit),
  });
  logger.info({ units: units.map((u) => u.id), socket: socketPath, pid: process.pid }, 'manager started');
  await supervisor.round().catch((error: unknown) => logger.error({ err: errorMessage(error) }, 'health round failed'));
  const loop = startRounds(supervisor, config.checkIntervalMs, logger);
  await waitForStopSignal();
  logger.info('manager stopping; the active side of every unit keeps running');
  loop.stop();
  await closeServer(server);
  unsubscribe();
  await supervisor.drain();
  await pm.close();
  await flushLogger(logger);
}

function startRounds(supervisor: Supervisor, intervalMs: number, logger: Logger): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // A chain of timeouts, not an interval: a slow round never overlaps the next.
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      supervisor
        .round()
        .catch((error: unknown) => logger.error({ err: errorMessage(error) }, 'health round failed'))
        .finally(next);
    }, intervalMs);
  };
  next();
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
