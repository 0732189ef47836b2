import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompiledConfig } from '../../core/config-types.js';
import { errorMessage, RedundancyError } from '../../core/errors.js';
import type { HealthReport } from '../../core/report-types.js';
import { askManager } from '../../daemon/control-client.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import { isProcessAlive } from '../../store/process-alive.js';
import type { Context } from '../context.js';

/** Where the output of a manager started by `ensure` goes (its own log is logs/redundancy.log). */
export const ENSURE_OUTPUT_FILE = 'manager-ensure.log';

/** How long `ensure` waits for the manager it started to answer on the control socket. */
const answerWithinMs = 60_000;
/** Managers started in one `ensure` at most: a start lost to another `ensure` (state lock) is retried. */
const maxStarts = 5;

/**
 * `redundancy ensure`: a manager for this project, outside PM2. Nothing to do when one answers on
 * the control socket (or is starting: it holds the state lock); otherwise one is started in the
 * foreground of a detached process (`start --foreground`), so that the death of PM2's daemon does
 * not take it along, and awaited until it answers. Exit 0 in both cases. Two `ensure`s at once may
 * each start one: the state lock lets one through, the other exits, and both see the same manager.
 */
export async function ensureCommand(ctx: Context): Promise<number> {
  const { stateDir, cwd } = ctx.config;
  const socketPath = controlSocketPath(stateDir);
  const first = await answer(socketPath);
  if (first) {
    ctx.result({ started: false, pid: first.manager.pid }, `a manager is running for ${cwd} (pid ${first.manager.pid}); nothing to do`);
    return 0;
  }
  const deadline = Date.now() + answerWithinMs;
  const started: ChildProcess[] = [];
  let lastStartAt = 0;
  while (Date.now() < deadline) {
    const report = await answer(socketPath);
    if (report) {
      const pid = report.manager.pid;
      const mine = started.some((child) => child.pid === pid);
      if (mine) ctx.logger.info({ pid }, 'ensure: manager started outside PM2');
      ctx.result(
        { started: mine, pid },
        mine
          ? `started the manager for ${cwd} outside PM2 (pid ${pid}); its output goes to ${join(ctx.config.logsDir, ENSURE_OUTPUT_FILE)}`
          : `a manager is running for ${cwd} (pid ${pid}); nothing to do`,
      );
      return 0;
    }
    const child = started.at(-1);
    const childRunning = child !== undefined && child.exitCode === null && child.signalCode === null;
    // A manager still starting (or a CLI command standing in for it) holds the lock: wait for it.
    if (!childRunning && (await lockHolder(stateDir)) === undefined && Date.now() - lastStartAt >= 1_000) {
      if (started.length >= maxStarts) break;
      started.push(startManager(ctx));
      lastStartAt = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const holder = await lockHolder(stateDir);
  const output = join(ctx.config.logsDir, ENSURE_OUTPUT_FILE);
  if (holder !== undefined) {
    throw new RedundancyError('REFUSED', `the manager (pid ${holder}) holds the state lock but did not answer within ${answerWithinMs / 1000}s; see ${output} and ${join(ctx.config.logsDir, 'redundancy.log')}`);
  }
  const last = started.at(-1);
  const ended = last ? `; it exited with ${last.exitCode ?? last.signalCode}` : '';
  throw new RedundancyError('REFUSED', `the manager did not start${ended}; see ${output} (\`redundancy start --foreground\` shows why)`);
}

/** The manager's report when one answers; undefined when none listens or it does not answer yet. */
async function answer(socketPath: string): Promise<HealthReport | undefined> {
  const response = await askManager(socketPath, 'GET', '/status', 5_000).catch(() => undefined);
  return response?.status === 200 ? (response.body as HealthReport) : undefined;
}

/** The live owner of the state lock (a zombie is not alive: it waits for init to reap it). */
async function lockHolder(stateDir: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(join(stateDir, 'manager.lock'), 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !isProcessAlive(pid)) return undefined;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ? undefined : pid;
  } catch {
    return pid; // no /proc (not Linux): kill(pid, 0) said it runs
  }
}

/** `node <cli> --cwd <project> start --foreground`, detached in its own session, output appended to logs/. */
function startManager(ctx: Context): ChildProcess {
  const cli = fileURLToPath(new URL('../main.js', import.meta.url));
  const { cwd, logsDir } = ctx.config;
  let output: number | 'ignore' = 'ignore';
  try {
    mkdirSync(logsDir, { recursive: true });
    output = openSync(join(logsDir, ENSURE_OUTPUT_FILE), 'a');
  } catch (error) {
    // logs/ unwritable: the manager logs to stderr then, which nobody reads; it still supervises.
    ctx.logger.warn({ err: errorMessage(error) }, `cannot write ${logsDir}; the manager's output is dropped`);
  }
  const configFile = explicitConfigFile(ctx.config);
  const child = spawn(process.execPath, [cli, '--cwd', cwd, ...(configFile ? ['--config', configFile] : []), 'start', '--foreground'], {
    cwd,
    detached: true,
    stdio: ['ignore', output, output],
    env: process.env,
  });
  if (typeof output === 'number') closeSync(output);
  child.on('error', (error) => ctx.logger.error({ err: errorMessage(error) }, 'ensure: the manager could not be started'));
  child.unref();
  return child;
}

/** The config file to pass on as `--config`: none when it is the one found by its default name from `--cwd`. */
export function explicitConfigFile(config: CompiledConfig): string | undefined {
  if (config.file === undefined) return undefined;
  const file = resolve(config.cwd, config.file);
  return ['redundancy.config.yaml', 'redundancy.config.yml'].some((name) => resolve(config.cwd, name) === file) ? undefined : file;
}
