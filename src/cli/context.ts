import { resolve } from 'node:path';
import type { Pm2ProcessManager } from '../kinds/pm2/pm2-client.js';
import { loadConfig } from '../core/config-file.js';
import type { CompiledConfig } from '../core/config-types.js';
import { ExitCode, errorMessage, isRedundancyError } from '../core/errors.js';
import { compileConfig } from '../core/config.js';
import { defaultConfigCache } from '../store/config-cache.js';
import { createLogger, flushLogger, type Logger } from '../store/logger.js';

export interface GlobalOptions {
  config?: string;
  cwd?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export interface Context {
  config: CompiledConfig;
  /** Set by a tolerant context whose config did not load (the defaults stand in). */
  configError?: string;
  logger: Logger;
  json: boolean;
  quiet: boolean;
  /** Human output; silent with --quiet and --json. */
  say(text: string): void;
  /** The command's result: JSON with --json, else `text`. */
  result(value: unknown, text: string): void;
  close(): Promise<void>;
}

/**
 * `tolerant`: a config that does not load is said in `configError` and the defaults stand in, for
 * commands that must still answer (status: the running manager keeps its last good config).
 */
export async function makeContext(opts: GlobalOptions, tolerant = false): Promise<Context> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  let configError: string | undefined;
  const config = await loadConfig({ configPath: opts.config ? resolve(opts.config) : undefined, cwd, cache: defaultConfigCache() }).catch((error: unknown) => {
    if (!tolerant || !isRedundancyError(error) || error.exitCode !== ExitCode.config) throw error;
    configError = error.message;
    return compileConfig(undefined, { cwd });
  });
  // Opened on first use: read-only commands like `status` never touch the log.
  let logger: Logger | undefined;
  const json = opts.json === true;
  const quiet = opts.quiet === true;
  return {
    config,
    ...(configError !== undefined && { configError }),
    get logger() {
      logger ??= openLogger(config.logsDir, opts.verbose ? 'debug' : 'info', { maxBytes: config.history.maxBytes, keep: config.history.keep });
      return logger;
    },
    json,
    quiet,
    say: (text) => {
      if (!quiet && !json) process.stdout.write(`${text}\n`);
    },
    result: (value, text) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else if (!quiet) process.stdout.write(`${text}\n`);
    },
    close: async () => {
      if (logger) await flushLogger(logger);
    },
  };
}

/** Connects to PM2 for the length of `work`; always disconnects. */
export async function withPm2<T>(startDaemon: boolean, work: (pm: Pm2ProcessManager) => Promise<T>): Promise<T> {
  const { Pm2ProcessManager } = await import('../kinds/pm2/pm2-client.js');
  const pm = await Pm2ProcessManager.connect({ startDaemon });
  try {
    return await work(pm);
  } finally {
    await pm.close();
  }
}

/** The live daemon when one runs; undefined, not an error, when none does. */
export async function connectIfRunning(): Promise<Pm2ProcessManager | undefined> {
  const { Pm2ProcessManager } = await import('../kinds/pm2/pm2-client.js');
  try {
    return await Pm2ProcessManager.connect({ startDaemon: false });
  } catch (error) {
    if (isRedundancyError(error) && error.code === 'PM2_UNAVAILABLE') return undefined;
    throw error;
  }
}

/** logs/ may be unwritable: supervision and read-only commands go on, logging to stderr. */
function openLogger(logsDir: string, level: string, rotate: { maxBytes: number; keep: number }): Logger {
  try {
    return createLogger({ logsDir, level, rotate });
  } catch (error) {
    const logger = createLogger({ destination: 'stderr', level: 'warn' });
    logger.warn({ err: errorMessage(error) }, `cannot write ${logsDir}; logging to stderr`);
    return logger;
  }
}
