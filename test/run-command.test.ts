import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../src/core/schedule/ledger-event.js';
import { ledgerOf } from './helpers/cron-user.js';
import { cliPath, type TestProject } from './helpers/project.js';
import { pm2Session } from './helpers/session.js';

/**
 * `redundancy run <unit> [--twin] -- <cmd...>` as cron calls it: no manager, no PM2, the command's
 * stdio and exit code passed through, every run in the ledger, and a gate that fails open.
 */
const session = pm2Session();

const files = {
  'automation/crontab': '# redundancy: name=job\n* * * * * sh job.sh\n',
  'job.sh': 'echo "job ran as ${REDUNDANCY_ROLE:-primary}" >> runs.log\n',
};

async function run(project: TestProject, args: string[], input?: string) {
  const r = await execa('node', [cliPath, '--cwd', project.dir, 'run', ...args], {
    env: project.env, reject: false, timeout: 60_000, ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const byRun = (events: LedgerEvent[], run: string) => events.filter((e) => e.run === run);

describe('redundancy run', () => {
  it('passes stdio and the exit code through and pairs start and end by run id, matched to a slot, with no manager', async () => {
    const project = await session.project(files);
    const script = 'read line; echo "out:$line"; echo "bad news" >&2; exit 7';
    // stderr goes straight to the caller's (cron mails it): the wrapper does not see it.
    const r = await run(project, ['cron:job', '--', 'sh', '-c', script], 'hello\n');
    expect(r).toMatchObject({ exitCode: 7, stdout: 'out:hello' });
    expect(r.stderr).toBe('bad news');

    const [start, end, ...rest] = await ledgerOf(project, 'cron:job');
    expect(rest).toEqual([]);
    expect(start).toMatchObject({ unit: 'cron:job', side: 'primary', event: 'start', exitCode: null, pid: expect.any(Number) as number });
    expect(end).toMatchObject({ run: start!.run, unit: 'cron:job', side: 'primary', event: 'end', pid: start!.pid, slot: start!.slot, exitCode: 7, signal: null, reason: 'exit 7' });
    // `* * * * *`: the run counts for the nearest minute.
    expect(start!.slot! % 60_000).toBe(0);
    expect(Math.abs(start!.at - start!.slot!)).toBeLessThanOrEqual(30_000);
    expect(end!.durationMs).toBeGreaterThanOrEqual(0);

    // No command: the line's own, in the project directory.
    expect((await run(project, ['cron:job'])).exitCode).toBe(0);
    expect(await readFile(join(project.dir, 'runs.log'), 'utf8')).toBe('job ran as primary\n');
    const events = await ledgerOf(project, 'cron:job');
    expect(events).toHaveLength(4);
    expect(events[2]!.run).not.toBe(start!.run);
    expect(byRun(events, events[2]!.run).map((e) => [e.event, e.exitCode])).toEqual([['start', null], ['end', 0]]);

    // Nothing was started for it: no PM2 daemon, no manager, no state.
    expect(existsSync(join(session.pm2.home, 'pm2.pid'))).toBe(false);
    expect(existsSync(join(project.dir, '.redundancy/manager.sock'))).toBe(false);
    expect(existsSync(join(project.dir, '.redundancy/state.json'))).toBe(false);
  });

  it('exits 64 for a unit the inventory does not have, and runs nothing', async () => {
    const project = await session.project(files);
    for (const unit of ['cron:nope', 'script:nope', 'pm2:job']) {
      const r = await run(project, [unit, '--', 'touch', join(project.dir, 'marker')]);
      expect(r.exitCode).toBe(64);
      expect(r.stderr).toMatch(new RegExp(`^redundancy: unknown unit ${unit}\\b[^\\n]*$`));
    }
    expect(existsSync(join(project.dir, 'marker'))).toBe(false);
    expect(existsSync(join(project.dir, '.redundancy/ledger'))).toBe(false);
  });

  it('while the unit is on its twin, records skipped for the primary and exits 0; --twin runs by hand', async () => {
    const project = await session.project(files);
    expect((await project.cli('failover', 'cron:job')).exitCode).toBe(0);
    const marker = join(project.dir, 'marker');
    const r = await run(project, ['cron:job', '--', 'sh', '-c', `touch '${marker}'; exit 3`]);
    expect(r.exitCode).toBe(0);
    // Under cron, stderr is mailed every run: a skip is said in the ledger, not on stderr (unless a terminal).
    expect(r.stderr).toBe('');
    expect(existsSync(marker)).toBe(false);
    const [skipped] = await ledgerOf(project, 'cron:job');
    expect(skipped).toMatchObject({ unit: 'cron:job', side: 'primary', event: 'skipped', pid: null, reason: 'unit is on its twin' });
    expect(skipped!.slot! % 60_000).toBe(0);

    expect((await run(project, ['cron:job', '--twin', '--', 'sh', '-c', `touch '${marker}'; exit 3`])).exitCode).toBe(3);
    expect(existsSync(marker)).toBe(true);
    expect((await ledgerOf(project, 'cron:job')).slice(1).map((e) => [e.side, e.event, e.exitCode])).toEqual([['twin', 'start', null], ['twin', 'end', 3]]);
  });

  it('runs recorded with no manager are judged by the next round (`check`)', async () => {
    const project = await session.project(files);
    expect((await project.cli('check')).exitCode).toBe(0);
    for (const code of [0, 3]) expect((await run(project, ['cron:job', '--', 'sh', '-c', `exit ${code}`])).exitCode).toBe(code);
    // One of two runs failed: degraded (1), still on its primary.
    expect((await project.cli('check')).exitCode).toBe(1);
    const report = JSON.parse((await project.cli('status', '--json')).stdout) as { units: Array<Record<string, unknown>> };
    expect(report.units[0]).toMatchObject({ id: 'cron:job', samples: 2, errorRate: 0.5, runs: { lastRun: { side: 'primary', exitCode: 3, ok: false } } });
  });
});

describe('the gate fails open', () => {
  /** The run ids of the runs that failed open, by cause, for the ledger check below. */
  const failedOpen = new Map<string, { project: TestProject; run: string }>();

  /** The unit is on its twin: only a gate that cannot tell runs the primary's command. */
  async function onTwin(): Promise<TestProject> {
    const project = await session.project(files);
    expect((await project.cli('failover', 'cron:job')).exitCode).toBe(0);
    return project;
  }

  async function runsAnyway(project: TestProject, cause: string): Promise<void> {
    const marker = join(project.dir, `ran-${cause}`);
    const r = await run(project, ['cron:job', '--', 'sh', '-c', `touch '${marker}'; echo out; exit 5`]);
    expect(r, cause).toMatchObject({ exitCode: 5, stdout: 'out' });
    expect(existsSync(marker), cause).toBe(true);
    const ended = (await ledgerOf(project, 'cron:job')).filter((e) => e.event === 'end').at(-1);
    expect(ended, cause).toMatchObject({ side: 'primary', exitCode: 5 });
    failedOpen.set(cause, { project, run: ended!.run });
  }

  it('runs the command when the config does not load, the state is unreadable, or older than schedules.staleAfter', async () => {
    const broken = await onTwin();
    await writeFile(join(broken.dir, 'redundancy.config.yaml'), 'checkInterval: [oops\n');
    await runsAnyway(broken, 'config');

    const unreadable = await onTwin();
    const stateFile = join(unreadable.dir, '.redundancy/state.json');
    await writeFile(stateFile, '{"version": 2, "units": {"cron:job": {"state": {"kind": "bac');
    await runsAnyway(unreadable, 'unreadable');
    // Read only: `run` never quarantines or rewrites the state.
    expect(await readFile(stateFile, 'utf8')).toMatch(/"bac$/);

    const stale = await onTwin();
    await stale.write('redundancy.config.yaml', 'schedules: { staleAfter: 1m }\n');
    const old = new Date(Date.now() - 120_000);
    await utimes(join(stale.dir, '.redundancy/state.json'), old, old);
    await runsAnyway(stale, 'stale');
  });

  it('writes in the ledger why it ran (README: "runs the primary\'s command and writes why in the ledger")', async () => {
    const why: Record<string, RegExp> = {
      config: /config does not load.*failing open/,
      unreadable: /no readable state file: failing open/,
      stale: /state is stale \(written [^)]+ ago\): failing open/,
    };
    const got: Record<string, string> = {};
    for (const cause of Object.keys(why)) {
      const { project, run: id } = failedOpen.get(cause)!;
      got[cause] = byRun(await ledgerOf(project, 'cron:job'), id).map((e) => `${e.event}: ${e.reason ?? '-'}`).join(' | ');
    }
    expect(got).toEqual(Object.fromEntries(Object.entries(why).map(([cause, pattern]) => [cause, expect.stringMatching(pattern)])));
  });

  it('runs the command when the inventory cannot be read (a bad line elsewhere in the crontab, crontab -l failing)', async () => {
    const typo = await session.project(files);
    await typo.write('automation/crontab', `${files['automation/crontab']}61 * * * * echo typo\n`);
    const noCrontab = await session.project({ ...files, 'redundancy.config.yaml': 'sources:\n  cron: { userCrontab: true }\n' });
    const emptyBin = await mkdtemp(join(tmpdir(), 'redundancy-nocron-'));
    const outcome = async (project: TestProject, env: NodeJS.ProcessEnv) => {
      const marker = join(project.dir, 'marker');
      const r = await execa(process.execPath, [cliPath, '--cwd', project.dir, 'run', 'cron:job', '--', '/bin/touch', marker], { env, reject: false });
      return { exitCode: r.exitCode, ran: existsSync(marker) };
    };
    try {
      expect({
        typo: await outcome(typo, typo.env),
        noCrontab: await outcome(noCrontab, { ...noCrontab.env, PATH: emptyBin }),
      }).toEqual({ typo: { exitCode: 0, ran: true }, noCrontab: { exitCode: 0, ran: true } });
    } finally {
      await rm(emptyBin, { recursive: true, force: true });
    }
  });
});
