import { systemClock } from '../../core/clock.js';
import { RedundancyError } from '../../core/errors.js';
import { statusExitCode } from '../../core/health.js';
import type { HealthReport } from '../../core/report-types.js';
import { openSupervisor } from '../../daemon/compose.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import { loadInventory } from '../../daemon/inventory.js';
import type { Supervisor } from '../../daemon/supervisor.js';
import { isProcessAlive } from '../../store/process-alive.js';
import { acquireStateLock } from '../../store/state-lock.js';
import { askManager } from '../../daemon/control-client.js';
import { waitForManager } from '../wait-manager.js';
import { connectIfRunning, type Context } from '../context.js';
import { formatStatus } from '../format.js';

/**
 * Runs `work` in the manager when one is running, else in this process over the same
 * supervisor, so a manual switch or a check never needs a second code path.
 */
async function inManagerOrHere<T>(
  ctx: Context,
  dryRun: boolean,
  viaManager: () => Promise<T | undefined>,
  here: (supervisor: Supervisor) => Promise<T>,
): Promise<T> {
  if (dryRun) return runHere(ctx, here, true);
  const answer = await viaManager();
  if (answer !== undefined) return answer;
  const lock = await acquireStateLock(ctx.config.stateDir);
  if (!lock.acquired) {
    // A manager holds the state but its socket did not answer yet: it is starting. Ask it, not around it.
    await waitForManager(controlSocketPath(ctx.config.stateDir), 30_000, async () => isProcessAlive(lock.heldBy));
    const retried = await viaManager();
    if (retried !== undefined) return retried;
    throw new RedundancyError('MANAGER_UNREACHABLE', `the manager (pid ${lock.heldBy}) holds ${ctx.config.stateDir} but does not answer`);
  }
  try {
    return await runHere(ctx, here, false);
  } finally {
    await lock.release();
  }
}

async function runHere<T>(ctx: Context, here: (supervisor: Supervisor) => Promise<T>, dryRun: boolean): Promise<T> {
  const pm = await connectIfRunning();
  try {
    const units = await loadInventory(ctx.config, pm);
    // PM2 units need their daemon; a project of cron lines and scripts does not.
    if (!pm && units.some((u) => u.kind === 'pm2')) {
      throw new RedundancyError('PM2_UNAVAILABLE', 'PM2 is not running: start the manager (`redundancy start`) or PM2 first');
    }
    const supervisor = openSupervisor({
      config: ctx.config,
      units,
      ...(pm && { pm }),
      logger: ctx.logger,
      clock: systemClock,
      startedAt: Date.now(),
      dryRun: dryRun ? (action) => ctx.say(action) : undefined,
    });
    await supervisor.init();
    try {
      return await here(supervisor);
    } finally {
      await supervisor.drain();
    }
  } finally {
    await pm?.close();
  }
}

export async function checkCommand(ctx: Context, opts: { dryRun?: boolean }): Promise<number> {
  const socket = controlSocketPath(ctx.config.stateDir);
  const report = await inManagerOrHere<HealthReport>(
    ctx,
    opts.dryRun === true,
    async () => {
      const answer = await askManager(socket, 'POST', '/check');
      return answer ? unwrap<HealthReport>(answer) : undefined;
    },
    (supervisor) => supervisor.round(),
  );
  ctx.result(report, formatStatus(report, true, Date.now()));
  // A check run here stands in for the manager: judge the units, not the manager's absence.
  return statusExitCode(report, true);
}

export async function switchCommand(ctx: Context, unit: string, action: 'failover' | 'failback', opts: { dryRun?: boolean }): Promise<number> {
  const pm = await connectIfRunning();
  const known = await loadInventory(ctx.config, pm).finally(() => pm?.close());
  if (!known.some((u) => u.id === unit)) throw unknownUnit(unit);
  const socket = controlSocketPath(ctx.config.stateDir);
  const result = await inManagerOrHere<{ state: string; reason: string }>(
    ctx,
    opts.dryRun === true,
    async () => {
      const answer = await askManager(socket, 'POST', `/${action}/${encodeURIComponent(unit)}`);
      return answer ? unwrap(answer) : undefined;
    },
    async (supervisor) => {
      const record = await supervisor.manual(unit, action);
      return { state: record.state.kind, reason: record.reason };
    },
  );
  ctx.result({ unit, ...result }, `${unit}: ${result.state} (${result.reason})`);
  return 0;
}

function unwrap<T>(answer: { status: number; body: unknown }): T {
  if (answer.status === 200) return answer.body as T;
  const error = (answer.body as { error?: { code?: string; message?: string } }).error;
  const code = error?.code === 'ILLEGAL_TRANSITION' || error?.code === 'UNKNOWN_UNIT' ? error.code : 'MANAGER_UNREACHABLE';
  throw new RedundancyError(code, error?.message ?? `manager answered ${answer.status}`);
}

function unknownUnit(unit: string): RedundancyError {
  return new RedundancyError('UNKNOWN_UNIT', `unknown unit ${unit}; see \`redundancy inventory\``);
}
