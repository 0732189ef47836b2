import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../src/core/report-types.js';
import { ensureCommand as ensureLine, isStartupCommand, startupBlockName, startupCronLines } from '../src/daemon/startup/cron-lines.js';
import { renderSystemdUnit } from '../src/daemon/startup/systemd-unit.js';
import { crontabOf, throwawayCronUser } from './helpers/cron-user.js';
import { isProcessAlive } from './helpers/pm2-home.js';
import { cliPath, type TestProject } from './helpers/project.js';
import { appProject, pm2Session } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

const session = pm2Session();
const cron = throwawayCronUser('s');

/** Managers `ensure` started (detached, so no test owns them): killed in afterAll, before the daemon goes. */
const ensured = new Set<number>();
afterAll(() => {
  for (const pid of ensured) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
});

/** Pids of the processes running `start --foreground` for `dir` (whoever started them). */
function managersOf(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv.includes('--foreground') && argv[argv.indexOf('--cwd') + 1] === dir && isProcessAlive(Number(pid));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A project whose crontab is the throwaway user's. */
async function cronProject(name: string): Promise<TestProject> {
  const project = await appProject(session, { name });
  const file = join(project.dir, 'redundancy.config.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace('sources: { pm2: { live: false } }', `sources: { pm2: { live: false }, cron: { user: ${cron.user} } }`));
  return project;
}

async function verify(file: string, env: NodeJS.ProcessEnv = {}, user = false) {
  const result = await execa('systemd-analyze', [...(user ? ['--user'] : []), 'verify', file], { reject: false, env: { ...process.env, ...env } });
  return { exitCode: result.exitCode, stderr: String(result.stderr) };
}

describe('startup systemd', () => {
  it('the generated unit passes systemd-analyze verify (system and user units)', async () => {
    const project = await appProject(session, { name: `sd${process.pid}` });
    const dry = await project.cli('--json', 'startup', 'systemd', '--dry-run');
    expect(dry.exitCode, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { file: string; unit: string; scope: string; commands: string[][] };
    expect(plan.unit).toContain(`ExecStart=${process.execPath} ${cliPath} --cwd ${project.dir} start --foreground`);
    expect(plan.unit).toMatch(/^KillMode=process$/m);
    expect(plan.unit).toContain(`Environment=PM2_HOME=${project.env.PM2_HOME}`);
    expect(plan.commands.at(-1)).toEqual([...(plan.scope === 'user' ? ['systemctl', '--user'] : ['systemctl']), 'enable', '--now', plan.file.split('/').at(-1)]);
    const dir = await mkdtemp(join(tmpdir(), 'redundancy-unit-'));
    try {
      const file = join(dir, plan.file.split('/').at(-1)!);
      await writeFile(file, plan.unit);
      // A setting systemd does not understand is only a warning: a clean verify says nothing at all.
      expect(await verify(file)).toEqual({ exitCode: 0, stderr: '' });
      const userUnit = join(dir, 'user', plan.file.split('/').at(-1)!);
      await execa('mkdir', ['-p', join(dir, 'user'), join(dir, 'runtime')]);
      await writeFile(userUnit, renderSystemdUnit({ node: process.execPath, cli: cliPath, project: project.dir, pm2Home: project.env.PM2_HOME!, scope: 'user' }));
      expect(await verify(userUnit, { XDG_RUNTIME_DIR: join(dir, 'runtime') }, true)).toEqual({ exitCode: 0, stderr: '' });
      // And a broken one would be caught: the test checks something.
      await writeFile(file, plan.unit.replace(/^KillMode=process$/m, 'KillMode=sometimes'));
      expect((await verify(file)).stderr).toMatch(/kill mode/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(existsSync('/run/systemd/system'))('without systemd running: says so, exits 1, offers cron, writes nothing', async () => {
    const project = await appProject(session, { name: `ns${process.pid}` });
    const dry = JSON.parse((await project.cli('--json', 'startup', '--dry-run')).stdout) as { file: string };
    const result = await project.cli('startup');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/systemd is not running here.*redundancy startup cron/);
    expect(existsSync(dry.file)).toBe(false);
    expect((await project.cli('startup', 'upstart')).exitCode).toBe(64);
  });
});

describe('startup cron', () => {
  it('the lines: @reboot and every minute, `ensure` with absolute node, CLI, --cwd and PM2_HOME', () => {
    const input = { node: '/usr/bin/node', cli: '/opt/r/dist/cli/main.js', project: "/srv/it's 100%", pm2Home: '/home/ops/.pm2' };
    const command = `PM2_HOME='/home/ops/.pm2' '/usr/bin/node' '/opt/r/dist/cli/main.js' --cwd '/srv/it'\\''s 100\\%' --quiet ensure`;
    expect(ensureLine(input)).toBe(command);
    expect(startupCronLines(input)).toEqual([`@reboot ${command}`, `* * * * * ${command}`]);
    expect(isStartupCommand(command)).toBe(true);
    expect(isStartupCommand('/usr/bin/backup --quiet')).toBe(false);
    expect(startupBlockName('/srv/app')).toBe('startup /srv/app');
    expect(() => startupCronLines({ ...input, project: '/srv/a\\b' })).toThrow(/backslash/);
  });

  it('--dry-run shows the lines and changes nothing; install puts them between their own markers; unstartup takes them out', async () => {
    const project = await cronProject(`cr${process.pid}`);
    const mine = '# my own\n17 3 * * * /usr/local/bin/backup.sh\n';
    await execa('crontab', ['-u', cron.user, '-'], { input: mine });

    const dry = await project.cli('startup', 'cron', '--dry-run');
    expect(dry.exitCode, dry.stderr).toBe(0);
    const lines = dry.stdout.split('\n').filter((l) => /^(@reboot|\* \* \* \* \*) /.test(l));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toContain(`'${process.execPath}' '${cliPath}' --cwd '${project.dir}' --quiet ensure`);
      expect(line).toContain(`PM2_HOME='${project.env.PM2_HOME}'`);
    }
    expect(dry.stdout).toContain(`+# BEGIN redundancy startup ${project.dir}`);
    expect(await crontabOf(cron.user)).toBe(mine);

    const installed = await project.cli('--json', 'startup', 'cron');
    expect(installed.exitCode, installed.stderr).toBe(0);
    const result = JSON.parse(installed.stdout) as { lines: string[]; changed: boolean; backup: string };
    expect(result).toMatchObject({ lines: [expect.stringMatching(/^@reboot /), expect.stringMatching(/^\* \* \* \* \* /)], changed: true });
    expect(await readFile(result.backup, 'utf8')).toBe(mine);
    const text = await crontabOf(cron.user);
    expect(text).toBe(`${mine}# BEGIN redundancy startup ${project.dir}\n${result.lines.join('\n')}\n# END redundancy startup ${project.dir}\n`);
    // Again: nothing changes. The schedules' own block (`# BEGIN redundancy <project>`) is another block.
    expect(JSON.parse((await project.cli('--json', 'startup', 'cron')).stdout)).toMatchObject({ changed: false });
    expect(await crontabOf(cron.user)).toBe(text);
    expect((await project.cli('twins', '--install-crontab')).exitCode).toBe(0);
    expect(await crontabOf(cron.user)).toBe(text);

    expect((await project.cli('unstartup', '--dry-run')).stdout).toContain(`-# BEGIN redundancy startup ${project.dir}`);
    expect(await crontabOf(cron.user)).toBe(text);
    const removed = await project.cli('unstartup');
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/took the startup lines out of the crontab/);
    expect(await crontabOf(cron.user)).toBe(mine);
    expect((await project.cli('unstartup')).stdout).toMatch(/nothing to remove/);
  });
});

describe('ensure', () => {
  async function ensure(project: TestProject) {
    const result = await project.cli('--json', 'ensure');
    expect(result.exitCode, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as { started: boolean; pid: number };
    ensured.add(answer.pid);
    return answer;
  }

  async function stopManager(pid: number): Promise<void> {
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isProcessAlive(pid), { timeoutMs: 30_000, what: `manager ${pid} gone` });
  }

  it('starts one manager outside PM2, then does nothing while it runs; status marks rows stale once it is down', async () => {
    const project = await appProject(session, { name: `en${process.pid}` });
    const first = await ensure(project);
    expect(first.started).toBe(true);
    expect(managersOf(project.dir)).toEqual([first.pid]);
    // Outside PM2: no PM2 app is the manager.
    const status = await project.cli('status', '--json');
    expect((JSON.parse(status.stdout) as HealthReport).manager.pid).toBe(first.pid);
    expect(await ensure(project)).toEqual({ started: false, pid: first.pid });
    const quiet = await project.cli('--quiet', 'ensure');
    expect(quiet).toMatchObject({ exitCode: 0, stdout: '' });
    expect(managersOf(project.dir)).toEqual([first.pid]);

    // Its serving unit: up. Then the manager goes: status says every row is stale, exit 2.
    await waitFor(async () => (JSON.parse((await project.cli('status', '--json')).stdout) as HealthReport).units[0]?.health === 'healthy', { timeoutMs: 30_000, what: 'unit healthy' });
    await stopManager(first.pid);
    const down = await project.cli('status', '--json');
    expect(down.exitCode).toBe(2);
    const report = JSON.parse(down.stdout) as Omit<HealthReport, 'units'> & { stale: boolean; ageMs: number; manager: { running: boolean }; units: Array<{ stale: boolean; ageMs: number }> };
    expect(report).toMatchObject({ stale: true, manager: { running: false } });
    expect(report.ageMs).toBeGreaterThanOrEqual(0);
    expect(report.units.every((u) => u.stale === true && u.ageMs >= 0)).toBe(true);
    const text = await project.cli('status');
    expect(text.exitCode).toBe(2);
    expect(text.stdout).toMatch(/NOT RUNNING.*`redundancy ensure`/);
    expect(text.stdout).toMatch(/healthy, \d+s ago \(stale\)/);
  });

  it('two at once: one manager, both exit 0 naming it', async () => {
    const project = await appProject(session, { name: `ec${process.pid}` });
    const [a, b] = await Promise.all([ensure(project), ensure(project)]);
    expect(a.pid).toBe(b.pid);
    expect([a.started, b.started].filter(Boolean)).toHaveLength(1);
    // The other one started lost the state lock and exits (it may still be on its way out).
    await waitFor(() => managersOf(project.dir).length === 1, { timeoutMs: 10_000, what: 'the loser gone' });
    expect(managersOf(project.dir)).toEqual([a.pid]);
    // Five more at once, with the manager up: nothing.
    const more = await Promise.all([1, 2, 3, 4, 5].map(() => ensure(project)));
    expect(more.every((m) => m.pid === a.pid && !m.started)).toBe(true);
    expect(managersOf(project.dir)).toEqual([a.pid]);
    await stopManager(a.pid);
    // And from nothing again, three at once.
    const again = await Promise.all([1, 2, 3].map(() => ensure(project)));
    expect(new Set(again.map((m) => m.pid)).size).toBe(1);
    await waitFor(() => managersOf(project.dir).length === 1, { timeoutMs: 10_000, what: 'the losers gone' });
    expect(managersOf(project.dir)).toEqual([again[0]!.pid]);
    await stopManager(again[0]!.pid);
  });
});
