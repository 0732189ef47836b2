import { parseDuration } from '../../core/duration.js';
import type { Pm2AppSpec } from '../../core/types.js';

/** One `pm2.list` entry, as much as is read here (God getMonitorData). */
export interface Pm2Entry {
  name?: string;
  pid?: number;
  pm_id?: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env?: {
    name?: string;
    status?: string;
    pm_id?: number;
    restart_time?: number;
    unstable_restarts?: number;
    pm_uptime?: number;
    pm_exec_path?: string;
    pm_cwd?: string;
    args?: unknown;
    env?: Record<string, unknown>;
    exec_interpreter?: string;
    node_args?: unknown;
    max_restarts?: unknown;
    min_uptime?: unknown;
    restart_delay?: unknown;
    exp_backoff_restart_delay?: unknown;
    autorestart?: unknown;
    cron_restart?: unknown;
  };
}

/** Variables PM2 or a shell put in every app's env (lib/API.js, lib/God.js); not part of the app. */
const foreignEnvKeys = new Set(['unique_id', 'updateEnv', 'io', 'NODE_APP_INSTANCE', '_', 'PWD', 'OLDPWD', 'SHLVL']);

/**
 * An app's spec as far as the daemon keeps it. PM2 merges the whole env of the process that
 * started the app into `pm2_env.env`, so the app's own variables cannot be told apart exactly:
 * PM2's keys (`PM2_*` and the like) and every variable equal to ours are left out. A twin started
 * from this process inherits those again, so nothing it needs is lost.
 */
export function specFromPm2Entry(entry: Pm2Entry): Pm2AppSpec {
  const pm2Env = entry.pm2_env ?? {};
  // PM2 answers over JSON from whatever a client registered: take strings only.
  const name = text(entry.name) ?? text(pm2Env.name) ?? '';
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(pm2Env.env ?? {})) {
    if (key.startsWith('PM2_') || foreignEnvKeys.has(key) || (key === name && value === '{}')) continue;
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    if (process.env[key] !== text) env[key] = text;
  }
  const spec: Pm2AppSpec = {
    name,
    script: text(pm2Env.pm_exec_path) ?? '',
    args: Array.isArray(pm2Env.args) ? pm2Env.args.map(String) : typeof pm2Env.args === 'string' ? [pm2Env.args] : [],
    env,
    options: {},
  };
  const cwd = text(pm2Env.pm_cwd);
  if (cwd) spec.cwd = cwd;
  // PM2 resolves a missing interpreter to `node` or to its own node binary: leave it to PM2 again.
  const interpreter = text(pm2Env.exec_interpreter);
  if (interpreter && interpreter !== 'node' && interpreter !== process.execPath) spec.interpreter = interpreter;
  if (Array.isArray(pm2Env.node_args) && pm2Env.node_args.length > 0) spec.options.node_args = pm2Env.node_args;
  if (typeof pm2Env.max_restarts === 'number') spec.maxRestarts = pm2Env.max_restarts;
  const setMs = (key: 'minUptimeMs' | 'restartDelayMs' | 'expBackoffRestartDelayMs', value: unknown) => {
    const ms = value === undefined || value === null ? undefined : parseDuration(value);
    if (ms !== undefined) spec[key] = ms;
  };
  setMs('minUptimeMs', pm2Env.min_uptime);
  setMs('restartDelayMs', pm2Env.restart_delay);
  setMs('expBackoffRestartDelayMs', pm2Env.exp_backoff_restart_delay);
  // PM2 stores its defaults (`autorestart: true`): keep only a departure from them.
  if (pm2Env.autorestart === false || pm2Env.autorestart === 'false') spec.autorestart = false;
  const cron = pm2Env.cron_restart;
  if ((typeof cron === 'string' || typeof cron === 'number') && cron !== '' && String(cron) !== '0') spec.cronRestart = String(cron);
  return spec;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
