import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type pinoModule from 'pino';

type Pino = typeof pinoModule;
let loaded: Pino | undefined;
/** pino is loaded on the first logger: the CLI's read-only commands never pay for it. */
function pino(): Pino {
  loaded ??= createRequire(import.meta.url)('pino') as Pino;
  return loaded;
}
import { RedundancyError, errorMessage } from '../core/errors.js';

export type Logger = pinoModule.Logger;

export interface LoggerOptions {
  /** Directory of `redundancy.log`. @default `logs` (relative to the working directory) */
  logsDir?: string;
  /** pino level. @default `info` */
  level?: string;
  /** Where lines go. @default `file` */
  destination?: 'file' | 'stderr';
  /** Rotate the file past this size, keeping `keep` old ones (`redundancy.log.1` newest), like the history. @default 1 MiB, 3 */
  rotate?: { maxBytes: number; keep: number };
}

export const LOG_FILE_NAME = 'redundancy.log';
const CENSOR = '[Redacted]';

/** Key names whose values never reach the log, wherever an object carries them. */
const secretKeys = ['password', 'passwd', 'token', 'accessToken', 'refreshToken', 'secret', 'clientSecret',
  'apiKey', 'api_key', 'authorization', 'Authorization', 'cookie', 'Cookie', 'set-cookie'];

/** pino redact takes fixed paths: every secret key at the top level and one or two levels deep. */
export const redactPaths: string[] = secretKeys.flatMap((key) => {
  const step = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`;
  const top = step.startsWith('.') ? key : step;
  return [top, `*${step}`, `*.*${step}`];
});

/** Environment variable names whose values are secrets. */
const secretEnvKey = /(SECRET|TOKEN|PASSWORD|KEY)/i;
/** Deep enough for `{ unit: { app: { env } } }`; bounded so a huge object costs little. */
const maxEnvDepth = 6;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function censorEnv(env: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(env).some((key) => secretEnvKey.test(key))) return env;
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, secretEnvKey.test(key) ? CENSOR : value]),
  );
}

function walk(value: unknown, depth: number, seen: Set<object>): unknown {
  if (depth > maxEnvDepth || value === null || typeof value !== 'object' || seen.has(value)) return value;
  if (!Array.isArray(value) && !isPlainObject(value)) return value; // Errors, Dates, Buffers: leave to pino
  seen.add(value);
  let copy: Record<string, unknown> | unknown[] | undefined;
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value);
  for (const [key, item] of entries) {
    const next = key === 'env' && isPlainObject(item) ? censorEnv(walk(item, depth + 1, seen) as Record<string, unknown>)
      : walk(item, depth + 1, seen);
    if (next !== item) {
      // Copy on first change only: the caller's object is never mutated.
      copy ??= Array.isArray(value) ? [...value] : { ...value };
      (copy as Record<string | number, unknown>)[key] = next;
    }
  }
  seen.delete(value);
  return copy ?? value;
}

/** Censors secret-looking keys of every `env` map in a log object (returns a copy if anything changed). */
export function redactEnv<T>(obj: T): T {
  return walk(obj, 0, new Set()) as T;
}

/**
 * Opens the log file now, so that an unwritable `logs/` fails here with IO instead of as an
 * unhandled 'error' event from pino's asynchronous open later.
 */
function openLogFile(file: string): number {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.openSync(file, 'a');
  } catch (error) {
    throw new RedundancyError('IO', `${file}: cannot open log: ${errorMessage(error)}`, { cause: error });
  }
}

function fileDestination(file: string, rotate: { maxBytes: number; keep: number }): ReturnType<Pino['destination']> {
  const fd = openLogFile(file);
  let size = fs.fstatSync(fd).size;
  fs.closeSync(fd);
  // By path, not by descriptor: a rotation reopens the same name.
  const stream = pino().destination({ dest: file, sync: false });
  // A failed write (disk full) must not kill the manager: say so on stderr once per failing streak.
  let reported = false;
  stream.on('write', (bytes: number) => {
    reported = false;
    size += bytes;
    if (size <= rotate.maxBytes) return;
    size = 0;
    try {
      rotateFiles(file, rotate.keep);
      stream.reopen();
    } catch (error) {
      process.stderr.write(`redundancy: rotating ${file} failed: ${errorMessage(error)}\n`);
    }
  });
  stream.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    process.stderr.write(`redundancy: writing ${file} failed: ${error.message}\n`);
  });
  return stream;
}

/** `file` -> `file.1` -> ... -> `file.<keep>`; the oldest falls off. Lines still in flight land in `file.1`. */
function rotateFiles(file: string, keep: number): void {
  if (keep < 1) return fs.truncateSync(file, 0);
  for (let i = keep - 1; i >= 1; i -= 1) {
    if (fs.existsSync(`${file}.${i}`)) fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  fs.renameSync(file, `${file}.1`);
}

/**
 * The project's pino logger: JSON lines, secrets redacted. Throws IO when the log file cannot be
 * opened. Call `flushLogger` before exiting.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.destination === 'stderr'
    ? pino().destination({ dest: 2, sync: true })
    : fileDestination(path.join(opts.logsDir ?? 'logs', LOG_FILE_NAME), opts.rotate ?? { maxBytes: 1024 * 1024, keep: 3 });
  return pino()(
    {
      level: opts.level ?? 'info',
      redact: { paths: redactPaths, censor: CENSOR },
      // The log formatter sees every logged object; child bindings skip it, so the `env`
      // serializer covers `logger.child({ env })`.
      formatters: { log: (obj) => redactEnv(obj) },
      serializers: { env: (env: unknown) => (isPlainObject(env) ? censorEnv(env) : env) },
    },
    stream,
  );
}

/** The public surface of pino's file destination (sonic-boom) that flushing needs. */
interface FlushableStream {
  /** -1 until the file is open. */
  fd?: number;
  flushSync(): void;
  once(event: 'ready' | 'error', listener: (error?: Error) => void): unknown;
  off(event: 'ready' | 'error', listener: (error?: Error) => void): unknown;
}

function flushableStream(logger: Logger): FlushableStream | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino().symbols.streamSym];
  const candidate = stream as Partial<FlushableStream> | undefined;
  return typeof candidate?.flushSync === 'function' && typeof candidate.once === 'function' && typeof candidate.off === 'function'
    ? (candidate as FlushableStream)
    : undefined;
}

/**
 * Writes out every line logged so far and fsyncs; for shutdown. pino's own `flush(cb)` calls back
 * at once on an unbuffered destination without waiting for the file, so this waits for the file to
 * be open and then flushes synchronously (pino does the same at process exit).
 */
export function flushLogger(logger: Logger): Promise<void> {
  const stream = flushableStream(logger);
  if (stream === undefined) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const flush = (): void => {
      stream.off('error', failed);
      try {
        stream.flushSync();
        resolve();
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    // The file could not be opened: 'ready' never comes.
    const failed = (error?: Error): void => {
      stream.off('ready', flush);
      reject(error ?? new Error('log destination failed'));
    };
    if (stream.fd !== undefined && stream.fd >= 0) {
      flush();
    } else {
      stream.once('ready', flush);
      stream.once('error', failed);
    }
  });
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino()({ level: 'silent' });
}
