import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { isAnswer, type Invocation, type InvocationKind, type InvocationRequest, type InvocationResult, type WorkerMessage } from './ipc.js';

export interface RunnerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface FunctionProcessOptions {
  /** The `.mjs` from `bundleFunction`. */
  bundle: string;
  /** The primary's unit id, for `REDUNDANCY_PRIMARY` and log lines. */
  unitId: string;
  functionName: string;
  /** The function's environment, over the base (PATH, HOME, TZ=UTC). */
  env?: Record<string, string>;
  /** @default the bundle's folder */
  cwd?: string;
  /** Gets the function's output lines (stdout as info, stderr as warn). */
  logger?: RunnerLogger;
}

interface Pending {
  resolve(result: InvocationResult): void;
  timer: NodeJS.Timeout;
}

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  pending: Map<number, Pending>;
  /** Set before the process is killed on purpose: the in-flight invocations' reason. */
  killedFor?: { reason: string; timedOut: boolean };
  stderrTail: string[];
}

/** One warm worker process per function; it serves many invocations at once, as a Netlify instance does. */
export class FunctionProcess {
  /** The one that takes new invocations. */
  private worker: Worker | undefined;
  /** Every process not yet exited, with one killed on a timeout and still dying. */
  private readonly living = new Set<Worker>();
  private nextId = 1;

  constructor(private readonly opts: FunctionProcessOptions) {}

  /** The worker's pid, or undefined when none runs. */
  get pid(): number | undefined {
    return this.worker?.child.pid;
  }

  /** Starts the worker if none runs and waits until it has loaded the function. Rejects when it dies first. */
  async start(): Promise<void> {
    await this.ensure().ready;
  }

  /**
   * Calls the function once. Never rejects: a handler error, a timeout (the worker is killed; the
   * next invocation starts a new one) and a dead worker are `{ ok: false, reason }`.
   */
  invoke(kind: InvocationKind, request: InvocationRequest, timeoutMs: number, extra: Pick<Invocation, 'params'> = {}): Promise<InvocationResult> {
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise<InvocationResult>((resolve) => {
      const timer = setTimeout(() => this.kill(worker, id, timeoutMs), timeoutMs);
      worker.pending.set(id, { resolve, timer });
      const message: Invocation = { id, kind, request, functionName: this.opts.functionName, timeoutMs, ...extra };
      const unreachable = (error: Error): void =>
        this.settle(worker, id, { ok: false, reason: `could not reach the function process: ${error.message}`, timedOut: false, signal: null, pid: worker.child.pid ?? null });
      worker.ready.then(
        () => {
          try {
            worker.child.send(message, (error) => error && unreachable(error));
          } catch (error) {
            unreachable(error as Error);
          }
        },
        () => undefined, // the exit handler answers it
      );
    });
  }

  /** Kills the worker (in-flight invocations fail) and waits for it to exit. */
  async stop(): Promise<void> {
    const all = [...this.living];
    for (const worker of all) {
      worker.killedFor ??= { reason: 'the function process was stopped', timedOut: false };
      killTree(worker.child);
    }
    await Promise.all(all.map((worker) => worker.exited));
  }

  private ensure(): Worker {
    if (this.worker !== undefined) return this.worker;
    const { bundle, unitId, env, cwd } = this.opts;
    const base: Record<string, string> = { TZ: 'UTC' };
    for (const name of ['PATH', 'HOME'] as const) if (process.env[name] !== undefined) base[name] = process.env[name]!;
    const child = fork(bundle, [], {
      execPath: process.execPath,
      execArgv: [],
      cwd: cwd ?? path.dirname(bundle),
      env: { ...base, ...env, REDUNDANCY_ROLE: 'backup', REDUNDANCY_PRIMARY: unitId },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: a timeout kills what the function started too.
      detached: true,
      serialization: 'json',
    });
    const worker: Worker = { child, pending: new Map(), stderrTail: [], ready: undefined!, exited: undefined! };
    this.worker = worker;
    this.living.add(worker);
    this.pipeLines(child, worker);
    let readyNow: () => void;
    let notReady: (error: Error) => void;
    worker.ready = new Promise<void>((resolve, reject) => {
      readyNow = resolve;
      notReady = reject;
    });
    worker.ready.catch(() => undefined); // start() reports it; invoke() answers through the exit
    let exitedNow: () => void;
    worker.exited = new Promise<void>((resolve) => (exitedNow = resolve));
    let gone = false;
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (gone) return;
      gone = true;
      // What the function started in the process's group goes with it.
      if (child.pid !== undefined) killGroup(child.pid);
      if (this.worker === worker) this.worker = undefined;
      this.living.delete(worker);
      const why = worker.killedFor?.reason ?? deathReason(code, signal, worker.stderrTail);
      notReady(new Error(why));
      for (const id of [...worker.pending.keys()]) {
        this.settle(worker, id, { ok: false, reason: why, timedOut: worker.killedFor?.timedOut ?? false, signal, pid: child.pid ?? null });
      }
      exitedNow();
    };
    child.once('exit', (code, signal) => {
      // Its last stderr line may still be on the way: wait for the pipes to close, a little.
      const late = setTimeout(() => onExit(code, signal), 200);
      child.once('close', () => {
        clearTimeout(late);
        onExit(code, signal);
      });
    });
    child.on('error', (error) => {
      // A spawn that failed has no exit event; a failed kill or send has one still to come.
      if (child.pid !== undefined) return;
      worker.killedFor ??= { reason: `could not start the function process: ${error.message}`, timedOut: false };
      onExit(null, null);
    });
    child.on('message', (message: WorkerMessage) => {
      if (!isAnswer(message)) {
        if ('ready' in message) return readyNow();
        // It exits after answering: new invocations go to a fresh process.
        if (this.worker === worker) this.worker = undefined;
        return;
      }
      if (message.ok) this.settle(worker, message.id, { ok: true, status: message.status, headers: message.headers, body: Buffer.from(message.body, 'base64'), pid: child.pid ?? null });
      else this.settle(worker, message.id, { ok: false, reason: message.reason, timedOut: false, signal: null, pid: child.pid ?? null });
    });
    return worker;
  }

  private settle(worker: Worker, id: number, result: InvocationResult): void {
    const pending = worker.pending.get(id);
    if (pending === undefined) return;
    worker.pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(result);
  }

  /** Invocation `id` ran out of time: its process goes, with every invocation it was serving. */
  private kill(worker: Worker, id: number, timeoutMs: number): void {
    const limit = `${+(timeoutMs / 1000).toFixed(3)}s`;
    // The others did not time out; they die with the process that one hung.
    worker.killedFor ??= { reason: `killed: another invocation timed out after ${limit}`, timedOut: false };
    this.settle(worker, id, { ok: false, reason: `timed out after ${limit}`, timedOut: true, signal: 'SIGKILL', pid: worker.child.pid ?? null });
    if (this.worker === worker) this.worker = undefined; // the next invocation starts a fresh process
    killTree(worker.child);
  }

  private pipeLines(child: ChildProcess, worker: Worker): void {
    const { logger, unitId } = this.opts;
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = (lines.pop() ?? '').slice(-8192);
        for (const raw of lines) {
          const line = raw.trimEnd();
          if (line === '') continue;
          if (stream === 'stderr') worker.stderrTail = [...worker.stderrTail.slice(-9), line.slice(0, 300)];
          if (stream === 'stdout') logger?.info({ unit: unitId, pid: child.pid }, line);
          else logger?.warn({ unit: unitId, pid: child.pid }, line);
        }
      });
    }
  }
}

/** `the function process exited with code 3: Error: boom`, with the last stderr line that is not a stack frame. */
function deathReason(code: number | null, signal: NodeJS.Signals | null, stderrTail: string[]): string {
  const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
  const said = stderrTail.filter((line) => !/^\s*at |^Node\.js v\d/.test(line)).at(-1);
  return `the function process ${how}${said !== undefined ? `: ${said.trim()}` : ''}`;
}

/** SIGKILL to the worker's process group (what the function spawned goes too), else to the worker. */
function killTree(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (!killGroup(child.pid)) child.kill('SIGKILL');
}

function killGroup(pid: number): boolean {
  try {
    process.kill(-pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
