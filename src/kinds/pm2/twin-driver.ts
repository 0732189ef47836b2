import { readFileSync } from 'node:fs';
import { RedundancyError } from '../../core/errors.js';
import type { ProcessManager } from '../../core/ports.js';
import type { TwinPlan } from './twin-plan.js';
import type { ProcessView } from '../../core/types.js';

/** How one twin is put to work and put back on standby; `effective` is its status as the manager reports it. */
export interface TwinDriver {
  effective(view: ProcessView | undefined): TwinStatus;
  needsActivate(status: TwinStatus): boolean;
  needsStandby(status: TwinStatus): boolean;
  activate(pm: ProcessManager, view: ProcessView | undefined): Promise<void>;
  standby(pm: ProcessManager, view: ProcessView | undefined): Promise<void>;
}

export interface TwinStatus {
  /** PM2's status, or `warm` (parked), `failed` (the app did not load), `missing`. */
  status: string;
  reason?: string;
}

const running = new Set(['online', 'launching']);

/** Registered stopped; activation is a whole start through PM2. */
export function coldTwin(plan: TwinPlan): TwinDriver {
  return {
    effective: (view) => ({ status: view?.status ?? 'missing' }),
    needsActivate: ({ status }) => !running.has(status),
    needsStandby: ({ status }) => status !== 'stopped' && status !== 'errored',
    activate: (pm) => pm.start(plan.twin),
    async standby(pm) {
      // An unregistered twin is registered stopped, so `pm2 status` always lists it.
      await pm.register(plan.twin);
      await pm.stop(plan.twin.name);
    },
  };
}

interface LauncherStatus {
  pid: number;
  state: 'parked' | 'active' | 'failed';
  reason?: string;
}

/** Online in PM2 as a parked launcher; activation is a signal, the app loads in the booted process. */
export function warmTwin(plan: TwinPlan, statusFile: string, timeouts = { parkMs: 10_000, activateMs: 5_000 }): TwinDriver {
  const name = plan.twin.name;
  const launcher = (view: ProcessView | undefined): LauncherStatus | undefined => {
    if (!view || view.status !== 'online' || view.pid <= 0) return undefined;
    const status = readLauncherStatus(statusFile);
    return status?.pid === view.pid ? status : undefined;
  };
  const deadlineError = (what: string, ms: number) => new RedundancyError('PM2_OPERATION', `warm twin ${name} did not ${what} within ${ms}ms`);
  const park = async (pm: ProcessManager, view: ProcessView | undefined): Promise<ProcessView> => {
    // A launcher that ran the app may hold its state: retire it for a fresh one.
    if (view && view.status !== 'stopped') await pm.stop(name);
    await pm.start(plan.twin);
    const deadline = Date.now() + timeouts.parkMs;
    for (;;) {
      // The adapter learns the launcher's pid from PM2's answer and its events: no list per poll.
      const fresh = pm.view(name);
      if (launcher(fresh)?.state === 'parked') return fresh!;
      if (Date.now() > deadline) throw deadlineError('park', timeouts.parkMs);
      await sleep(10);
    }
  };
  /** The launcher answers in its status file: read it, not PM2, on the failover's critical path. */
  const awaitActivation = async (pid: number): Promise<LauncherStatus> => {
    const deadline = Date.now() + timeouts.activateMs;
    for (;;) {
      const status = readLauncherStatus(statusFile);
      if (status?.pid === pid && status.state !== 'parked') return status;
      if (Date.now() > deadline) throw deadlineError('take activation', timeouts.activateMs);
      await sleep(2);
    }
  };
  return {
    effective(view) {
      const status = launcher(view);
      if (!view) return { status: 'missing' };
      if (!status) return { status: view.status === 'online' ? 'launching' : view.status };
      if (status.state === 'parked') return { status: 'warm' };
      if (status.state === 'failed') return { status: 'failed', reason: status.reason };
      return { status: 'online' };
    },
    // A twin whose app failed to load stays failed: starting it again would only loop.
    needsActivate: ({ status }) => status !== 'online' && status !== 'failed',
    needsStandby: ({ status }) => status !== 'warm',
    async activate(pm, view) {
      const current = launcher(view)?.state;
      if (current === 'active' || current === 'failed') return;
      const parked = current === 'parked' ? view! : await park(pm, view);
      process.kill(parked.pid, 'SIGUSR2');
      const status = await awaitActivation(parked.pid);
      if (status.state === 'failed') throw new RedundancyError('PM2_OPERATION', `warm twin ${name}: ${status.reason ?? 'app failed to load'}`);
    },
    async standby(pm, view) {
      await park(pm, view);
    },
  };
}

function readLauncherStatus(file: string): LauncherStatus | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as LauncherStatus;
    return typeof value.pid === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
