import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defer } from './cleanup.js';
import { isAlive, run } from './proc.js';
import { sleep } from './time.js';

export const pm2Bin = join(dirname(createRequire(import.meta.url).resolve('pm2/package.json')), 'bin', 'pm2');

/** PM2 7's switches that keep a daemon quiet and offline: no version check, no PM2 Plus, no banner. */
export const quietPm2Env = {
  PM2_DISABLE_VERSION_CHECK: 'true',
  PM2_NO_INTERACTION: 'true',
  PM2_DISCRETE_MODE: 'true',
  PM2_SILENT: 'true',
};

/**
 * A private PM2_HOME for one scenario. `env` is what every child of the scenario gets (PM2 and the
 * manager read PM2_HOME when they load). `kill()` ends the daemon and every app it started, and
 * removes the directory; it is registered for cleanup, so it also runs on failure and Ctrl-C.
 * `hardKill` skips the polite `pm2 kill` (see killHome).
 */
/** Every PM2_HOME this run made, for the final check that nothing is left. */
export const homesMade = [];

export async function isolatedPm2(label, { hardKill = false } = {}) {
  const home = await mkdtemp(join(tmpdir(), `rbench-${label}-`));
  homesMade.push(home);
  const env = { ...process.env, ...quietPm2Env, PM2_HOME: home };
  const pm2 = (args, opts = {}) => run(process.execPath, [pm2Bin, ...args], { env, timeoutMs: 300_000, ...opts });
  const kill = defer(`PM2 daemon ${home}`, () => killHome(home, env, hardKill));
  return { home, env, pm2, kill, daemonPid: () => readPid(join(home, 'pm2.pid')) };
}

/**
 * `pm2 kill` (bounded), then SIGKILL for whatever is left: the daemon first (so it restarts
 * nothing), then every app of its pid files, then any process whose environment names this
 * PM2_HOME (an app whose pid file was not written yet). With `hard`, skips `pm2 kill`: a daemon
 * with a thousand apps takes a minute to stop them one by one.
 */
export async function killHome(home, env, hard) {
  const pidFile = join(home, 'pm2.pid');
  if (existsSync(pidFile) && !hard) {
    await run(process.execPath, [pm2Bin, 'kill'], { env, timeoutMs: 5_000 }).catch(() => undefined);
  }
  const daemon = readPid(pidFile);
  if (daemon && isAlive(daemon)) process.kill(daemon, 'SIGKILL');
  const pidsDir = join(home, 'pids');
  const appPids = existsSync(pidsDir) ? readdirSync(pidsDir).map((file) => readPid(join(pidsDir, file))) : [];
  for (const pid of [...appPids, ...pidsWithHome(home)]) {
    if (pid && pid !== process.pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (let i = 0; i < 50 && pidsWithHome(home).length > 0; i++) await sleep(100);
  await rm(home, { recursive: true, force: true });
}

/** Processes whose environment carries PM2_HOME=<home> (ours: the home is a fresh temp dir). */
export function pidsWithHome(home) {
  const needle = Buffer.from(`PM2_HOME=${home}\0`);
  const found = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`).includes(needle) && isAlive(pid)) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function readPid(file) {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
