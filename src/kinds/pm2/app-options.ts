import { basename, extname, isAbsolute, resolve } from 'node:path';
import { displayKey } from '../../core/config.js';
import { parseDuration } from '../../core/duration.js';
import { configError } from '../../core/errors.js';
import type { Pm2AppSpec } from '../../core/types.js';

type Path = ReadonlyArray<string | number>;

/** PM2 option names the spec interprets, with PM2's aliases (lib/API/schema.json); the rest go to `options`. */
const consumed = new Set([
  'name', 'script', 'exec', 'args', 'cwd', 'env', 'interpreter', 'exec_interpreter', 'max_restarts', 'min_uptime',
  'restart_delay', 'exp_backoff_restart_delay', 'autorestart', 'cron_restart', 'cron',
]);
const scriptExtensions = /\.(c|m)?(js|ts)$|\.(sh|py)$/;

/**
 * One ecosystem app, as PM2 accepts it, turned into a normalised spec. `dir` is the ecosystem
 * file's directory; `path` is where the app sits in the file (`['apps', 2]`), for messages.
 */
export function specFromEcosystemApp(raw: unknown, ctx: { file: string; dir: string; path: Path }): Pm2AppSpec {
  const fail = (key: string | undefined, value: unknown, expected: string): never => {
    throw configError('ECOSYSTEM_INVALID', ctx.file, key === undefined ? ctx.path : [...ctx.path, key], value, expected);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(undefined, raw, 'an app (a map with a script)');
  const app = raw as Record<string, unknown>;
  const scriptKey = app.script !== undefined ? 'script' : 'exec';
  const script = app[scriptKey];
  if (typeof script !== 'string' || script.trim() === '') return fail('script', script, 'a script path or command');
  const name = app.name === undefined ? basename(script, extname(script)) : app.name;
  if (typeof name !== 'string' || name.trim() === '') return fail('name', app.name, 'a non-empty string');
  if (app.cwd !== undefined && (typeof app.cwd !== 'string' || app.cwd === '')) fail('cwd', app.cwd, 'a directory path');
  // PM2 runs an app without cwd in the directory `pm2 start` ran from, which for an ecosystem file is by convention its own.
  const cwd = resolve(ctx.dir, (app.cwd as string | undefined) ?? '.');
  const spec: Pm2AppSpec = {
    name,
    script: isAbsolute(script) || !(script.includes('/') || scriptExtensions.test(script)) ? script : resolve(cwd, script),
    args: readArgs(app.args, fail),
    cwd,
    env: readEnv(app.env, ctx),
    options: {},
  };
  const interpreterKey = app.interpreter !== undefined ? 'interpreter' : 'exec_interpreter';
  const interpreter = app[interpreterKey];
  if (interpreter !== undefined) {
    spec.interpreter = typeof interpreter === 'string' && interpreter !== '' ? interpreter : fail(interpreterKey, interpreter, 'an interpreter name or path');
  }
  if (app.max_restarts !== undefined) {
    const n = app.max_restarts;
    spec.maxRestarts = Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : fail('max_restarts', n, 'a non-negative integer');
  }
  const ms = (key: string) => {
    const value = parseDuration(app[key]);
    return value !== undefined ? value : fail(key, app[key], 'a number of ms or a duration like 1s');
  };
  if (app.min_uptime !== undefined) spec.minUptimeMs = ms('min_uptime');
  if (app.restart_delay !== undefined) spec.restartDelayMs = ms('restart_delay');
  if (app.exp_backoff_restart_delay !== undefined) spec.expBackoffRestartDelayMs = ms('exp_backoff_restart_delay');
  if (app.autorestart !== undefined) {
    spec.autorestart = typeof app.autorestart === 'boolean' ? app.autorestart : fail('autorestart', app.autorestart, 'true or false');
  }
  const cronKey = app.cron_restart !== undefined ? 'cron_restart' : 'cron';
  const cron = app[cronKey];
  if (cron !== undefined && typeof cron !== 'string' && typeof cron !== 'number') fail(cronKey, cron, 'a cron expression');
  // PM2 reads an empty value, 0 or "0" as "no cron restart".
  if (cron !== undefined && cron !== '' && String(cron) !== '0') spec.cronRestart = String(cron);
  for (const [key, value] of Object.entries(app)) if (!consumed.has(key)) spec.options[key] = value;
  return spec;
}

function readArgs(value: unknown, fail: (key: string, value: unknown, expected: string) => never): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return splitArgs(value);
  const scalar = (item: unknown) => ['string', 'number', 'boolean'].includes(typeof item);
  if (Array.isArray(value) && value.every(scalar)) return value.map(String);
  return fail('args', value, 'a string or a list of strings');
}

function readEnv(value: unknown, ctx: { file: string; path: Path }): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw configError('ECOSYSTEM_INVALID', ctx.file, [...ctx.path, 'env'], value, 'a map of variable names to values');
  }
  const env: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (!['string', 'number', 'boolean'].includes(typeof item)) {
      throw configError('ECOSYSTEM_INVALID', ctx.file, [...ctx.path, 'env', displayKey(key)], item, 'a string, number or boolean');
    }
    env[key] = String(item);
  }
  return env;
}

/** Splits an args string like a shell would in simple cases: whitespace, '...' literal, "..." with \" and \\. */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let started = false; // distinguishes an empty quoted argument ('') from no argument
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) current += text[++i];
      else current += ch;
    } else if (/\s/.test(ch)) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      started = true;
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\' && i + 1 < text.length) current += text[++i];
      else current += ch;
    }
  }
  if (started) args.push(current);
  return args;
}

/**
 * A spec back as a PM2 app object with PM2's own option names, for `pm2.start` and for
 * generated ecosystem files. Works for any spec; twins are its main use.
 */
export function twinToEcosystemApp(spec: Pm2AppSpec): Record<string, unknown> {
  const app: Record<string, unknown> = { name: spec.name, script: spec.script, args: [...spec.args] };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) app[key] = value;
  };
  set('cwd', spec.cwd);
  set('interpreter', spec.interpreter);
  app.env = { ...spec.env };
  set('max_restarts', spec.maxRestarts);
  set('min_uptime', spec.minUptimeMs);
  set('restart_delay', spec.restartDelayMs);
  set('exp_backoff_restart_delay', spec.expBackoffRestartDelayMs);
  set('autorestart', spec.autorestart);
  set('cron_restart', spec.cronRestart);
  // Spec fields win over a stray option of the same name.
  for (const [key, value] of Object.entries(spec.options)) if (!Object.hasOwn(app, key) && !consumed.has(key)) app[key] = value;
  return app;
}
