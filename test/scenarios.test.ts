import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HealthReport } from '../src/core/report-types.js';
import { pm2List } from './helpers/pm2-cli.js';
import type { TestProject } from './helpers/project.js';
import { appProject, pm2Session, status, waitForUnit } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

const session = pm2Session();

function httpProject(name: string, policy: Record<string, string | number> = {}) {
  return appProject(session, { name, policy });
}

function startManager(project: TestProject, env: NodeJS.ProcessEnv = {}) {
  return session.startManager(project, env);
}

async function stopManager(child: ReturnType<typeof startManager>): Promise<void> {
  child.kill('SIGTERM');
  await child;
}

async function bootLog(project: TestProject): Promise<string[]> {
  const text = await readFile(join(project.dir, 'boots.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

/** The app on the shared port, once the side that should answer does: a started process takes a moment to listen. */
async function answer(port: number, role: 'primary' | 'backup'): Promise<{ status: number; role: string }> {
  return waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      const body = (await res.json()) as { role: string };
      return body.role === role && { status: res.status, role: body.role };
    },
    { timeoutMs: 10_000, what: `the ${role} answering on ${port}` },
  );
}

describe('failover to the twin', () => {
  it('a primary that dies at boot runs on its twin; status and report say so', async () => {
    const name = `boot${process.pid}`;
    const project = await httpProject(name, { holdDown: '1h' });
    await writeFile(join(project.dir, 'die'), '');
    const manager = startManager(project);

    const unit = await waitForUnit(project, 'unit on its twin', (u) => u.state === 'backup' && u.active === 'twin');
    expect(unit.health).toBe('unhealthy');
    expect(unit.twin).toMatchObject({ name: `${name}-backup`, status: 'online', mode: 'cold' });
    expect(unit.failovers).toBe(1);

    const views = await pm2List(session.pm2.env);
    expect(views.get(name)).toBe('stopped');
    expect(views.get(`${name}-backup`)).toBe('online');
    expect(await answer(project.port, 'backup')).toEqual({ status: 200, role: 'backup' });

    const { code } = await status(project);
    expect(code).toBe(1);
    const saved = JSON.parse(await readFile(join(project.dir, 'logs/redundancy-health.json'), 'utf8')) as HealthReport;
    expect(saved.units[0]).toMatchObject({ id: `pm2:${name}`, state: 'backup', active: 'twin' });
    expect(saved.summary).toMatchObject({ units: 1, onTwin: 1, healthy: 0 });
    await stopManager(manager);
  });

  it('an HTTP primary answering 500 fails over; mended, it fails back after a trial and the twin stops', async () => {
    const name = `http${process.pid}`;
    const project = await httpProject(name);
    const manager = startManager(project);
    await waitForUnit(project, 'healthy primary', (u) => u.health === 'healthy' && u.samples >= 2);
    expect((await status(project)).code).toBe(0);

    await writeFile(join(project.dir, 'fail'), '');
    const failed = await waitForUnit(project, 'failover', (u) => u.state === 'backup' && u.active === 'twin');
    expect(failed.reason).toMatch(/error rate 1\.00 > 0\.80/);
    expect(await answer(project.port, 'backup')).toEqual({ status: 200, role: 'backup' });

    await rm(join(project.dir, 'fail'));
    const back = await waitForUnit(project, 'failback', (u) => u.state === 'primary' && u.twin.status === 'stopped' && u.active === 'primary');
    expect(back.failovers).toBe(1);
    expect(await answer(project.port, 'primary')).toEqual({ status: 200, role: 'primary' });
    const views = await pm2List(session.pm2.env);
    expect(views.get(name)).toBe('online');
    expect(views.get(`${name}-backup`)).toBe('stopped');
    await stopManager(manager);
  });
});

describe('a manager killed during failover', () => {
  for (const when of ['before', 'after'] as const) {
    it(`resumes from the state file, twin started once (SIGKILL ${when} the twin starts)`, async () => {
      const name = `kill${when}${process.pid}`;
      // No failback trial while the test looks: it would start the twin again, rightly.
      const project = await httpProject(name, { holdDown: '1h' });
      await writeFile(join(project.dir, 'die'), '');
      const doomed = startManager(project, { REDUNDANCY_FAULT: `kill-${when}:start:${name}-backup` });
      const result = await doomed;
      expect(result.signal).toBe('SIGKILL');

      const state = JSON.parse(await readFile(join(project.dir, '.redundancy/state.json'), 'utf8')) as {
        version: number;
        units: Record<string, { state: { kind: string } }>;
      };
      expect(state.version).toBe(2);
      expect(state.units[`pm2:${name}`]?.state.kind).toBe('failing-over');

      const manager = startManager(project);
      await waitForUnit(project, 'resumed onto the twin', (u) => u.state === 'backup' && u.active === 'twin');
      await answer(project.port, 'backup');
      const twinBoots = (await bootLog(project)).filter((line) => line.startsWith('backup'));
      expect(twinBoots).toHaveLength(1);
      await stopManager(manager);
    });
  }
});

describe('manual switching and stopping', () => {
  it('failover and failback by hand go through the same transitions', async () => {
    const name = `manual${process.pid}`;
    const project = await httpProject(name);
    const manager = startManager(project);
    await waitForUnit(project, 'healthy primary', (u) => u.health === 'healthy');

    const wrong = await project.cli('failback', `pm2:${name}`);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr.trim()).toBe(`redundancy: pm2:${name} is in state primary; failback needs state backup`);

    expect((await project.cli('failover', `pm2:${name}`)).exitCode).toBe(0);
    await waitForUnit(project, 'manual failover', (u) => u.state === 'backup' && u.active === 'twin');
    expect(await answer(project.port, 'backup')).toEqual({ status: 200, role: 'backup' });

    expect((await project.cli('failback', `pm2:${name}`)).exitCode).toBe(0);
    await waitForUnit(project, 'manual failback', (u) => u.state === 'primary' && u.twin.status === 'stopped');
    await stopManager(manager);
  });

  it('SIGTERM leaves the active side running; a new manager carries on', async () => {
    const name = `term${process.pid}`;
    const project = await httpProject(name, { holdDown: '1h' });
    await writeFile(join(project.dir, 'die'), '');
    const manager = startManager(project);
    await waitForUnit(project, 'on twin', (u) => u.state === 'backup');
    await stopManager(manager);
    expect((await pm2List(session.pm2.env)).get(`${name}-backup`)).toBe('online');
    const down = await status(project);
    expect(down.code).toBe(2);

    const again = startManager(project);
    const unit = await waitForUnit(project, 'carried on', (u) => u.state === 'backup' && u.active === 'twin');
    await answer(project.port, 'backup');
    expect(unit.failovers).toBe(1);
    expect((await bootLog(project)).filter((l) => l.startsWith('backup'))).toHaveLength(1);
    await stopManager(again);
  });

  it('start runs the manager under PM2 with the twins registered; stop --cleanup removes them', async () => {
    const name = `pm2run${process.pid}`;
    const project = await httpProject(name);
    const started = await project.cli('start');
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toContain(`twins registered: ${name}-backup`);
    let views = await pm2List(session.pm2.env);
    expect(views.get('redundancy-manager')).toBe('online');
    expect(views.get(`${name}-backup`)).toBe('stopped');
    expect(views.get(name)).toBe('online');

    const again = await project.cli('start');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('already running');

    const stopped = await project.cli('stop', '--cleanup');
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    views = await pm2List(session.pm2.env);
    expect(views.has('redundancy-manager')).toBe(false);
    expect(views.has(`${name}-backup`)).toBe(false);
    expect(views.get(name)).toBe('online');
    expect(existsSync(join(project.dir, '.redundancy/state.json'))).toBe(false);
  });
});
