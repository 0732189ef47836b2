import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/core/report-types.js';
import { isProcessAlive, quietPm2Env } from '../helpers/pm2-home.js';
import { repoRoot } from '../helpers/project.js';
import { waitFor } from '../helpers/wait-for.js';
import { pm2Bin, useChaosEnv } from './helpers/chaos-env.js';
import { ChaosProject, managerCli, type Boot, type ChaosUnit, type ManagerProcess } from './helpers/chaos-project.js';
import { StateWatcher } from './helpers/state-watcher.js';

/**
 * The manager supervised from outside PM2, as `redundancy startup` installs it:
 * (a) PM2's God daemon SIGKILLed under a manager restarted by its supervisor whenever it ends (the
 *     unit's Restart=always, played by a loop here), then the daemon and the manager at once;
 * (b) everything killed (daemon, apps, manager), as a reboot does, then the `@reboot` line run;
 * (c) a new user with Debian's cron daemon: `start-redundancy.sh`, `startup cron`, `kill -9` of the
 *     God daemon; everything back within the minute, `status` marking its rows stale meanwhile.
 * Each time: every unit serving its saved side again (twins for units on their twins), each side
 * that was up started once more and no other (boot log), never both sides up. Recovery times are
 * printed.
 */

const chaos = useChaosEnv();

/** Every supervisor loop of this file: stopped before the chaos env kills the managers, so none restarts one after. */
const loops: RestartAlways[] = [];
afterAll(() => {
  for (const loop of loops) loop.hold();
});

/** systemd's RestartSec=2 of the generated unit. */
const restartSecMs = 2_000;

/** The unit's `Restart=always`, played by the test: `start --foreground` again 2 s after it ends. */
class RestartAlways {
  starts = 0;
  current: ManagerProcess | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly project: ChaosProject) {
    loops.push(this);
  }

  start(): this {
    const child = this.project.startManager();
    this.current = child;
    this.starts += 1;
    void child.finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.start(), restartSecMs);
    });
    return this;
  }

  /** Stops restarting; the running manager is left to the caller. */
  hold(): ManagerProcess | undefined {
    this.stopped = true;
    clearTimeout(this.timer);
    return this.current;
  }
}

function pidIn(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A live process named cron (Debian's daemon), found through /proc. */
function cronRunning(): boolean {
  return readdirSync('/proc').some((pid) => /^\d+$/.test(pid) && readFileSafe(`/proc/${pid}/comm`).trim() === 'cron' && isProcessAlive(Number(pid)));
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function killAndWait(pids: Array<number | undefined>): Promise<void> {
  const live = pids.filter((pid): pid is number => pid !== undefined && isProcessAlive(pid));
  for (const pid of live) process.kill(pid, 'SIGKILL');
  await waitFor(() => live.every((pid) => !isProcessAlive(pid)), { timeoutMs: 15_000, what: `pids ${live.join(' ')} gone` });
}

/** What answered on each unit's port before a kill, and when each of those processes was seen gone. */
class Orphans {
  private readonly goneAt = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  private constructor(readonly pids: ReadonlyMap<string, number>) {
    this.timer = setInterval(() => {
      for (const pid of pids.values()) if (!this.goneAt.has(pid) && !isProcessAlive(pid)) this.goneAt.set(pid, Date.now());
    }, 20);
  }

  /** Before the kill: the pid answering on each unit's port. */
  static async take(project: ChaosProject): Promise<Orphans> {
    const pids = new Map<string, number>();
    for (const unit of project.units) {
      const answer = await project.answer(unit);
      if (answer) pids.set(unit.name, answer.pid);
    }
    return new Orphans(pids);
  }

  isOld(pid: number): boolean {
    return [...this.pids.values()].includes(pid);
  }

  /** When the unit's old process was first seen gone; undefined while it lives. */
  goneOf(unit: string): number | undefined {
    const pid = this.pids.get(unit);
    return pid === undefined ? undefined : this.goneAt.get(pid);
  }

  /** How long the old processes outlived the kill at `t0`, at most. */
  outlived(t0: number): number {
    return Math.max(0, ...[...this.goneAt.values()].map((at) => at - t0));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Each unit answers from its saved side (`backup` for those on their twin, `primary` for the
 * others), and from a process started after the kill: the apps of a SIGKILLed God daemon live on
 * for a moment (until their next message to PM2 fails) and still answer meanwhile.
 */
async function serving(project: ChaosProject, onTwin: ChaosUnit[], onPrimary: ChaosUnit[], orphans?: Orphans): Promise<boolean> {
  const fresh = (answer: { role: string; pid: number } | undefined, role: string) => answer?.role === role && !orphans?.isOld(answer.pid);
  for (const unit of onTwin) if (!fresh(await project.answer(unit), 'backup')) return false;
  for (const unit of onPrimary) if (!fresh(await project.answer(unit), 'primary')) return false;
  return true;
}

/**
 * The boots since `since`: one of the side each unit is on, none of the other side, and no boot
 * that could not listen (EADDRINUSE) beside the killed daemon's old process still on the port.
 */
async function checkBoots(project: ChaosProject, since: number, onTwin: ChaosUnit[], onPrimary: ChaosUnit[], orphans?: Orphans, tolerateOld = false): Promise<Boot[]> {
  const sideOf = (unit: string) => (onTwin.some((u) => u.name === unit) ? 'backup' : 'primary');
  const expected = Object.fromEntries([...onTwin, ...onPrimary].map((u) => [u.name, { primary: sideOf(u.name) === 'primary' ? 1 : 0, backup: sideOf(u.name) === 'backup' ? 1 : 0 }]));
  const counts = async () => {
    const log = await project.bootLog();
    // A start that could not listen wrote its boot line, then the error line: it does not count as up.
    const failedPids = new Set(log.filter((b) => b.error).map((b) => b.pid));
    const boots = log.filter((b) => b.at >= since && !failedPids.has(b.pid));
    return Object.fromEntries([...onTwin, ...onPrimary].map((u) => {
      const mine = boots.filter((b) => b.unit === u.name);
      return [u.name, { primary: mine.filter((b) => b.role === 'primary').length, backup: mine.filter((b) => b.role === 'backup').length }];
    }));
  };
  // A side restarted by PM2 after a failed listen boots once more a moment later.
  await waitFor(async () => JSON.stringify(await counts()) === JSON.stringify(expected), { timeoutMs: 10_000, what: 'boots settled' }).catch(() => undefined);
  expect(await counts()).toEqual(expected);
  const failed = (await project.bootLog()).filter((b) => b.at >= since && b.error);
  if (!tolerateOld) {
    // The reconnect waits for the lost daemon's apps to go before it restores: no start finds its port taken.
    expect(failed.map((b) => ({ unit: b.unit, role: b.role, error: b.error, oldOneGoneAt: orphans?.goneOf(b.unit) }))).toEqual([]);
  }
  // A manager that died with the daemon cannot know the old apps' pids: a start of the same side may
  // still find its old process on the port, and PM2 starts it again once that one is gone.
  for (const boot of failed) {
    const gone = orphans?.goneOf(boot.unit);
    expect({ ...boot, sameSide: boot.role === sideOf(boot.unit), whileTheOldOneLived: gone !== undefined && boot.at <= gone }).toMatchObject({ error: 'EADDRINUSE', sameSide: true, whileTheOldOneLived: true });
  }
  return failed;
}

/** The state is what it was: a restore is no failover. */
function sameSides(before: Awaited<ReturnType<ChaosProject['readState']>>, after: Awaited<ReturnType<ChaosProject['readState']>>): void {
  for (const [id, unit] of Object.entries(before?.units ?? {})) {
    expect(after?.units[id]?.state.kind, id).toBe(unit.state.kind);
    expect(after?.units[id]?.failovers, id).toBe(unit.failovers);
  }
}

const described = (failed: Boot[]) => (failed.length === 0 ? 'no failed start' : `${failed.length} start(s) found the old process of the same side still on the port (${failed.map((b) => `${b.unit} ${b.role}`).join(', ')}) and were restarted by PM2`);

describe('the manager supervised outside PM2', () => {
  it('(a) God daemon SIGKILLed under a supervised foreground manager; then the daemon and the manager at once', async () => {
    const names = ['a', 'b', 'c'].map((n) => `s${n}${process.pid}`);
    const project = await chaos.env.project({ names, policy: { holdDown: '1h' } });
    const [a, b, c] = project.units as [ChaosUnit, ChaosUnit, ChaosUnit];
    const state = new StateWatcher(project.stateFile, project.units.map((u) => u.id)).start();
    await project.setFailing(a.name, true);
    await project.setFailing(b.name, true);
    const supervisor = new RestartAlways(project).start();
    try {
      await supervised(project, supervisor, state, [a, b, c]);
    } finally {
      // Failed or not, no manager of this test is left to the next one.
      supervisor.hold()?.kill('SIGKILL');
      await state.stop();
    }
  });

  /** (a) itself: a and b on their twins, c on its primary, under a manager the loop restarts. */
  async function supervised(project: ChaosProject, supervisor: RestartAlways, state: StateWatcher, [a, b, c]: [ChaosUnit, ChaosUnit, ChaosUnit]): Promise<void> {
    await waitFor(() => serving(project, [a, b], [c]), { timeoutMs: 45_000, what: 'a and b on their twins, c on its primary' });
    await project.ready(supervisor.current!);
    const saved = await project.readState();
    const godPidFile = join(chaos.env.pm2.home, 'pm2.pid');

    // 1. The daemon alone: the manager, outside PM2, lives on and brings the units back.
    const god1 = pidIn(godPidFile);
    let orphans = await Orphans.take(project);
    const t1 = Date.now();
    await killAndWait([god1]);
    await waitFor(() => serving(project, [a, b], [c], orphans), { timeoutMs: 45_000, what: 'every unit serving again after kill -9 of the God daemon' });
    const daemonOnlyMs = Date.now() - t1;
    expect(supervisor.starts, 'the manager did not die with the daemon').toBe(1);
    const failed1 = await checkBoots(project, t1, [a, b], [c], orphans);
    const outlived1 = orphans.outlived(t1);
    orphans.stop();

    // 2. The daemon and the manager together: the supervisor restarts the manager, which starts a daemon.
    const god2 = pidIn(godPidFile);
    orphans = await Orphans.take(project);
    const t2 = Date.now();
    await killAndWait([god2, supervisor.current!.pid]);
    await waitFor(async () => supervisor.starts === 2 && (await serving(project, [a, b], [c], orphans)), { timeoutMs: 60_000, what: 'every unit serving again under the restarted manager' });
    const bothMs = Date.now() - t2;
    const failed2 = await checkBoots(project, t2, [a, b], [c], orphans, true);
    const outlived2 = orphans.outlived(t2);
    orphans.stop();

    console.info(
      `recovery (a): God daemon SIGKILLed: every unit served by a new process in ${daemonOnlyMs} ms (the old apps lived ${outlived1} ms on; ${described(failed1)}); ` +
        `daemon and manager SIGKILLed: ${bothMs} ms, ${restartSecMs} ms of it the restart delay (old apps lived ${outlived2} ms on; ${described(failed2)})`,
    );
    sameSides(saved, await project.readState());
    const manager = supervisor.hold()!;
    await project.stopManager(manager);
    await state.stop();
    expect(state.violations).toEqual([]);
    expect(chaos.env.watcher.overlaps).toEqual([]);
  }

  it('(b) everything killed, as by a reboot, then the @reboot line: every unit back on its saved side', async () => {
    const names = ['a', 'b', 'c'].map((n) => `r${n}${process.pid}`);
    const project = await chaos.env.project({ names, policy: { holdDown: '1h' } });
    const [a, b, c] = project.units as [ChaosUnit, ChaosUnit, ChaosUnit];
    await project.setFailing(a.name, true);
    const supervisor = new RestartAlways(project).start();
    await waitFor(() => serving(project, [a], [b, c]), { timeoutMs: 45_000, what: 'a on its twin, b and c on their primaries' });
    await project.ready(supervisor.current!);
    const saved = await project.readState();
    const dry = await project.cli('--json', 'startup', 'cron', '--dry-run');
    expect(dry.exitCode, dry.stderr).toBe(0);
    const reboot = (JSON.parse(dry.stdout) as { lines: string[] }).lines.find((line) => line.startsWith('@reboot '))!;
    expect(reboot).toBeDefined();

    const mine = new Set(project.units.flatMap((u) => [u.name, u.twin]));
    const apps = (await chaos.env.watcher.list()).filter((v) => mine.has(v.name) && v.pid > 0).map((v) => v.pid);
    expect(apps.length).toBe(3);
    const manager = supervisor.hold()!;
    await killAndWait([pidIn(join(chaos.env.pm2.home, 'pm2.pid')), manager.pid, ...apps]);
    for (const unit of project.units) expect(await project.answer(unit), `${unit.name} down`).toBeUndefined();

    // What cron runs at boot: the command after `@reboot`, through /bin/sh, in HOME, with cron's bare environment.
    const home = await mkdtemp(join(tmpdir(), 'redundancy-cron-home-'));
    const t0 = Date.now();
    const ran = await execa('/bin/sh', ['-c', reboot.slice('@reboot '.length).replaceAll('\\%', '%')], {
      cwd: home,
      env: { PATH: '/usr/bin:/bin', HOME: home, SHELL: '/bin/sh', ...quietPm2Env },
      extendEnv: false,
      reject: false,
      timeout: 90_000,
    });
    const ensureMs = Date.now() - t0;
    await rm(home, { recursive: true, force: true });
    const ensured = pidIn(join(project.dir, '.redundancy/manager.lock'));
    try {
      expect({ exitCode: ran.exitCode, stdout: ran.stdout, stderr: ran.stderr }).toEqual({ exitCode: 0, stdout: '', stderr: '' });
      await waitFor(() => serving(project, [a], [b, c]), { timeoutMs: 45_000, what: 'every unit back on its saved side' });
      const backMs = Date.now() - t0;
      console.info(`recovery (b): after a "reboot", ensure returned in ${ensureMs} ms (manager answering); every unit on its saved side ${backMs} ms after the @reboot line ran`);
      // Everything was dead before the line ran: not even a failed start.
      expect(await checkBoots(project, t0, [a], [b, c])).toEqual([]);
      sameSides(saved, await project.readState());
      // Outside PM2: PM2's new daemon runs the units and their twins, no manager app.
      // The test's own PM2 client lost the killed daemon too: asked once it has reconnected.
      const listed = await waitFor(async () => (await chaos.env.watcher.list().catch(() => undefined))?.map((v) => v.name), { timeoutMs: 20_000, what: "the test's PM2 client reconnected" });
      expect(listed).not.toContain('redundancy-manager');
      const status = JSON.parse((await project.cli('status', '--json')).stdout) as HealthReport;
      expect(status.manager.pid).toBe(ensured);
      // The every-minute line finds it running: nothing to do, nothing said.
      const again = await project.cli('--quiet', 'ensure');
      expect(again).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    } finally {
      if (ensured !== undefined && isProcessAlive(ensured)) {
        process.kill(ensured, 'SIGTERM');
        await waitFor(() => !isProcessAlive(ensured), { timeoutMs: 30_000, what: 'the ensured manager stopped' }).catch(() => process.kill(ensured, 'SIGKILL'));
      }
    }
    expect(chaos.env.watcher.overlaps).toEqual([]);
    expect((await project.bootLog()).filter((boot) => boot.error)).toEqual([]);
  });

  it('(c) a new user with cron: start-redundancy.sh, startup cron, kill -9 of the God daemon: back within the minute, status stale meanwhile', async () => {
    const user = `rdtest${process.pid}k`;
    const home = await mkdtemp(join(tmpdir(), 'redundancy-user-home-'));
    const pm2Home = await mkdtemp(join(tmpdir(), 'redundancy-user-pm2-'));
    let cron: ResultPromise | undefined;
    let project: ChaosProject | undefined;
    let ids: { uid: number; gid: number } | undefined;
    let failed = false;
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, USER: user, LOGNAME: user, PM2_HOME: pm2Home, ...quietPm2Env };
    const as = async (file: string, args: string[]) => {
      const r = await execa(file, args, { ...ids, cwd: home, env, extendEnv: false, reject: false, timeout: 120_000, stdin: 'ignore' });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    };
    const cli = (...args: string[]) => as(process.execPath, [managerCli, '--cwd', project!.dir, ...args]);
    try {
      await waitFor(async () => (await execa('useradd', ['-M', '-d', home, '-s', '/bin/sh', user], { reject: false })).exitCode === 0, { timeoutMs: 30_000, intervalMs: 200, what: `useradd ${user}` });
      ids = { uid: Number((await execa('id', ['-u', user])).stdout), gid: Number((await execa('id', ['-g', user])).stdout) };
      project = await ChaosProject.create(env, { names: ['a', 'b'].map((n) => `u${n}${process.pid}`), policy: { holdDown: '1h' } });
      const [a, b] = project.units as [ChaosUnit, ChaosUnit];
      for (const dir of [home, pm2Home]) await chown(dir, ids.uid, ids.gid);
      await execa('chown', ['-R', `${ids.uid}:${ids.gid}`, project.dir]);
      await chmod(project.dir, 0o755);
      await project.setFailing(a.name, true);

      // The default deployment: the manager as the PM2 app, and the hint about the outside supervisor, once.
      const started = await as(join(repoRoot, 'start-redundancy.sh'), ['--cwd', project.dir]);
      expect(started.exitCode, started.stderr).toBe(0);
      expect(started.stderr).toMatch(/dies with PM2's own daemon[\s\S]*startup cron/);
      expect((await as(join(repoRoot, 'start-redundancy.sh'), ['--cwd', project.dir])).stderr).not.toMatch(/startup cron/);
      await waitFor(() => serving(project!, [a], [b]), { timeoutMs: 60_000, what: 'a on its twin, b on its primary' });

      const dry = await cli('startup', 'cron', '--dry-run');
      expect(dry.exitCode, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/^@reboot .* --quiet ensure$/m);
      expect(dry.stdout).toMatch(/^\* \* \* \* \* .* --quiet ensure$/m);
      const installed = await cli('startup', 'cron');
      expect(installed.exitCode, installed.stderr).toBe(0);
      const crontab = await as('crontab', ['-l']);
      expect(crontab.stdout).toContain(`# BEGIN redundancy startup ${project.dir}`);

      // Debian's cron daemon: started here when none runs (and stopped at the end), else the running one.
      if (!cronRunning()) {
        cron = execa('/usr/sbin/cron', ['-f'], { reject: false, stdin: 'ignore' });
        await waitFor(cronRunning, { timeoutMs: 10_000, what: 'cron up' });
      }

      // Killed early in a minute, so that `status` is read before cron's next run brings the manager back.
      await waitFor(() => new Date().getSeconds() >= 3 && new Date().getSeconds() <= 20, { timeoutMs: 65_000, intervalMs: 200, what: 'early in a minute' });
      const pm2Manager = (JSON.parse((await cli('status', '--json')).stdout) as HealthReport).manager.pid;
      // The every-minute line ran meanwhile and left the PM2 app manager alone: it still holds the lock.
      expect(pidIn(join(project.dir, '.redundancy/manager.lock'))).toBe(pm2Manager);
      const saved = await project.readState();
      const orphans = await Orphans.take(project);
      const t0 = Date.now();
      await killAndWait([pidIn(join(pm2Home, 'pm2.pid'))]);
      // The manager was PM2's child: it went with the daemon, and so did the apps.
      await waitFor(() => !isProcessAlive(pm2Manager), { timeoutMs: 15_000, what: 'the PM2 app manager gone with its daemon' });
      const stale = await cli('status');
      expect(stale.exitCode).toBe(2);
      expect(stale.stdout).toMatch(/NOT RUNNING.*`redundancy ensure`/);
      for (const unit of project.units) expect(stale.stdout).toMatch(new RegExp(`${unit.id} .*\\(stale\\)`));
      const staleJson = JSON.parse((await cli('status', '--json')).stdout) as { stale: boolean; units: Array<{ stale: boolean; ageMs: number }> };
      expect(staleJson.stale).toBe(true);
      expect(staleJson.units.every((u) => u.stale && u.ageMs >= 0)).toBe(true);

      // Back: a manager outside PM2 (started by cron's `ensure`), and every unit served by a new process.
      const running = async () => {
        const answer = await cli('status', '--json');
        const report = JSON.parse(answer.stdout) as HealthReport & { manager: { running: boolean } };
        return answer.exitCode !== 2 && report.manager.running && report.manager.pid !== pm2Manager ? report.manager.pid : undefined;
      };
      const ensured = await waitFor(running, { timeoutMs: 90_000, intervalMs: 250, what: 'a manager back, through the every-minute line' });
      const managerMs = Date.now() - t0;
      await waitFor(() => serving(project!, [a], [b], orphans), { timeoutMs: 30_000, intervalMs: 100, what: 'every unit served by a new process' });
      const backMs = Date.now() - t0;
      expect(readFileSync(`/proc/${ensured}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['start', '--foreground', project.dir]));
      const failed = await checkBoots(project, t0, [a], [b], orphans);
      console.info(
        `recovery (c): kill -9 of the God daemon ${new Date(t0).getSeconds()}s past the minute; the manager back (pid ${ensured}, outside PM2) ${managerMs} ms later, ` +
          `every unit served by a new process after ${backMs} ms (the old apps lived ${orphans.outlived(t0)} ms on; ${described(failed)})`,
      );
      orphans.stop();
      // Cron runs the line at the top of the next minute: the wait is what was left of this one.
      expect(managerMs).toBeLessThan(60_000 - new Date(t0).getSeconds() * 1000 + 15_000);
      sameSides(saved, await project.readState());

      const removed = await cli('unstartup');
      expect(removed.exitCode, removed.stderr).toBe(0);
      expect((await as('crontab', ['-l'])).stdout).not.toContain('redundancy startup');
    } catch (error) {
      // What cron and the manager it started said, for the failure at hand.
      if (project) {
        const tail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-40).join('\n') : '(none)');
        console.info([`(c) failed; ${project.dir}:`, 'manager-ensure.log:', tail(join(project.dir, 'logs/manager-ensure.log')), 'redundancy.log:', tail(join(project.dir, 'logs/redundancy.log')), 'crontab:', (await as('crontab', ['-l'])).stdout].join('\n'));
      }
      failed = true;
      throw error;
    } finally {
      if (project) {
        const manager = pidIn(join(project.dir, '.redundancy/manager.lock'));
        if (manager !== undefined && isProcessAlive(manager) && readFileSync(`/proc/${manager}/cmdline`, 'utf8').includes(project.dir)) process.kill(manager, 'SIGKILL');
      }
      if (ids && existsSync(join(pm2Home, 'pm2.pid'))) {
        await as(process.execPath, [pm2Bin, 'kill']);
        await killAndWait([pidIn(join(pm2Home, 'pm2.pid'))]);
      }
      if (cron) {
        cron.kill('SIGTERM');
        await cron;
      }
      await execa('crontab', ['-u', user, '-r'], { reject: false });
      // userdel locks /etc/passwd, as other test files' useradd do: retried until the user is gone.
      await waitFor(async () => {
        await execa('userdel', [user], { reject: false });
        return (await execa('id', [user], { reject: false })).exitCode !== 0;
      }, { timeoutMs: 30_000, intervalMs: 200, what: `userdel ${user}` });
      // After a failure (or with CHAOS_KEEP=1) the project dir stays, as the chaos env does.
      if (!failed && !process.env.CHAOS_KEEP) await project?.remove();
      await rm(home, { recursive: true, force: true });
      await rm(pm2Home, { recursive: true, force: true });
    }
  });
});
