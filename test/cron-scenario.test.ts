import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { UnitReport } from '../src/core/report-types.js';
import { beCron, crontabOf, ledgerOf, throwawayCronUser, wrappedLineOf } from './helpers/cron-user.js';
import type { TestProject } from './helpers/project.js';
import { pm2Session, status } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * A new user's first day with a crontab: install, a job that breaks, failover to the twin the
 * manager runs on its throttled schedule, the primary's gate closed, mend, failback. No cron
 * daemon runs: the test is cron, running the installed line as cron would.
 */
const session = pm2Session();
const cron = throwawayCronUser('s');

const minute = 60_000;
const unitId = 'cron:job';

async function unitOf(project: TestProject): Promise<UnitReport | undefined> {
  return (await status(project)).report.units?.find((u) => u.id === unitId);
}

async function savedState(project: TestProject): Promise<{ kind: string; started?: boolean } | undefined> {
  const text = await readFile(join(project.dir, '.redundancy/state.json'), 'utf8').catch(() => '{}');
  return (JSON.parse(text) as { units?: Record<string, { state: { kind: string; started?: boolean } }> }).units?.[unitId]?.state;
}

it('install, break, fail over to the twin on its schedule, gate closed, mend, fail back', { timeout: 150_000 }, async () => {
  const config = (holdDown: string) => [
    'checkInterval: 200ms',
    `policy: { byKind: { cron: { holdDown: ${holdDown} } } }`,
    'schedules: { throttle: { cron: 1m } }',
    `sources: { pm2: { live: false }, cron: { user: ${cron.user} } }`,
    '',
  ].join('\n');
  const project = await session.project({
    'automation/crontab': '# redundancy: name=job\n* * * * * sh job.sh\n',
    'job.sh': '[ "${REDUNDANCY_ROLE:-}" != backup ] && [ -e fail ] && exit 1\necho "${REDUNDANCY_ROLE:-primary}" >> runs.log\n',
    'redundancy.config.yaml': config('2s'),
  });
  const runsLog = () => readFile(join(project.dir, 'runs.log'), 'utf8').catch(() => '');
  expect((await project.cli('twins', '--install-crontab')).exitCode).toBe(0);
  const line = await wrappedLineOf(cron.user, unitId);

  // The twin fires at the first minute boundary after the failover, and the failback trial (after
  // the hold-down) turns it off: the hold-down must reach past that boundary. With 2s the trial
  // would come first and the twin would never fire.
  if (minute - (Date.now() % minute) < 15_000) {
    await waitFor(() => minute - (Date.now() % minute) > 30_000, { timeoutMs: 20_000, intervalMs: 200, what: 'a fresh minute' });
  }
  const boundary = Date.now() - (Date.now() % minute) + minute;
  const holdDownMs = boundary - Date.now() + 4_000;
  await project.write('redundancy.config.yaml', config(`${holdDownMs}ms`));
  const manager = session.startManager(project);
  await waitFor(async () => (await unitOf(project))?.state === 'primary', { timeoutMs: 30_000, intervalMs: 100, what: 'the manager up, job on its primary' });

  // Broken: cron runs the line, the job fails, until three failed runs of the last five fail it over.
  await writeFile(join(project.dir, 'fail'), '');
  let failedRuns = 0;
  const deadline = Date.now() + 40_000;
  while ((await unitOf(project))?.state === 'primary') {
    expect(Date.now(), `${unitId} failing over within 40s`).toBeLessThan(deadline);
    expect((await beCron(line, cron.home)).exitCode).toBe(1);
    failedRuns += 1;
    // The manager has read this run before cron runs the line again.
    await waitFor(async () => {
      const unit = await unitOf(project);
      return unit !== undefined && (unit.samples >= failedRuns || unit.state !== 'primary');
    }, { timeoutMs: 10_000, intervalMs: 100, what: `run ${failedRuns} observed` });
  }
  expect(failedRuns).toBe(3);
  const onTwin = await waitFor(async () => {
    const u = await unitOf(project);
    return u?.state === 'backup' ? u : undefined;
  }, { timeoutMs: 10_000, intervalMs: 100, what: `${unitId} on its twin` });
  expect(onTwin).toMatchObject({ active: 'twin', failovers: 1, reason: expect.stringMatching(/^error rate 1\.00 > 0\.80/) as string });
  expect(Date.parse(onTwin.lastTransitionAt!), 'failover before the minute boundary the hold-down was sized for').toBeLessThan(boundary);
  expect(onTwin.runs).toMatchObject({ twinSchedule: '* * * * *', nextTwinRun: new Date(boundary).toISOString() });

  // The manager runs the twin at the boundary (the one slow wait), as the backup: it succeeds.
  const twinRun = await waitFor(async () => {
    const twin = (await ledgerOf(project, unitId)).filter((e) => e.side === 'twin');
    return twin.some((e) => e.event === 'end') ? twin : undefined;
  }, { timeoutMs: boundary - Date.now() + 15_000, intervalMs: 200, what: 'the twin run at the minute boundary' });
  expect(twinRun.map((e) => [e.event, e.exitCode])).toEqual([['start', null], ['end', 0]]);
  expect(twinRun[0]!.at).toBeGreaterThanOrEqual(boundary);
  expect(twinRun[0]!.at).toBeLessThan(boundary + 5_000);
  expect(await runsLog()).toBe('backup\n');

  // Cron runs the primary's line too: the gate is closed, skipped, exit 0, the job does not run, and
  // nothing on stderr (cron would mail it every minute): the ledger says it.
  expect(await beCron(line, cron.home)).toMatchObject({ exitCode: 0, stderr: '' });
  expect((await ledgerOf(project, unitId)).at(-1)).toMatchObject({ side: 'primary', event: 'skipped', reason: 'unit is on its twin' });
  expect(await runsLog()).toBe('backup\n');
  expect((await savedState(project))?.kind).toBe('backup');

  // Mended: after the hold-down the trial opens the gate; two good runs bring the unit back.
  await rm(join(project.dir, 'fail'));
  await waitFor(async () => {
    const state = await savedState(project);
    return state?.kind === 'probing' && state.started === true;
  }, { timeoutMs: holdDownMs + 15_000, intervalMs: 100, what: 'the failback trial' });
  for (let i = 0; i < 2; i += 1) expect((await beCron(line, cron.home)).exitCode).toBe(0);
  const back = await waitFor(async () => {
    const u = await unitOf(project);
    return u?.state === 'primary' && u.active === 'primary' ? u : undefined;
  }, { timeoutMs: 15_000, intervalMs: 100, what: `${unitId} back on its primary` });
  expect(await runsLog()).toBe('backup\nprimary\nprimary\n');
  expect(back).toMatchObject({ failovers: 1, health: 'healthy' });
  const nextSlot = Date.parse(back.runs!.nextSlot!);
  expect(back.runs).toMatchObject({ schedule: '* * * * *', lastRun: { side: 'primary', exitCode: 0, ok: true }, nextTwinRun: null });
  expect(nextSlot % minute).toBe(0);
  expect(nextSlot).toBeGreaterThan(Date.parse(back.runs!.lastRun!.at));
  expect(nextSlot - Date.now()).toBeLessThanOrEqual(minute);

  manager.kill('SIGTERM');
  await manager;
  expect((await project.cli('stop', '--cleanup')).exitCode).toBe(0);
  expect(await crontabOf(cron.user)).toBe('');
});
