import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { isolatedPm2, quietPm2Env, type IsolatedPm2 } from '../../helpers/pm2-home.js';
import { ChaosProject, killAllManagers, type ChaosProjectOptions } from './chaos-project.js';
import { OverlapWatcher } from './overlap-watcher.js';

export const pm2Bin = join(dirname(createRequire(import.meta.url).resolve('pm2/package.json')), 'bin', 'pm2');

export interface ChaosEnv {
  pm2: IsolatedPm2;
  watcher: OverlapWatcher;
  project(opts: ChaosProjectOptions): Promise<ChaosProject>;
  /** `pm2 <args>` through PM2's own CLI, on this test's daemon. */
  pm2Cli(...args: string[]): Promise<string>;
  /** Kills every manager, the watcher's connection and the daemon with its apps; removes the dirs unless `keep`. */
  cleanup(keep?: boolean): Promise<void>;
}

/**
 * A test file's private PM2: a temporary PM2_HOME (also set in this process, for the watcher),
 * one daemon started before anything connects in parallel, and an overlap watcher on its bus.
 */
export async function chaosEnv(): Promise<ChaosEnv> {
  const pm2 = await isolatedPm2();
  Object.assign(process.env, quietPm2Env, { PM2_HOME: pm2.home });
  const projects: ChaosProject[] = [];
  const pm2Cli = async (...args: string[]) =>
    String((await execa(process.execPath, [pm2Bin, ...args], { env: pm2.env, stdin: 'ignore', timeout: 30_000 })).stdout);
  let watcher: OverlapWatcher | undefined;
  const cleanup = async (keep = false) => {
    await killAllManagers();
    await watcher?.close().catch(() => undefined);
    await pm2.kill();
    // After a failure (or with CHAOS_KEEP=1) the project dirs stay, and the managers' last words are shown.
    if (!keep && !process.env.CHAOS_KEEP) {
      await Promise.all(projects.map((p) => p.remove()));
      return;
    }
    for (const project of projects) {
      const tail = (await project.readLog()).slice(-30).map(formatLogLine);
      console.info([`kept ${project.dir}; the end of its manager log:`, ...tail].join('\n'));
    }
  };
  try {
    await pm2Cli('ping');
    watcher = await OverlapWatcher.open();
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    pm2,
    watcher,
    pm2Cli,
    cleanup,
    async project(opts) {
      const project = await ChaosProject.create(pm2.env, opts);
      projects.push(project);
      watcher!.watch(project.units.map((u) => ({ unit: u.id, primary: u.name, twin: u.twin })));
      return project;
    },
  };
}

/**
 * The chaos environment of a test file, with its hooks: set up before the tests, torn down after
 * them even when they fail; a failed test keeps the project dirs and prints their log tails.
 */
export function useChaosEnv(): { readonly env: ChaosEnv } {
  let env: ChaosEnv | undefined;
  let failed = false;
  beforeAll(async () => {
    env = await chaosEnv();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      failed = true;
    });
  });
  afterAll(async () => {
    await env?.cleanup(failed);
  });
  return {
    get env(): ChaosEnv {
      if (!env) throw new Error('the chaos environment is not set up (beforeAll failed?)');
      return env;
    },
  };
}

function formatLogLine(line: Record<string, unknown>): string {
  const { time, level, msg, pid, hostname: _host, ...rest } = line;
  return `  ${new Date(Number(time)).toISOString().slice(11, 23)} ${pid} ${level} ${String(msg)} ${JSON.stringify(rest)}`;
}
