/** Exit codes of the CLI contract (DESIGN.md). */
export const ExitCode = {
  ok: 0,
  degraded: 1,
  critical: 2,
  usage: 64,
  config: 78,
  software: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Every failure the project raises on purpose carries one of these codes. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_PARSE'
  | 'ECOSYSTEM_INVALID'
  | 'ECOSYSTEM_LOAD'
  | 'USAGE'
  | 'UNKNOWN_UNIT'
  | 'ILLEGAL_TRANSITION'
  | 'REFUSED'
  | 'PM2_UNAVAILABLE'
  | 'PM2_OPERATION'
  | 'MANAGER_UNREACHABLE'
  | 'STATE_CORRUPT'
  | 'IO';

const exitCodeByErrorCode: Record<ErrorCode, ExitCode> = {
  CONFIG_INVALID: ExitCode.config,
  CONFIG_PARSE: ExitCode.config,
  ECOSYSTEM_INVALID: ExitCode.config,
  ECOSYSTEM_LOAD: ExitCode.config,
  USAGE: ExitCode.usage,
  UNKNOWN_UNIT: ExitCode.usage,
  ILLEGAL_TRANSITION: ExitCode.degraded,
  REFUSED: ExitCode.degraded,
  PM2_UNAVAILABLE: ExitCode.critical,
  PM2_OPERATION: ExitCode.critical,
  MANAGER_UNREACHABLE: ExitCode.critical,
  STATE_CORRUPT: ExitCode.software,
  IO: ExitCode.software,
};

export class RedundancyError extends Error {
  override readonly name = 'RedundancyError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get exitCode(): ExitCode {
    return exitCodeByErrorCode[this.code];
  }
}

export function isRedundancyError(value: unknown): value is RedundancyError {
  return value instanceof RedundancyError;
}

/**
 * One-line message for a configuration problem: file, key path, value and expectation.
 * `path` is a list of keys and indexes, rendered `units.pm2:api.probe.timeout`.
 */
export function configError(
  code: 'CONFIG_INVALID' | 'ECOSYSTEM_INVALID',
  file: string,
  path: ReadonlyArray<string | number>,
  received: unknown,
  expected: string,
): RedundancyError {
  const where = path.length > 0 ? `: ${formatPath(path)}` : '';
  return new RedundancyError(
    code,
    `${file}${where}: expected ${expected}, got ${describeValue(received)}`,
  );
}

export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return oneLineJson(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

/** Message of any thrown value, for logs and one-line CLI output. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** JSON.stringify leaves U+2028 and U+2029 as they are: escaped here, a message stays one line. */
export function oneLineJson(text: string): string {
  return JSON.stringify(text).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
