import type { Path } from './config-path.js';
import type { SecretRef } from './config-types.js';
import { parseDuration } from './duration.js';
import { configError, oneLineJson } from './errors.js';

export type { Path };

/** setTimeout's limit: a longer duration would fire at once. */
const maxTimerMs = 2_147_483_647;

/** Typed readers that throw configError for one file; `undefined` means "not given, use the default". */
export class Checker {
  constructor(readonly file: string) {}

  fail(path: Path, value: unknown, expected: string): never {
    throw configError('CONFIG_INVALID', this.file, path.map(displayKey), value, expected);
  }

  /** A map (null or absent counts as empty, so a section with every child commented out is fine). */
  map(path: Path, value: unknown, known?: readonly string[], expected = 'a map'): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (!isPlainMap(value)) return this.fail(path, value, expected);
    for (const key of known ? Object.keys(value) : []) {
      if (known!.includes(key)) continue;
      const near = closestKey(key, known!);
      const hint = near ? `did you mean "${near}"?` : `known keys: ${known!.join(', ')}`;
      this.fail([...path, key], value[key], `a known key (unknown key; ${hint})`);
    }
    return value;
  }

  duration(path: Path, value: unknown, fallback: number, opts: { allowZero?: boolean } = {}): number {
    if (value === undefined) return fallback;
    const ms = parseDuration(value);
    const min = opts.allowZero ? 0 : 1;
    if (ms === undefined || ms < min || ms > maxTimerMs) {
      this.fail(path, value, `a duration ${opts.allowZero ? '>= 0' : '> 0'} and under 24d, like 500ms, 5s, 2m or 1h`);
    }
    return ms;
  }

  integer(path: Path, value: unknown, fallback: number, min: number, max?: number, maxName?: string): number {
    if (value === undefined) return fallback;
    const ok = Number.isSafeInteger(value) && (value as number) >= min && (max === undefined || (value as number) <= max);
    if (ok) return value as number;
    if (max === undefined) return this.fail(path, value, `an integer >= ${min}`);
    return this.fail(path, value, `an integer between ${min} and ${maxName ? `${maxName} (${max})` : max}`);
  }

  boolean(path: Path, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    return typeof value === 'boolean' ? value : this.fail(path, value, 'true or false');
  }

  path(path: Path, value: unknown, fallback: string | undefined, expected = 'a file path'): string {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || value.trim() === '' || value.includes('\0')) return this.fail(path, value, expected);
    return value;
  }

  /** A secret given as `env:NAME`, never as a literal the logs could print. */
  secret(path: Path, value: unknown, fallbackEnv: string): SecretRef {
    if (value === undefined) return { env: fallbackEnv, given: false };
    const match = typeof value === 'string' ? /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(value) : null;
    if (!match) return this.fail(path, typeof value === 'string' ? '(a literal, not shown)' : value, 'a reference env:NAME to an environment variable (never the secret itself)');
    return { env: match[1]!, given: true };
  }

  /** One path or a list of paths. */
  paths(path: Path, value: unknown, fallback: string[]): string[] {
    if (value === undefined) return fallback;
    const list = Array.isArray(value) ? value : [value];
    return list.map((item, i) => this.path(Array.isArray(value) ? [...path, i] : path, item, undefined, 'a file path or a list of file paths'));
  }

  size(path: Path, value: unknown, fallback: number): number {
    if (value === undefined) return fallback;
    const bytes = parseSize(value);
    return bytes !== undefined && bytes >= 1 ? bytes : this.fail(path, value, 'a size in bytes > 0, like 1048576, 500KB or 1MiB');
  }
}

export function httpUrl(check: Checker, path: Path, value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) check.fail(path, value, 'an http:// or https:// URL');
  return value.replace(/\/+$/, '');
}

/** `host:port`, the form `netlify dev` and PM2 users write. */
export function listenAddress(check: Checker, path: Path, value: unknown): { host: string; port: number } {
  const match = typeof value === 'string' ? /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value) : null;
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) check.fail(path, value, 'host:port, like 127.0.0.1:8888');
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `host:port` as a URL writes it (an IPv6 host in brackets). */
export function formatListen(listen: { host: string; port: number }): string {
  return `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
}

/** A key as shown in a message path: quoted when it holds control characters, so the message stays one line. */
export function displayKey<K extends string | number>(key: K): K | string {
  return typeof key === 'string' && /[\p{Cc}\u2028\u2029]/u.test(key) ? oneLineJson(key) : key;
}

export function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const sizeUnits: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };

/** Bytes from a number or a string like `500KB` (SI, 1000) or `1MiB` (IEC, 1024). */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value) : null;
  const factor = match ? sizeUnits[(match[2] || 'b').toLowerCase()] : undefined;
  return match && factor ? Math.round(Number(match[1]) * factor) : undefined;
}

/** The known key a typo most likely meant: same letters ignoring case and `_`/`-`, or a small edit distance. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(squash(key), squash(candidate));
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(best.key.length / 3)) ? best.key : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
