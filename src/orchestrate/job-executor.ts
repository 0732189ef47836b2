import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import type { LedgerEvent } from '../core/schedule/ledger-event.js';
import { mirrorMain } from '../mirror/mirror.js';
import { runRecorded } from '../schedule/run-wrapper.js';
import { newRunId, type Ledger } from '../store/ledger.js';
import { isProcessAlive } from '../store/process-alive.js';
import { runInProgress } from './in-progress.js';
import type { JobResult } from './outcome.js';
import type { PlannedJob } from './plan.js';
import type { JobExecutor } from './runner.js';

/** How a cron or script unit's command runs (the crontab line's shell and env, or node and the script). */
export interface UnitCommand {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  input?: string;
}

export interface ExecutorOptions {
  cwd: string;
  ledger: Ledger;
  units: ReadonlyMap<string, UnitCommand>;
  /** Which side of the unit runs now: the twin's while it is on its twin. */
  sideOf(unitId: string): Promise<'primary' | 'twin'>;
  /** Stream the jobs' output, each line prefixed with the job's name. */
  verbose: boolean;
  /** One line when the ledger cannot be written. */
  warn(line: string): void;
  /** Wait between SIGTERM and SIGKILL when a job is stopped. @default 5000 */
  killAfterMs?: number;
  host?: string;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
/** The compiled entry point beside this file (dist/orchestrate/...). */
const prefixMain = here('./prefix-output.js');

/**
 * Runs each job through `runRecorded` (own process group, timeout that stops the group, start and
 * end in the ledger); a job whose ledger shows a run of it still under way on this host is
 * `skipped`. The abort signal stops the running groups (SIGTERM, then SIGKILL) and records those
 * runs as `interrupted`.
 */
export function createExecutor(opts: ExecutorOptions): JobExecutor {
  const host = opts.host ?? hostname();
  const killAfterMs = opts.killAfterMs ?? 5_000;
  return {
    async run(job, { signal, started }): Promise<JobResult> {
      const result = (status: JobResult['status'], extra: Partial<JobResult> = {}): JobResult => ({ name: job.name, status, exitCode: null, durationMs: null, reason: null, ...extra });
      if (signal.aborted) return result('notRun', { reason: 'interrupted before it started' });
      const running = runInProgress((await opts.ledger.read(job.ledgerId).catch(() => ({ events: [] as LedgerEvent[] }))).events, host, isProcessAlive);
      const side = job.kind === 'unit' ? await opts.sideOf(job.unit) : 'primary';
      if (running) {
        const reason = `already running (pid ${running.pid} since ${new Date(running.at).toISOString()}): not started twice`;
        await opts.ledger.append(skippedLine(job.ledgerId, side, host, reason)).catch((error: unknown) => opts.warn(`ledger not written: ${errorMessage(error)}`));
        return result('skipped', { reason });
      }
      const how = commandOf(job, opts, side);
      if (typeof how === 'string') return result('failed', { reason: how });
      const argv = opts.verbose ? [process.execPath, prefixMain, `[${job.stage}/${job.name}]`, ...how.argv] : how.argv;

      // The ledger as runRecorded writes it, seen on the way: the pid (to stop the group), the end's reason.
      let pid: number | undefined;
      let interrupted = false;
      let endReason: string | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      let ended = false;
      const stop = () => {
        // A job whose end is written finished by itself, whatever comes after.
        if (ended) return;
        interrupted = true;
        if (pid === undefined) return;
        signalGroup(pid, 'SIGTERM');
        killTimer ??= setTimeout(() => signalGroup(pid!, 'SIGKILL'), killAfterMs);
      };
      const ledger = {
        append: async (event: LedgerEvent) => {
          if (event.event === 'start') {
            pid = event.pid ?? undefined;
            started();
            if (interrupted) stop();
          }
          if (event.event === 'end') {
            ended = true;
            endReason = event.reason;
            if (interrupted) event = { ...event, event: 'interrupted', reason: `orchestrate was interrupted${event.reason ? ` (${event.reason})` : ''}` };
          }
          await opts.ledger.append(event);
        },
        appendSync: (event: LedgerEvent) => opts.ledger.appendSync(event),
      };
      signal.addEventListener('abort', stop, { once: true });
      try {
        const outcome = await runRecorded({
          unit: job.ledgerId, side, command: argv, cwd: how.cwd, env: how.env, ledger, gate: { run: true }, slot: null,
          timeoutMs: job.timeoutMs, killAfterMs, host, warn: opts.warn, stdio: opts.verbose ? 'inherit' : 'pipe', forwardSignals: false,
          ...(how.input !== undefined && { input: how.input }),
        });
        const exitCode = outcome.exitCode;
        const common = { exitCode, durationMs: outcome.durationMs };
        if (interrupted) return result('interrupted', { ...common, reason: 'its process group was stopped' });
        if (outcome.timedOut) return result('timedOut', { ...common, reason: `timed out after ${formatDuration(job.timeoutMs)}: its process group was stopped` });
        if (exitCode === 0) return result('successful', common);
        return result('failed', { ...common, reason: endReason ?? `exit ${exitCode}` });
      } finally {
        signal.removeEventListener('abort', stop);
        clearTimeout(killTimer);
        // A group member that outlived an interrupted leader gets no second chance.
        if (interrupted && pid !== undefined) signalGroup(pid, 'SIGKILL');
      }
    },
  };
}

function commandOf(job: PlannedJob, opts: ExecutorOptions, side: 'primary' | 'twin'): UnitCommand | string {
  switch (job.kind) {
    case 'run':
      return { argv: ['/bin/sh', '-c', job.command], cwd: opts.cwd, env: {} };
    case 'mirror':
      return { argv: [process.execPath, mirrorMain, JSON.stringify(job.mirror)], cwd: opts.cwd, env: {} };
    case 'unit': {
      const unit = opts.units.get(job.unit);
      if (!unit) return `unit ${job.unit} is not in the inventory any more`;
      // Like the manager's twin runs: a twin run knows it is one.
      return side === 'twin' ? { ...unit, env: { ...unit.env, REDUNDANCY_ROLE: 'backup', REDUNDANCY_PRIMARY: job.unit } } : unit;
    }
  }
}

function skippedLine(unit: string, side: 'primary' | 'twin', host: string, reason: string): LedgerEvent {
  return { run: newRunId(), unit, side, event: 'skipped', at: Date.now(), slot: null, pid: null, exitCode: null, signal: null, durationMs: null, host, reason };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone.
  }
}

