import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/core/report-types.js';
import { waitFor } from '../helpers/wait-for.js';
import { useChaosEnv } from './helpers/chaos-env.js';
import type { ChaosProject, ManagerProcess } from './helpers/chaos-project.js';

/**
 * `logs/` not writable (a file where the directory should be: root ignores chmod): supervision goes
 * on, failover and failback included, and each error is said once, not every round.
 */

const chaos = useChaosEnv();

/** The running manager's report over its control socket (`status --json`), if it is `manager`'s. */
async function liveReport(project: ChaosProject, manager: ManagerProcess): Promise<HealthReport | undefined> {
  const result = await project.cli('status', '--json');
  if (result.exitCode === 2 || !result.stdout.startsWith('{')) return undefined;
  const report = JSON.parse(result.stdout) as HealthReport & { manager: { running?: boolean } };
  return report.manager.pid === manager.pid && report.manager.running ? report : undefined;
}

describe('logs/ not writable', () => {
  it('supervision goes on; the error is reported once, not per round', async () => {
    // The hold-down leaves time to see the twin answer and mend the primary before the failback trial.
    const project = await chaos.env.project({ names: [`l${process.pid}`], checkInterval: '200ms', policy: { holdDown: '6s' } });
    const unit = project.units[0]!;
    await writeFile(join(project.dir, 'logs'), 'a file where logs/ should be\n');
    const manager = project.startManager();
    await waitFor(() => liveReport(project, manager), { timeoutMs: 30_000, intervalMs: 250, what: 'manager answering' });

    await project.setFailing(unit.name, true);
    await waitFor(async () => (await liveReport(project, manager))?.units[0]?.active === 'twin', {
      timeoutMs: 45_000,
      intervalMs: 250,
      what: 'failover with logs/ unwritable',
    });
    // The report says `twin` once PM2 has it online, which is before the app listens.
    await waitFor(async () => (await project.answer(unit))?.role === 'backup', { timeoutMs: 10_000, what: 'the twin answering' });
    await project.setFailing(unit.name, false);
    const back = await waitFor(
      async () => {
        const u = (await liveReport(project, manager))?.units[0];
        return u?.state === 'primary' && u.twin.status === 'stopped' ? u : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250, what: 'failback with logs/ unwritable' },
    );
    expect(back.failovers).toBe(1);
    // Dozens of rounds ran by now, each writing a report that could not be written.
    const saved = await project.readState();
    expect(saved?.units[unit.id]?.state.kind).toBe('primary');

    manager.kill('SIGTERM');
    const result = await manager;
    expect(result.exitCode).toBe(0);
    const lines = String(result.stderr).split('\n').filter(Boolean);
    const said = (text: string) => lines.filter((line) => line.includes(text));
    const all = lines.join('\n');
    expect(said(`cannot write ${join(project.dir, 'logs')}; logging to stderr`), all).toHaveLength(1);
    expect(said('health report not written; supervision goes on'), all).toHaveLength(1);
    // Nothing else complains, round after round.
    const errors = lines.filter((line) => /"level":(50|60)/.test(line));
    expect(errors, errors.join('\n')).toHaveLength(1);
    expect(chaos.env.watcher.overlaps).toEqual([]);
  });
});
