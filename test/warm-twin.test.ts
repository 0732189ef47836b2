import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ecosystem, fixtures, type TestProject } from './helpers/project.js';
import { appProject, pm2Session, waitForUnit } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

const session = pm2Session();

interface Info {
  role: string;
  pid: number;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  isMain: boolean;
}

async function warmProject(name: string, script: string, env: Record<string, string> = {}) {
  const project = await appProject(session, { name, script, env, args: ['--mode', 'serve', 'two words'], config: ['twin: { mode: warm }'] });
  const manager = session.startManager(project);
  return { project, port: project.port, manager };
}



async function info(port: number): Promise<Info> {
  return (await (await fetch(`http://127.0.0.1:${port}/info`)).json()) as Info;
}

async function boots(project: TestProject): Promise<string[]> {
  return (await readFile(join(project.dir, 'boots.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** What an app may rely on seeing: everything but PM2's per-process bookkeeping, the role variables and the restart policy (the twin's and the primary's differ by design). */
function launchView(i: Info, app: string) {
  const env = Object.fromEntries(
    Object.entries(i.env).filter(([k]) => k !== app && k !== `${app}-backup` && !/^(pm_id|name|unique_id|pm_uptime|status|restart_time|unstable_restarts|created_at|pm_pid_path|pm_err_log_path|pm_out_log_path|NODE_APP_INSTANCE|version|axm_.*|REDUNDANCY_ROLE|REDUNDANCY_PRIMARY|PROCESS_TITLE|exp_backoff_restart_delay|restart_delay|max_restarts|prev_restart_delay|.*-backup|km_link|vizion_running|autorestart|autostart)$/.test(k) && !k.startsWith('pm2_')),
  );
  return { argv: i.argv, cwd: i.cwd, isMain: i.isMain, env };
}

describe('warm twins', () => {
  for (const script of ['probe-app.cjs', 'probe-app.mjs']) {
    it(`parks without running the app, then serves with the argv, env, cwd and main-module view PM2 gives (${script})`, async () => {
      const name = `warm${script.endsWith('mjs') ? 'esm' : 'cjs'}${process.pid}`;
      const { project, port, manager } = await warmProject(name, script);
      const parked = await waitForUnit(project, 'twin parked', (u) => u.twin.status === 'warm' && u.health === 'healthy' && u.samples > 0);
      expect(parked.twin.mode).toBe('warm');
      expect(parked.twin.memoryMb).toBeGreaterThan(0);
      const direct = await info(port);
      expect(direct.role).toBe('primary');
      expect((await boots(project)).filter((l) => l.startsWith('backup'))).toEqual([]);

      expect((await project.cli('failover', `pm2:${name}`)).exitCode).toBe(0);
      await waitForUnit(project, 'on the warm twin', (u) => u.state === 'backup' && u.active === 'twin');
      const twin = await waitFor(async () => {
        const seen = await info(port).catch(() => undefined);
        return seen?.role === 'backup' && seen;
      }, { timeoutMs: 10_000, what: 'the twin answering' });
      expect(twin.env.REDUNDANCY_PRIMARY).toBe(name);
      expect(twin.env.REDUNDANCY_WARM_SCRIPT).toBeUndefined();
      expect(launchView(twin, name)).toEqual(launchView(direct, name));
      // The app ran in the process that was already parked: no new process at failover.
      expect((await boots(project)).filter((l) => l.startsWith('backup'))).toEqual([`backup ${twin.pid}`]);

      expect((await project.cli('failback', `pm2:${name}`)).exitCode).toBe(0);
      const back = await waitForUnit(project, 'back on primary, fresh twin parked', (u) => u.state === 'primary' && u.twin.status === 'warm');
      expect(back.active).toBe('primary');
      await waitFor(async () => (await info(port).catch(() => undefined))?.role === 'primary', { timeoutMs: 10_000, what: 'the primary answering' });
      manager.kill('SIGTERM');
      await manager;
    });
  }

  it('an app that throws while loading under the launcher leaves the unit critical with the reason, not a loop', async () => {
    const name = `warmthrow${process.pid}`;
    const { project, manager } = await warmProject(name, 'probe-app.cjs', { THROW_IN_BACKUP: '1' });
    await waitForUnit(project, 'parked beside a healthy primary', (u) => u.twin.status === 'warm' && u.health === 'healthy' && u.samples > 0);
    await writeFile(join(project.dir, 'die'), '');
    const failover = await project.cli('failover', `pm2:${name}`);
    expect(failover.exitCode, failover.stderr).toBe(0);
    const failed = await waitForUnit(project, 'twin failed', (u) => u.state === 'backup' && u.twin.status === 'failed');
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
    const project = await session.project({
      'ecosystem.config.cjs': ecosystem([
        { name: 'py', script: 'worker.py', interpreter: 'python3' },
        { name: 'clustered', script: join(fixtures, 'worker.cjs'), exec_mode: 'cluster', instances: 2 },
        { name: 'preload', script: join(fixtures, 'worker.cjs'), node_args: ['--require', 'dotenv/config'] },
        { name: 'fine', script: join(fixtures, 'worker.cjs') },
      ]),
      'redundancy.config.yaml': 'twin: { mode: warm }\nsources: { pm2: { live: false } }\n',
    });
    const result = await project.cli('twins', '--dry-run');
    expect(result.exitCode).toBe(0);
    const line = (name: string) => result.stdout.split('\n').find((l) => l.startsWith(`pm2:${name} `)) ?? '';
    expect(line('py')).toContain('cold (warm refused: interpreter python3 is not node)');
    expect(line('clustered')).toContain('cold (warm refused: cluster mode)');
    expect(line('preload')).toContain('cold (warm refused: node_args --require would load code before the twin parks)');
    expect(line('fine')).toMatch(/fine-backup\s+warm/);
  });
});
