import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DrillRecord } from '../src/core/drill.js';
import type { HealthReport } from '../src/core/report-types.js';
import { freePorts, type TestProject } from './helpers/project.js';
import { HttpReceiver } from './helpers/receivers.js';
import { appProject, pm2Session, status, waitForUnit } from './helpers/session.js';

/**
 * Drills through a running manager with real PM2 units (cold and warm twins) and a cron unit:
 * the times are reported and logged, the unit ends on its primary, and a unit that is not
 * healthy on its primary is refused with nothing changed.
 */
const session = pm2Session();

async function drillLog(project: TestProject): Promise<DrillRecord[]> {
  const text = await readFile(join(project.dir, 'logs/drills.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as DrillRecord);
}

async function bootLog(project: TestProject): Promise<string[]> {
  return (await readFile(join(project.dir, 'boots.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => l.split(' ')[0]!);
}

describe('redundancy drill on PM2 units', () => {
  it.each(['cold', 'warm'] as const)('%s twin: fails over, verifies the twin by its probe, fails back, reports the times; not counted as a failover', async (mode) => {
    const name = `dr${mode}${process.pid}`;
    const receiver = await HttpReceiver.start();
    const [port] = await freePorts(1);
    const config = [`twin: { mode: ${mode} }`, 'drills: { timeout: 20s }', `http: { listen: "127.0.0.1:${port}" }`, `notify: { groupWait: 0s, channels: [{ type: webhook, url: "${receiver.url()}" }] }`];
    const project = await appProject(session, { name, policy: { holdDown: '1h' }, config });
    const manager = session.startManager(project);
    await waitForUnit(project, 'healthy on its primary', (u) => u.health === 'healthy' && u.samples >= 2 && (mode === 'cold' || u.twin.status === 'warm'));

    const drill = await project.cli('drill', `pm2:${name}`, '--yes', '--json');
    expect(drill.stderr).toBe('');
    expect(drill.exitCode).toBe(0);
    const result = JSON.parse(drill.stdout) as DrillRecord;
    expect(result).toMatchObject({ unit: `pm2:${name}`, result: 'ok', twinMode: mode, rtoMs: expect.any(Number), failbackMs: expect.any(Number) });
    expect(result.reason).toMatch(/twin: .*-backup online, probe passed/);
    expect(result.totalMs).toBeGreaterThanOrEqual(result.rtoMs! + result.failbackMs!);
    // The twin really served: it booted (cold) or was already booted (warm) and answered the probe as the backup.
    expect(await bootLog(project)).toContain('backup');

    const after = await waitForUnit(project, 'back on its primary', (u) => u.state === 'primary' && u.active === 'primary');
    expect(after.failovers).toBe(0);
    expect(after.drill).toBeUndefined();
    const { report } = await status(project);
    expect(report.drills?.[`pm2:${name}`]).toMatchObject({ result: 'ok', rtoMs: result.rtoMs, failbackMs: result.failbackMs });
    expect(await drillLog(project)).toEqual([expect.objectContaining({ unit: `pm2:${name}`, result: 'ok', rtoMs: result.rtoMs })]);
    // Counted as a drill, not as a failover or failback; one `drill` notification, no failover or failback one.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(`redundancy_drills_total{unit="pm2:${name}",result="ok"} 1`);
    expect(metrics).toMatch(new RegExp(`redundancy_failovers_total\\{unit="pm2:${name}",reason="manual"\\} 0`));
    expect(metrics).toMatch(new RegExp(`redundancy_failbacks_total\\{unit="pm2:${name}",result="ok"\\} 0`));
    const sent = () => receiver.accepted().map((r) => JSON.parse(r.body) as { type: string; unit: string | null; reason: string }).filter((b) => b.unit !== null);
    await expect.poll(() => sent().length, { timeout: 10_000 }).toBe(1);
    expect(sent()[0]).toMatchObject({ type: 'drill', unit: `pm2:${name}`, reason: expect.stringMatching(/^drill ok: RTO \d/) });
    // Human output says the times (once a round has seen the primary answer again).
    await waitForUnit(project, 'healthy again', (u) => u.health === 'healthy');
    const text = await project.cli('drill', `pm2:${name}`, '--yes');
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^pm2:${name}: drill ok \\(${mode} twin\\): twin serving [\\d.]+m?s after the decision \\(RTO\\), primary serving [\\d.]+m?s after failing back`));
    manager.kill('SIGTERM');
    await manager;
    await receiver.down();
  });

  it('refuses a unit that is not healthy on its primary, or paused, with nothing changed (exit 1); asks for --yes without a terminal (64)', async () => {
    const name = `drno${process.pid}`;
    const project = await appProject(session, { name, policy: { window: 10, minSamples: 10, holdDown: '1h' } });
    const manager = session.startManager(project);
    await waitForUnit(project, 'healthy', (u) => u.health === 'healthy' && u.samples >= 2);
    expect(await project.cli('drill', `pm2:${name}`)).toMatchObject({ exitCode: 64, stderr: 'redundancy: drill: no terminal to confirm on: add --yes to run it (or --dry-run to see it)' });
    expect(await project.cli('drill', 'pm2:nope', '--yes')).toMatchObject({ exitCode: 64, stderr: 'redundancy: unknown unit pm2:nope; see `redundancy status`' });
    const dry = await project.cli('drill', `pm2:${name}`, '--dry-run');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(`fail pm2:${name} over to its twin ${name}-backup`);

    await project.write('fail', '');
    const degraded = await waitForUnit(project, 'degraded, still on its primary', (u) => u.health === 'degraded' && u.state === 'primary');
    const before = await bootLog(project);
    const refused = await project.cli('drill', `pm2:${name}`, '--yes');
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`^pm2:${name}: refused, nothing changed: pm2:${name} is not healthy on its primary \\(degraded: `));
    const unit = (await status(project)).report.units[0]!;
    expect(unit).toMatchObject({ state: 'primary', active: 'primary', failovers: degraded.failovers });
    expect(await bootLog(project)).toEqual(before);
    expect(await drillLog(project)).toEqual([expect.objectContaining({ result: 'refused' })]);
    expect((await status(project)).report.drills).toBeUndefined();

    await project.cli('pause', `pm2:${name}`);
    const paused = await project.cli('drill', `pm2:${name}`, '--yes', '--json');
    expect(paused.exitCode).toBe(1);
    expect(JSON.parse(paused.stdout)).toMatchObject({ result: 'refused', reason: expect.stringContaining('is paused') });
    manager.kill('SIGTERM');
    await manager;
  });

  it('a twin that never passes its probe: exit 2, the unit is put back on its primary, the failure is logged', async () => {
    const name = `drbad${process.pid}`;
    const project = await brokenTwinProject(name, '3s');
    const manager = session.startManager(project);
    await waitForUnit(project, 'healthy', (u) => u.health === 'healthy' && u.samples >= 2);
    const drill = await project.cli('drill', `pm2:${name}`, '--yes', '--json');
    expect(drill.exitCode).toBe(2);
    const result = JSON.parse(drill.stdout) as DrillRecord;
    expect(result).toMatchObject({ result: 'failed', rtoMs: null, failbackMs: expect.any(Number) });
    expect(result.reason).toMatch(/^twin not verified within 3000ms: .*probe: .*500.*; the primary serves again$/);
    const back = await waitForUnit(project, 'back on its primary', (u) => u.state === 'primary' && u.active === 'primary' && u.health === 'healthy');
    expect(back.failovers).toBe(0);
    expect((await status(project)).report.drills?.[`pm2:${name}`]).toMatchObject({ result: 'failed', rtoMs: null });
    const flagged = await project.cli('status');
    expect(flagged.exitCode).toBe(0);
    expect(flagged.stdout).toContain('last drill failed');
    manager.kill('SIGTERM');
    await manager;
  });
});

describe('a manager stopped in the middle of a drill', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)('%s: the unit ends on its primary (at once, or when the manager starts again), not counted as a failover', async (signal) => {
    const name = `drstop${signal === 'SIGTERM' ? 't' : 'k'}${process.pid}`;
    const project = await brokenTwinProject(name, '5m');
    let manager = session.startManager(project);
    await waitForUnit(project, 'healthy', (u) => u.health === 'healthy' && u.samples >= 2);
    const drill = project.cli('drill', `pm2:${name}`, '--yes', '--json');
    await waitForUnit(project, 'on its twin in a drill', (u) => u.drill === true && u.state === 'backup');
    manager.kill(signal);
    await manager;
    const answer = await drill;
    if (signal === 'SIGTERM') {
      expect(answer.exitCode).toBe(2);
      expect(JSON.parse(answer.stdout)).toMatchObject({ result: 'failed', rtoMs: null, reason: expect.stringContaining('the manager is stopping') });
      expect((await status(project)).report.units[0]).toMatchObject({ state: 'primary', failovers: 0 });
    } else {
      expect(answer).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('the manager stopped answering during the drill') });
    }
    manager = session.startManager(project);
    const back = await waitForUnit(project, 'back on its primary', (u) => u.state === 'primary' && u.active === 'primary' && u.health === 'healthy');
    expect(back).toMatchObject({ failovers: 0 });
    expect(back.drill).toBeUndefined();
    manager.kill('SIGTERM');
    await manager;
  });
});

describe('redundancy drill on a cron unit', () => {
  it('verifies the twin by one run outside its schedule, and fails (exit 2) when that run fails', async () => {
    const project = await session.project({
      // A slot once a year: no slot of the primary falls inside the test.
      'automation/crontab': '# redundancy: name=job\n0 0 1 1 * sh job.sh\n# redundancy: name=other\n0 0 1 1 * true\n',
      // A kind that cannot be drilled: `drill --all` passes over it.
      '.github/workflows/nightly.yml': 'name: nightly\non:\n  schedule: [{ cron: "0 3 * * *" }]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo hi }]\n',
      'job.sh': 'echo "$REDUNDANCY_ROLE $(date +%s%N)" >> runs.log\n[ -e twin-broken ] && exit 3\nexit 0\n',
      'redundancy.config.yaml': 'checkInterval: 250ms\nhttp: false\nsources: { pm2: { live: false } }\ndrills: { timeout: 10s, pause: 0s }\n',
    });
    const manager = session.startManager(project);
    const job = (r: HealthReport) => r.units.find((u) => u.id === 'cron:job');
    await waitFor(project, (r) => r.units.length === 3 && r.units.every((u) => u.health === 'healthy'));
    expect(await project.cli('drill', 'github:nightly.yml', '--yes')).toMatchObject({ exitCode: 1, stdout: expect.stringContaining('github units cannot be drilled yet') });
    const drill = await project.cli('drill', 'cron:job', '--yes', '--json');
    expect(drill.exitCode).toBe(0);
    const result = JSON.parse(drill.stdout) as DrillRecord;
    expect(result).toMatchObject({ unit: 'cron:job', result: 'ok', rtoMs: expect.any(Number), failbackMs: expect.any(Number) });
    expect(result.reason).toMatch(/ran once and exited 0/);
    expect(await readFile(join(project.dir, 'runs.log'), 'utf8')).toMatch(/^backup \d+\n$/);
    await waitFor(project, (r) => job(r)?.state === 'primary' && job(r)?.runs?.lastRun?.side === 'twin');

    const all = await project.cli('drill', '--all', '--yes');
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toContain('github:nightly.yml: skipped: github units cannot be drilled yet');
    expect(all.stdout.match(/^cron:(job|other): drill ok/gm)).toHaveLength(2);
    await waitFor(project, (r) => job(r)?.state === 'primary');

    await project.write('twin-broken', '');
    const failed = await project.cli('drill', 'cron:job', '--yes', '--json');
    expect(failed.exitCode).toBe(2);
    expect(JSON.parse(failed.stdout)).toMatchObject({ result: 'failed', rtoMs: null, reason: expect.stringMatching(/run exited 3/) });
    const unit = await waitFor(project, (r) => (job(r)?.state === 'primary' ? job(r) : undefined));
    expect(unit).toMatchObject({ active: 'primary', failovers: 0 });
    manager.kill('SIGTERM');
    await manager;
  });
});

async function waitFor<T>(project: TestProject, pick: (r: HealthReport) => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { report } = await status(project);
    const value = report.units ? pick(report) : undefined;
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last report: ${JSON.stringify(report.units?.[0])}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A PM2 unit whose twin answers 500 on its health (the primary does not look at that file). */
async function brokenTwinProject(name: string, timeout: string): Promise<TestProject> {
  const project = await appProject(session, { name, policy: { holdDown: '1h' }, env: { TWIN_FAIL_FILE: '' }, config: [`drills: { timeout: ${timeout} }`] });
  const twinFail = join(project.dir, 'twin-fail');
  await project.write('ecosystem.config.cjs', (await readFile(join(project.dir, 'ecosystem.config.cjs'), 'utf8')).replace('"TWIN_FAIL_FILE": ""', `"TWIN_FAIL_FILE": ${JSON.stringify(twinFail)}`));
  await project.write('twin-fail', '');
  return project;
}
