import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { useChaosEnv } from './helpers/chaos-env.js';
import type { ChaosProject, ManagerProcess } from './helpers/chaos-project.js';
import { StateWatcher } from './helpers/state-watcher.js';

/**
 * 50 units failing at once: all fail over, none missed, each twin started once; then all fail back;
 * then all fail at once again under a manager SIGKILLed in the middle of it, and the next manager
 * finishes every one.
 */

const count = 50;
const chaos = useChaosEnv();

/** Units not yet where they should be: state `kind`, and `role` answering on the port. */
async function missing(project: ChaosProject, kind: string, role: string): Promise<string[]> {
  const saved = await project.readState();
  const answers = await Promise.all(project.units.map((u) => project.answer(u)));
  return project.units.filter((u, i) => saved?.units[u.id]?.state.kind !== kind || answers[i]?.role !== role).map((u) => u.name);
}

async function allReach(project: ChaosProject, kind: string, role: string, what: string, timeoutMs = 150_000): Promise<number> {
  const started = Date.now();
  let left: string[] = [];
  await waitFor(
    async () => {
      left = await missing(project, kind, role);
      return left.length === 0;
    },
    { timeoutMs, intervalMs: 200, what: `${what} (not yet: ${left.length})` },
  ).catch(async (error: Error) => {
    const saved = await project.readState();
    const views = new Map((await chaos.env.watcher.list()).map((v) => [v.name, `${v.status} pid ${v.pid} restarts ${v.restarts}`]));
    const detail = await Promise.all(
      project.units
        .filter((u) => left.includes(u.name))
        .map(async (u) => `${u.name}: ${JSON.stringify(saved?.units[u.id]?.state)} primary ${views.get(u.name)} twin ${views.get(u.twin)} answer ${JSON.stringify(await project.answer(u))}`),
    );
    throw new Error(`${error.message}; not there: ${detail.join('; ')}`);
  });
  return Date.now() - started;
}

async function twinBoots(project: ChaosProject): Promise<Map<string, number>> {
  const boots = new Map(project.units.map((u) => [u.name, 0]));
  for (const boot of await project.bootLog()) if (boot.role === 'backup' && !boot.error) boots.set(boot.unit, (boots.get(boot.unit) ?? 0) + 1);
  return boots;
}

describe(`${count} units failing at once`, () => {
  it('all fail over, none missed, each twin started once; a manager killed mid-way changes nothing of that', async () => {
    const names = Array.from({ length: count }, (_, i) => `m${i}p${process.pid}`);
    const project = await chaos.env.project({ names, checkInterval: '500ms', policy: { holdDown: '1h' } });
    const state = new StateWatcher(project.stateFile, project.units.map((u) => u.id)).start();
    let manager: ManagerProcess = project.startManager();
    await allReach(project, 'primary', 'primary', `${count} primaries up`);

    await project.setFailing('all', true);
    const failoverMs = await allReach(project, 'backup', 'backup', `${count} failovers`);
    expect([...(await twinBoots(project)).values()]).toEqual(names.map(() => 1));
    await project.stopManager(manager);

    // All back on their primaries, for a second round.
    await project.configure({ holdDown: '1s' });
    await project.setFailing('all', false);
    manager = project.startManager();
    const failbackMs = await allReach(project, 'primary', 'primary', `${count} failbacks`);
    await project.stopManager(manager);

    // All fail again, under a manager that dies around one of the ~2x50 calls of the failover.
    await project.configure({ holdDown: '1h' });
    await project.setFailing('all', true);
    const seed = Number(process.env.CHAOS_SEED ?? randomInt(1, 2 ** 31));
    const doomed = project.startManager({ REDUNDANCY_FAULT: `kill-random:${seed}:${count * 2}` });
    const result = await doomed;
    const words = /redundancy fault: (SIGKILL .+)\[/.exec(String(result.stderr))?.[1];
    expect(result.signal, `seed ${seed}: ${String(result.stderr).slice(-1000)}`).toBe('SIGKILL');
    const leftOver = await missing(project, 'backup', 'backup');
    manager = project.startManager();
    const recoveryMs = await allReach(project, 'backup', 'backup', `${count} failovers finished by the next manager (seed ${seed})`);
    await project.stopManager(manager);
    console.info(
      `${count} units: failover of all in ${failoverMs}ms, failback in ${failbackMs}ms; killed ${words} (seed ${seed}) ` +
        `with ${leftOver.length} not yet on their twin; the next manager finished in ${recoveryMs}ms`,
    );

    expect([...(await twinBoots(project)).values()], `seed ${seed}`).toEqual(names.map(() => 2));
    await state.stop();
    expect(state.violations).toEqual([]);
    expect(chaos.env.watcher.overlaps, `seed ${seed}`).toEqual([]);
    expect((await project.bootLog()).filter((b) => b.error)).toEqual([]);
    const saved = await project.readState();
    expect(project.units.filter((u) => saved?.units[u.id]?.failovers !== 2).map((u) => u.name)).toEqual([]);
  });
});
