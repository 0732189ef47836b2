import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

export interface IsolatedPm2 {
  /** The temporary PM2_HOME. */
  home: string;
  /** process.env plus PM2_HOME and PM2's quiet / no-network switches. */
  env: NodeJS.ProcessEnv;
  /** Stops the daemon this home started (politely, then SIGKILL) and removes the directory. */
  kill(): Promise<void>;
}

/**
 * PM2's switches that keep a test daemon quiet and offline (PM2 7): no version check against
 * version.pm2.io (daemon: every 24 h; CLI: on a home's first use unless discrete mode writes
 * `touch`), no PM2 Plus agent, no banner.
 */
export const quietPm2Env = {
  PM2_DISABLE_VERSION_CHECK: 'true',
  PM2_NO_INTERACTION: 'true',
  PM2_DISCRETE_MODE: 'true',
  PM2_SILENT: 'true',
} as const;

const pm2Bin = join(dirname(createRequire(import.meta.url).resolve('pm2/package.json')), 'bin', 'pm2');

/**
 * A private PM2_HOME. Use it by setting `process.env` from `env` before the first `connect` in
 * the test file (pm2 reads PM2_HOME when it is loaded; each vitest file runs in its own fork).
 */
export async function isolatedPm2(): Promise<IsolatedPm2> {
  const home = await mkdtemp(join(tmpdir(), 'redundancy-pm2-'));
  const env = { ...process.env, ...quietPm2Env, PM2_HOME: home };
  return {
    home,
    env,
    async kill() {
      const pidFile = join(home, 'pm2.pid');
      // `pm2 kill` on a home that never had a daemon would spawn one just to kill it.
      if (existsSync(pidFile)) {
        await execa(process.execPath, [pm2Bin, 'kill'], { env, reject: false, timeout: 15_000, stdin: 'ignore' });
        // A daemon that did not go: kill it and the apps it would have left orphaned.
        const pidsDir = join(home, 'pids');
        const appPidFiles = existsSync(pidsDir) ? readdirSync(pidsDir).map((file) => join(pidsDir, file)) : [];
        for (const file of [pidFile, ...appPidFiles]) {
          const pid = Number(readPid(file));
          if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
        }
      }
      await rm(home, { recursive: true, force: true });
    },
  };
}

function readPid(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return ''; // removed by the daemon on a clean exit
  }
}

/** Whether a process runs; a killed one stays a zombie until init reaps it, slowly in some containers. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
