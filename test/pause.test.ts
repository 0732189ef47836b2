import { describe, expect, it } from 'vitest';
import { appProject, pm2Session, status, waitForUnit } from './helpers/session.js';

/** Maintenance: a paused unit records its samples but does not fail over; resume lets it. */
const session = pm2Session();

describe('pause and resume', () => {
  it('keeps a failing unit on its primary while paused, shows the pause, and fails it over once resumed', async () => {
    const name = `pz${process.pid}`;
    const project = await appProject(session, { name, policy: { window: 2, minSamples: 2, holdDown: '1h' } });
    const manager = session.startManager(project);
    await waitForUnit(project, 'watched', (u) => u.samples > 0);
    const paused = await project.cli('pause', `pm2:${name}`, '--for', '1h');
    expect(paused).toMatchObject({ exitCode: 0, stdout: expect.stringContaining(`pm2:${name} paused for 1h`) });
    await project.write('fail', '');
    const held = await waitForUnit(project, 'failing samples recorded while paused', (u) => u.errorRate === 1 && u.samples === 2);
    expect(held).toMatchObject({ state: 'primary', paused: { until: expect.any(String) } });
    expect(held.reason).toMatch(/^paused; would have gone failing-over: error rate 1\.00 > 0\.80/);
    expect((await project.cli('status')).stdout).toMatch(new RegExp(`pm2:${name}\\s+primary \\(paused\\)`));
    expect((await project.cli('resume', `pm2:${name}`)).exitCode).toBe(0);
    await waitForUnit(project, 'failed over once resumed', (u) => u.state === 'backup');
    expect((await status(project)).report.units[0]!.paused).toBeUndefined();
    manager.kill('SIGTERM');
    await manager;
  });

  it('says a pause without a manager applies when one starts, and refuses an unknown unit', async () => {
    const project = await appProject(session, { name: `pn${process.pid}` });
    expect((await project.cli('pause', '--all')).stdout).toContain('every unit paused until `redundancy resume`: samples are recorded, no failover or failback fires (no manager running: it applies when one starts)');
    expect(await project.cli('pause', 'pm2:nope')).toMatchObject({ exitCode: 64, stderr: 'redundancy: unknown unit pm2:nope; see `redundancy inventory`' });
    expect(await project.cli('pause')).toMatchObject({ exitCode: 64 });
  });
});
