import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/core/report-types.js';
import { waitFor } from '../helpers/wait-for.js';
import { useChaosEnv } from './helpers/chaos-env.js';
import type { ChaosProject, ChaosUnit } from './helpers/chaos-project.js';

/**
 * The state file corrupted or truncated between two managers: a clear warning naming the file and
 * where the bad one was kept, the bad file kept aside as it was, and the state rebuilt from PM2's
 * live view, so units on their twins stay there instead of flipping back.
 */

const chaos = useChaosEnv();

const damages: Array<{ name: string; damage: (text: string) => string }> = [
  { name: 'garbage', damage: () => '\u0000\u0007{{ not json at all' },
  { name: 'truncated', damage: (text) => text.slice(0, Math.floor(text.length / 2)) },
  { name: 'empty', damage: () => '' },
  { name: 'another version', damage: (text) => text.replace(/"version":\s*2/, '"version": 99') },
];

async function quarantined(project: ChaosProject): Promise<string[]> {
  return (await readdir(join(project.dir, '.redundancy'))).filter((f) => f.startsWith('state.json.corrupt-')).sort();
}

describe('the state file corrupted or truncated', () => {
  it('is kept aside with a clear warning; units are rebuilt on the side PM2 shows them on', async () => {
    const names = ['a', 'b', 'c'].map((n) => `s${n}${process.pid}`);
    const project = await chaos.env.project({ names, policy: { holdDown: '1h' } });
    const [a, b, c] = project.units as [ChaosUnit, ChaosUnit, ChaosUnit];
    await project.setFailing(a.name, true);
    await project.setFailing(b.name, true);
    const first = project.startManager();
    await waitFor(
      async () => {
        const saved = await project.readState();
        if (saved?.units[a.id]?.state.kind !== 'backup' || saved.units[b.id]?.state.kind !== 'backup') return false;
        // Answering: booted, so in the boot log.
        return (await project.answer(a))?.role === 'backup' && (await project.answer(b))?.role === 'backup' && (await project.answer(c))?.role === 'primary';
      },
      { timeoutMs: 45_000, what: 'a and b on their twins, answering' },
    );
    await project.stopManager(first);
    const bootsBefore = await project.bootLog();

    for (const [i, { name, damage }] of damages.entries()) {
      const good = await readFile(project.stateFile, 'utf8');
      const bad = damage(good);
      await writeFile(project.stateFile, bad);
      const manager = project.startManager();
      await project.ready(manager);

      // The warning: once, naming the file, what was wrong, and where it went.
      const kept = await quarantined(project);
      expect(kept, name).toHaveLength(i + 1);
      const warnings = (await project.readLog()).filter((l) => typeof l.msg === 'string' && l.msg.includes('was unreadable'));
      expect(warnings, name).toHaveLength(i + 1);
      expect(warnings.at(-1)?.msg).toMatch(new RegExp(`^state file ${project.stateFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was unreadable \\(.+\\); kept as .+state\\.json\\.corrupt-.+; state rebuilt from PM2$`));
      // The bad file, byte for byte, under the name the warning gave.
      const keptAs = /kept as (\S+);/.exec(String(warnings.at(-1)?.msg))![1]!;
      expect(await readFile(keptAs, 'utf8')).toBe(bad);

      // Rebuilt from PM2: a and b stay on their twins, c on its primary; a valid file again.
      const saved = await project.readState();
      expect(saved?.version).toBe(2);
      expect(saved?.units[a.id]?.state.kind, name).toBe('backup');
      expect(saved?.units[b.id]?.state.kind, name).toBe('backup');
      expect(saved?.units[c.id]?.state.kind, name).toBe('primary');
      expect(saved?.units[a.id]?.reason).toMatch(/^rebuilt from PM2: twin online, primary stopped/);

      // status works and says so.
      const status = await project.cli('status', '--json');
      expect(status.exitCode, status.stderr).toBe(1);
      const report = JSON.parse(status.stdout) as HealthReport;
      expect(report.units.map((u) => [u.id, u.state, u.active])).toEqual([
        [a.id, 'backup', 'twin'],
        [b.id, 'backup', 'twin'],
        [c.id, 'primary', 'primary'],
      ]);
      await project.stopManager(manager);
    }

    // Nothing moved in PM2: no twin restarted, no primary started beside its twin.
    expect(await project.bootLog()).toEqual(bootsBefore);
    expect((await project.answer(a))?.role).toBe('backup');
    expect((await project.answer(c))?.role).toBe('primary');
    expect(chaos.env.watcher.overlaps).toEqual([]);
  });
});
