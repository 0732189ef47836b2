import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport, UnitReport } from '../src/core/report-types.js';
import { isolatedPm2 } from './helpers/pm2-home.js';
import { ecosystem, fixtures, freePort, makeProject, type TestProject } from './helpers/project.js';
import { waitFor } from './helpers/wait-for.js';

let pm2: Awaited<ReturnType<typeof isolatedPm2>>;
const projects: TestProject[] = [];
const managers: Array<{ kill(signal?: NodeJS.Signals): boolean }> = [];

beforeAll(async () => {
  pm2 = await isolatedPm2();
});

afterAll(async () => {
  for (const m of managers) m.kill('SIGKILL');
  await pm2.kill();
  await Promise.all(projects.map((p) => p.remove()));
});

interface Info {
  role: string;
  pid: number;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  isMain: boolean;
}

async function warmProject(name: string, script: string, extraEnv: Record<string, string> = {}) {
  const port = await freePort();
  const project = await makeProject(pm2.env, {});
  projects.push(project);
  await project.write(
    'ecosystem.config.cjs',
    ecosystem([
      {
        name,
        script: join(fixtures, script),
        args: ['--mode', 'serve', 'two words'],
        env: { PORT: String(port), FAIL_FILE: join(project.dir, 'fail'), DIE_AT_BOOT_FILE: join(project.dir, 'die'), BOOT_LOG: join(project.dir, 'boots.log'), ...extraEnv },
        max_restarts: 3,
        min_uptime: 1000,
      },
    ]),
  );
  await project.write(
    'redundancy.config.yaml',
    [
      'checkInterval: 250ms',
      'twin: { mode: warm }',
      'policy: { window: 5, minSamples: 3, failbackAfter: 2, holdDown: 1s }',
      'sources: { pm2: { live: false } }',
      'units:',
      `  pm2:${name}:`,
      `    probe: { http: "http://127.0.0.1:${port}/health", timeout: 1s }`,
      '',
    ].join('\n'),
  );
  const manager = project.spawnManager();
  managers.push(manager);
  return { project, port, manager };
}

async function unit(project: TestProject, what: string, ok: (u: UnitReport) => boolean): Promise<UnitReport> {
  return waitFor(
    async () => {
      const result = await project.cli('status', '--json');
      const u = (JSON.parse(result.stdout) as HealthReport).units?.[0];
      return u && ok(u) ? u : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what },
  );
}

async function info(port: number): Promise<Info> {
  return (await (await fetch(`http://127.0.0.1:${port}/info`)).json()) as Info;
}

async function boots(project: TestProject): Promise<string[]> {
  return (await readFile(join(project.dir, 'boots.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** What an app may rely on seeing: everything but PM2's per-process bookkeeping and the role variables. */
function launchView(i: Info, app: string) {
  const env = Object.fromEntries(
    Object.entries(i.env).filter(([k]) => k !== app && k !== `${app}-backup` && !/^(pm_id|name|unique_id|pm_uptime|status|restart_time|unstable_restarts|created_at|pm_pid_path|pm_err_log_path|pm_out_log_path|NODE_APP_INSTANCE|version|axm_.*|REDUNDANCY_ROLE|REDUNDANCY_PRIMARY|PROCESS_TITLE|exp_backoff_restart_delay|max_restarts|prev_restart_delay|.*-backup|km_link|vizion_running|autorestart|autostart)$/.test(k) && !k.startsWith('pm2_')),
  );
  return { argv: i.argv, cwd: i.cwd, isMain: i.isMain, env };
}

describe('warm twins', () => {
  for (const script of ['probe-app.cjs', 'probe-app.mjs']) {
    it(`parks without running the app, then serves with the argv, env, cwd and main-module view PM2 gives (${script})`, async () => {
      const name = `warm${script.endsWith('mjs') ? 'esm' : 'cjs'}${process.pid}`;
      const { project, port, manager } = await warmProject(name, script);
      const parked = await unit(project, 'twin parked', (u) => u.twin.status === 'warm' && u.health === 'healthy');
      expect(parked.twin.mode).toBe('warm');
      expect(parked.twin.memoryMb).toBeGreaterThan(0);
      const direct = await info(port);
      expect(direct.role).toBe('primary');
      expect((await boots(project)).filter((l) => l.startsWith('backup'))).toEqual([]);

      expect((await project.cli('failover', `pm2:${name}`)).exitCode).toBe(0);
      await unit(project, 'on the warm twin', (u) => u.state === 'backup' && u.active === 'twin');
      const twin = await waitFor(async () => (await info(port)).role === 'backup' && info(port), { timeoutMs: 5_000, what: 'the twin answering' });
      expect(twin.env.REDUNDANCY_PRIMARY).toBe(name);
      expect(twin.env.REDUNDANCY_WARM_SCRIPT).toBeUndefined();
      expect(launchView(twin, name)).toEqual(launchView(direct, name));
      // The app ran in the process that was already parked: no new process at failover.
      expect((await boots(project)).filter((l) => l.startsWith('backup'))).toEqual([`backup ${twin.pid}`]);

      expect((await project.cli('failback', `pm2:${name}`)).exitCode).toBe(0);
      const back = await unit(project, 'back on primary, fresh twin parked', (u) => u.state === 'primary' && u.twin.status === 'warm');
      expect(back.active).toBe('primary');
      expect((await info(port)).role).toBe('primary');
      manager.kill('SIGTERM');
      await manager;
    });
  }

  it('an app that throws while loading under the launcher leaves the unit critical with the reason, not a loop', async () => {
    const name = `warmthrow${process.pid}`;
    const { project, manager } = await warmProject(name, 'probe-app.cjs', { THROW_IN_BACKUP: '1' });
    await unit(project, 'parked', (u) => u.twin.status === 'warm');
    await writeFile(join(project.dir, 'die'), '');
    expect((await project.cli('failover', `pm2:${name}`)).exitCode).toBe(0);
    const failed = await unit(project, 'twin failed', (u) => u.state === 'backup' && u.twin.status === 'failed');
    expect(failed.active).toBe('none');
    expect(failed.twin.reason).toBe('app failed to load: cannot reach the database (fixture)');
    const status = await project.cli('status');
    expect(status.exitCode).toBe(2);
    // No loop: the failed launcher stays as it is, round after round.
    const before = (await boots(project)).length;
    await project.cli('check');
    await project.cli('check');
    expect((await boots(project)).length).toBe(before);
    manager.kill('SIGTERM');
    await manager;
  });

  it('says why a unit asked to be warm stays cold', async () => {
    const project = await makeProject(pm2.env, {
      'ecosystem.config.cjs': ecosystem([
        { name: 'py', script: 'worker.py', interpreter: 'python3' },
        { name: 'clustered', script: join(fixtures, 'worker.cjs'), exec_mode: 'cluster', instances: 2 },
        { name: 'preload', script: join(fixtures, 'worker.cjs'), node_args: ['--require', 'dotenv/config'] },
        { name: 'fine', script: join(fixtures, 'worker.cjs') },
      ]),
      'redundancy.config.yaml': 'twin: { mode: warm }\nsources: { pm2: { live: false } }\n',
    });
    projects.push(project);
    const result = await project.cli('twins', '--dry-run');
    expect(result.exitCode).toBe(0);
    const line = (name: string) => result.stdout.split('\n').find((l) => l.startsWith(`pm2:${name} `)) ?? '';
    expect(line('py')).toContain('cold (warm refused: interpreter python3 is not node)');
    expect(line('clustered')).toContain('cold (warm refused: cluster mode)');
    expect(line('preload')).toContain('cold (warm refused: node_args --require would load code before the twin parks)');
    expect(line('fine')).toMatch(/fine-backup\s+warm/);
  });
});
