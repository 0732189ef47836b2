import { request } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { controlSocketPath } from '../../dist/daemon/control-socket.js';
import { defer } from './cleanup.js';
import { spawnOwned } from './proc.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const cliPath = join(repoRoot, 'dist/cli/main.js');
export const fixtures = join(repoRoot, 'test/fixtures');

/** A user's project in a temp dir (removed at cleanup): ecosystem file, config, state, logs. */
export async function makeProject(label, files = {}) {
  const dir = await mkdtemp(join(tmpdir(), `rbench-${label}-`));
  const remove = defer(`project ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const write = async (file, text) => {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  };
  for (const [file, text] of Object.entries(files)) await write(file, text);
  return { dir, write, remove, path: (file) => join(dir, file) };
}

export function ecosystemText(apps) {
  return `module.exports = ${JSON.stringify({ apps }, null, 2)};\n`;
}

/** `redundancy start --foreground` as a child; SIGTERM at cleanup (it saves state and leaves PM2 apps). */
export function startManager(project, env) {
  // Node flags for the manager alone (e.g. `--cpu-prof`, `--max-semi-space-size=1`) to measure their effect.
  const nodeArgs = (process.env.BENCH_MANAGER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return spawnOwned(process.execPath, [...nodeArgs, cliPath, '--cwd', project.dir, 'start', '--foreground'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
    graceMs: 15_000,
    label: `manager ${project.dir}`,
  });
}

/** The running manager's health report over its control socket; undefined while none answers. */
export function managerReport(project, timeoutMs = 10_000) {
  const socketPath = controlSocketPath(join(project.dir, '.redundancy'));
  return new Promise((resolvePromise) => {
    const req = request({ socketPath, path: '/status', method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolvePromise(res.statusCode === 200 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
        } catch {
          resolvePromise(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolvePromise(undefined));
    req.end();
  });
}
