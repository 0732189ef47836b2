import { constants } from 'node:os';
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { newRunId, type Ledger, type LedgerEvent } from '../store/ledger.js';

export type GateDecision =
  | { run: true; /** why it ran despite not knowing: fail-open */ reason?: string }
  | { run: false; reason: string };

export interface GateInput {
  side: 'primary' | 'twin';
  /** The unit's failover state kind from state.json; undefined when unknown. */
  state: string | undefined;
  /** now - state file mtime; undefined when unreadable or missing. */
  stateAgeMs: number | undefined;
  staleAfterMs: number;
  /** Run by hand with --twin. */
  manual: boolean;
}

const primaryStates = new Set(['primary', 'probing', 'failing-back']);
const twinStates = new Set(['failing-over', 'backup']);

/**
 * Which side may run now. The primary fails open: when the state is unknown, unreadable or stale
 * it runs, with the reason (a job must never stop because of the tool watching it). The twin never
 * fails open, which would run the job twice; by hand it always runs.
 */
export function decideGate(input: GateInput): GateDecision {
  const { side, state, stateAgeMs, staleAfterMs, manual } = input;
  if (side === 'twin' && manual) return { run: true };
  const unknown =
    stateAgeMs === undefined ? 'no readable state file'
    : stateAgeMs > staleAfterMs ? `state is stale (written ${formatDuration(stateAgeMs)} ago)`
    : state === undefined ? 'no state for the unit'
    : !primaryStates.has(state) && !twinStates.has(state) ? `unknown state ${JSON.stringify(state)}`
    : undefined;
  if (unknown !== undefined) {
    return side === 'primary'
      ? { run: true, reason: `${unknown}: failing open` }
      : { run: false, reason: `${unknown}: the twin never runs on a guess` };
  }
  if (side === 'primary') {
    if (primaryStates.has(state!)) return { run: true };
    return { run: false, reason: state === 'failing-over' ? 'unit is failing over to its twin' : 'unit is on its twin' };
  }
  return twinStates.has(state!) ? { run: true } : { run: false, reason: 'unit is on its primary' };
}

export interface RunRecordedOptions {
  unit: string;
  side: 'primary' | 'twin';
  /** The program and its arguments, or with `shell` the words of a command line. */
  command: string[];
  shell?: boolean;
  cwd: string;
  /** Added to the wrapper's environment. */
  env?: NodeJS.ProcessEnv;
  ledger: Pick<Ledger, 'append' | 'appendSync'>;
  gate: GateDecision;
  slot: number | null;
  /** The command's process group gets SIGTERM after this long, then SIGKILL. No limit when unset. */
  timeoutMs?: number;
  /** Wait between SIGTERM and SIGKILL on timeout. @default 5000 */
  killAfterMs?: number;
  host: string;
  /** Gets one line, once, when the ledger cannot be written. */
  warn: (line: string) => void;
  /** `pipe` hides the output (stdin closed); the last stderr line then goes into a failure's reason. @default 'inherit' */
  stdio?: 'inherit' | 'pipe';
  attempt?: number;
  /**
   * Hand the process's SIGTERM/SIGINT/SIGHUP to the command while it runs. A long-lived process
   * (the manager) may turn it off: its handlers would otherwise also keep it from dying of them.
   * @default true
   */
  forwardSignals?: boolean;
  /** Written to the command's stdin (a crontab line's `%` part), which is then closed. */
  input?: string;
  /** The run id: attempts of one run share it and differ by `attempt`. @default a new one */
  run?: string;
}

export interface RunOutcome {
  /** The command's exit code; 128 + n when killed by signal n; never 0 when it timed out (124). */
  exitCode: number;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  skipped: boolean;
}

type Forwarded = 'SIGTERM' | 'SIGINT' | 'SIGHUP';
interface ActiveRun {
  pid: number | undefined;
  forward: boolean;
  /** Writes `interrupted` synchronously if the wrapper exits before the command does. */
  onExit(): void;
}

const forwarded: Forwarded[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
/** One set of process handlers for all runs under way: no listener per run (100 runs, 100 listeners). */
const active = new Set<ActiveRun>();
let forwarding = false;
const forwardAll = (signal: Forwarded): void => {
  for (const run of active) if (run.forward && run.pid !== undefined) signalGroup(run.pid, signal);
};
const exitAll = (): void => {
  for (const run of active) run.onExit();
};

/**
 * Runs a command for `redundancy run` and records it in the ledger: `skipped` when the gate is
 * closed (exit 0, nothing run), else `start` and `end`. The command runs in its own process group
 * so a timeout kills all it started; the wrapper's SIGTERM/SIGINT/SIGHUP go to that group while it
 * runs, as a terminal's would have. A ledger that cannot be written never stops the command.
 */
export async function runRecorded(opts: RunRecordedOptions): Promise<RunOutcome> {
  const record = recorder(opts.ledger, opts.warn);
  const run = opts.run ?? newRunId();
  const line = (event: LedgerEvent['event'], at: number, over: Partial<LedgerEvent>): LedgerEvent => ({
    run, unit: opts.unit, side: opts.side, event, at, slot: opts.slot, pid: null, exitCode: null, signal: null,
    durationMs: null, host: opts.host, ...(opts.attempt !== undefined && { attempt: opts.attempt }), ...over,
  });
  if (!opts.gate.run) {
    await record.append(line('skipped', Date.now(), { reason: opts.gate.reason }));
    return { exitCode: 0, signal: null, timedOut: false, durationMs: 0, skipped: true };
  }

  // Loaded on first use: the CLI's read-only commands never pay for it.
  const { execa } = await import('execa');
  const startedAt = Date.now();
  const [file = '', ...args] = opts.command;
  const child = execa(file, args, {
    shell: opts.shell ?? false, cwd: opts.cwd, env: opts.env, reject: false, detached: true, buffer: false,
    stdio: [opts.input !== undefined ? 'pipe' : opts.stdio === 'pipe' ? 'ignore' : 'inherit', opts.stdio === 'pipe' ? 'pipe' : 'inherit', opts.stdio === 'pipe' ? 'pipe' : 'inherit'],
    ...(opts.input !== undefined && { input: opts.input }),
  });
  const pid = child.pid;
  // Piped output is drained (a full pipe would block the command); stderr's tail names a failure.
  let stderrTail = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4096);
  });
  const entry: ActiveRun = {
    pid,
    forward: opts.forwardSignals ?? true,
    onExit: () => record.appendSync(line('interrupted', Date.now(), { pid: pid ?? null, reason: 'the wrapper exited before the command' })),
  };
  track(entry);

  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killAfterMs = opts.killAfterMs ?? 5_000;
  const termTimer = opts.timeoutMs === undefined || pid === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    signalGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), killAfterMs);
  }, opts.timeoutMs);

  let result: Awaited<typeof child>;
  try {
    // A run the gate let through without knowing the side says why (failing open).
    await record.append(line('start', startedAt, { pid: pid ?? null, ...(opts.gate.reason !== undefined && { reason: opts.gate.reason }) }));
    result = await child;
  } finally {
    clearTimeout(termTimer);
    untrack(entry);
  }
  const durationMs = Date.now() - startedAt;
  // The leader is gone; what it started in its group gets the rest of the grace, then SIGKILL.
  if (timedOut && pid !== undefined) await settleGroup(pid, startedAt + opts.timeoutMs! + killAfterMs);
  clearTimeout(killTimer);

  const signal = result.signal ?? null;
  let exitCode = result.exitCode ?? (signal !== null ? 128 + (constants.signals[signal as NodeJS.Signals] ?? 0) : spawnFailureCode(result.code));
  if (timedOut && exitCode === 0) exitCode = 124;
  const lastLine = stderrTail.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
  const detail = lastLine !== undefined ? `: ${clip(lastLine)}` : '';
  const reason = timedOut ? `timed out after ${opts.timeoutMs}ms`
    : signal !== null ? `killed by ${signal}`
    : result.exitCode === undefined ? `could not run: ${clip(result.shortMessage?.split('\n').at(-1) ?? 'unknown error')}`
    : result.exitCode !== 0 ? `exit ${result.exitCode}${detail}`
    : undefined;
  await record.append(line('end', Date.now(), {
    pid: pid ?? null, exitCode: result.exitCode ?? null, signal, durationMs, ...(reason !== undefined && { reason }),
  }));
  return { exitCode, signal, timedOut, durationMs, skipped: false };
}

/** The ledger calls, made safe: the first failure is one warning line, then it is left alone. */
function recorder(ledger: Pick<Ledger, 'append' | 'appendSync'>, warn: (line: string) => void) {
  let warned = false;
  const failed = (error: unknown): void => {
    if (warned) return;
    warned = true;
    warn(`redundancy: the run ledger could not be written, the command runs anyway: ${errorMessage(error).replace(/\s+/g, ' ')}`);
  };
  return {
    async append(event: LedgerEvent): Promise<void> {
      try {
        await ledger.append(event);
      } catch (error) {
        failed(error);
      }
    },
    appendSync(event: LedgerEvent): void {
      try {
        ledger.appendSync(event);
      } catch (error) {
        failed(error);
      }
    },
  };
}

function track(run: ActiveRun): void {
  if (active.size === 0) process.on('exit', exitAll);
  active.add(run);
  syncForwarding();
}

function untrack(run: ActiveRun): void {
  active.delete(run);
  if (active.size === 0) process.off('exit', exitAll);
  syncForwarding();
}

/** Signal handlers only while some run forwards: they replace the default action (dying). */
function syncForwarding(): void {
  const wanted = [...active].some((run) => run.forward);
  if (wanted === forwarding) return;
  forwarding = wanted;
  for (const signal of forwarded) {
    if (wanted) process.on(signal, forwardAll);
    else process.off(signal, forwardAll);
  }
}

/** Signals the process group led by `pid`; false when it is gone. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function settleGroup(pid: number, deadline: number): Promise<void> {
  while (Date.now() < deadline && signalGroup(pid, 0)) await new Promise((resolve) => setTimeout(resolve, 50));
  signalGroup(pid, 'SIGKILL');
}

/** What a shell answers when it cannot run a command. */
function spawnFailureCode(code: string | undefined): number {
  return code === 'EACCES' ? 126 : 127;
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
