import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { useChaosEnv } from './helpers/chaos-env.js';
import type { ChaosProject, ChaosUnit } from './helpers/chaos-project.js';
import { StateWatcher } from './helpers/state-watcher.js';

/**
 * `pm2 kill` while units run on their twins: the daemon and every app go. The manager must notice,
 * bring a daemon back, and restore each unit's side: twins for units on their twin (primaries kept
 * stopped), primaries (twins registered stopped) for the others; state untouched.
 */

const chaos = useChaosEnv();

/** What answers on each unit's port, and PM2's status of both sides. */
async function sides(project: ChaosProject, unit: ChaosUnit) {
  const views = new Map((await chaos.env.watcher.list()).map((v) => [v.name, v.status]));
  return { answer: (await project.answer(unit))?.role, primary: views.get(unit.name), twin: views.get(unit.twin) };
}

async function restored(project: ChaosProject, onTwin: ChaosUnit[], onPrimary: ChaosUnit[]): Promise<boolean> {
  for (const unit of onTwin) {
    const s = await sides(project, unit);
    if (s.answer !== 'backup' || s.twin !== 'online' || s.primary === 'online') return false;
  }
  for (const unit of onPrimary) {
    const s = await sides(project, unit);
    if (s.answer !== 'primary' || s.primary !== 'online' || s.twin !== 'stopped') return false;
  }
  return true;
}

describe('the PM2 daemon killed while units are on their twins', () => {
  it('the manager reconnects, starts a daemon, and restores the right side of every unit, twice over', async () => {
    const names = ['a', 'b', 'c'].map((n) => `d${n}${process.pid}`);
    const project = await chaos.env.project({ names, policy: { holdDown: '1h' } });
    const [a, b, c] = project.units as [ChaosUnit, ChaosUnit, ChaosUnit];
    const state = new StateWatcher(project.stateFile, project.units.map((u) => u.id)).start();
    await project.setFailing(a.name, true);
    await project.setFailing(b.name, true);
    const manager = project.startManager();
    await waitFor(() => restored(project, [a, b], [c]), { timeoutMs: 45_000, what: 'a and b on their twins, c on its primary' });
    const before = await project.readState();

    for (let round = 1; round <= 2; round += 1) {
      await chaos.env.pm2Cli('kill');
      await waitFor(() => restored(project, [a, b], [c]), { timeoutMs: 45_000, what: `sides restored after pm2 kill #${round}` });
      expect(manager.exitCode ?? manager.signalCode, 'the manager lives on').toBeNull();
    }

    // The state did not move: a restore is no failover.
    const after = await project.readState();
    for (const unit of project.units) {
      expect(after?.units[unit.id]?.state.kind).toBe(before?.units[unit.id]?.state.kind);
      expect(after?.units[unit.id]?.failovers).toBe(before?.units[unit.id]?.failovers);
    }
    expect(after?.units[c.id]).toMatchObject({ state: { kind: 'primary' }, failovers: 0 });
    // Each twin on duty booted once for its failover and once per new daemon; c's twin never.
    expect(await project.boots(a.name)).toEqual({ primary: 1, backup: 3 });
    expect(await project.boots(b.name)).toEqual({ primary: 1, backup: 3 });
    expect(await project.boots(c.name)).toEqual({ primary: 3, backup: 0 });

    const log = await project.readLog();
    expect(log.filter((l) => l.msg === 'PM2 daemon lost; reconnecting (a new daemon is started if none runs)')).toHaveLength(2);
    expect(log.filter((l) => l.msg === 'PM2 connected again; restoring the active side of every unit')).toHaveLength(2);
    expect(chaos.env.watcher.reconnects).toBe(2);
    await project.stopManager(manager);
    await state.stop();
    expect(state.violations).toEqual([]);
    expect(chaos.env.watcher.overlaps).toEqual([]);
    expect((await project.bootLog()).filter((boot) => boot.error)).toEqual([]);
  });
});
