import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompiledConfig } from '../../core/config-types.js';
import { errorMessage, isRedundancyError, RedundancyError } from '../../core/errors.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import { MANAGER_APP } from '../../daemon/manager-app.js';
import { startupBlockName, startupCronLines } from '../../daemon/startup/cron-lines.js';
import { renderSystemdUnit, systemdUnitName } from '../../daemon/startup/systemd-unit.js';
import { userCrontab } from '../../kinds/cron/cron-inventory.js';
import { installBlock, uninstallBlock, type CrontabChange } from '../../kinds/cron/user-crontab.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import { connectIfRunning, type Context } from '../context.js';
import { waitForManager } from '../wait-manager.js';
import { explicitConfigFile } from './ensure.js';

export interface StartupOptions {
  dryRun?: boolean;
}

/** systemd runs as the system's manager when this directory exists (sd_booted). */
const systemdRuntimeDir = '/run/systemd/system';
const systemUnitDir = '/etc/systemd/system';

type Scope = 'system' | 'user';

/** root installs a system unit (`User=root`); anyone else a unit of their own systemd (`systemctl --user`). */
function systemdTarget(config: CompiledConfig): { scope: Scope; dir: string; name: string; file: string; systemctl: string[] } {
  const scope: Scope = process.getuid?.() === 0 ? 'system' : 'user';
  const dir = scope === 'system' ? systemUnitDir : join(homedir(), '.config/systemd/user');
  const name = systemdUnitName(config.cwd);
  return { scope, dir, name, file: join(dir, name), systemctl: scope === 'system' ? ['systemctl'] : ['systemctl', '--user'] };
}

/** What the supervisor runs: this node, this CLI, this project, the PM2 the user runs now. */
function launch(config: CompiledConfig) {
  const configFile = explicitConfigFile(config);
  return {
    node: process.execPath,
    cli: fileURLToPath(new URL('../main.js', import.meta.url)),
    project: config.cwd,
    ...(configFile !== undefined && { configFile }),
    pm2Home: process.env.PM2_HOME ?? join(homedir(), '.pm2'),
    ...(process.env.PATH && { path: process.env.PATH }),
  };
}

/** `redundancy startup [systemd|cron] [--dry-run]`: a supervisor for the manager, outside PM2. */
export async function startupCommand(ctx: Context, flavour: string | undefined, opts: StartupOptions): Promise<number> {
  const kind = flavour ?? 'systemd';
  if (kind === 'systemd') return startupSystemd(ctx, opts);
  if (kind === 'cron') return startupCron(ctx, opts);
  throw new RedundancyError('USAGE', `startup ${kind}: expected systemd or cron`);
}

async function startupSystemd(ctx: Context, opts: StartupOptions): Promise<number> {
  const target = systemdTarget(ctx.config);
  const unit = renderSystemdUnit({ ...launch(ctx.config), scope: target.scope, ...(target.scope === 'system' && { user: userInfo().username }) });
  const commands = [[...target.systemctl, 'daemon-reload'], [...target.systemctl, 'enable', '--now', target.name]];
  const running = existsSync(systemdRuntimeDir);
  const notRunning = `systemd is not running here (no ${systemdRuntimeDir}: a container?); \`redundancy startup cron\` installs the same supervision through cron`;
  if (opts.dryRun) {
    const text = [
      `would write ${target.file}:`,
      unit,
      ...commands.map((argv) => `would run: ${argv.join(' ')}`),
      `would remove the PM2 app ${MANAGER_APP} if registered (the unit's manager takes over)`,
      ...(running ? [] : [`note: ${notRunning}`]),
    ].join('\n');
    ctx.result({ flavour: 'systemd', scope: target.scope, file: target.file, unit, commands, systemdRunning: running }, text);
    return 0;
  }
  if (!running) throw new RedundancyError('REFUSED', notRunning);
  await mkdir(target.dir, { recursive: true });
  await writeFileAtomic(target.file, unit);
  ctx.say(`wrote ${target.file}`);
  await systemctl(commands[0]!);
  await handOver(ctx);
  await systemctl(commands[1]!);
  const report = await waitForManager(controlSocketPath(ctx.config.stateDir), 30_000, async () => true);
  const journal = `journalctl ${target.scope === 'user' ? '--user ' : ''}-u ${target.name}`;
  if (!report) throw new RedundancyError('REFUSED', `${target.name} is enabled, but its manager did not answer within 30s; see \`${journal}\` and ${ctx.config.logsDir}/redundancy.log`);
  const linger = target.scope === 'user'
    ? `\nso that it starts at boot without a login: sudo loginctl enable-linger ${userInfo().username}`
    : '';
  ctx.result(
    { flavour: 'systemd', scope: target.scope, file: target.file, unit: target.name, pid: report.manager.pid },
    `${target.name} enabled and started: the manager runs outside PM2 (pid ${report.manager.pid}) and systemd restarts it if it ends${linger}\nlogs: ${journal}; remove it with \`redundancy unstartup\``,
  );
  return 0;
}

/** The manager as the PM2 app gives way to the unit's (two managers cannot run for one project). */
async function handOver(ctx: Context): Promise<void> {
  const pm = await connectIfRunning();
  if (!pm) return;
  try {
    if (!(await pm.list()).some((v) => v.name === MANAGER_APP)) return;
    await pm.remove(MANAGER_APP);
    ctx.say(`removed the PM2 app ${MANAGER_APP}: the unit's manager takes over (the units keep running)`);
  } finally {
    await pm.close();
  }
}

async function systemctl(argv: string[]): Promise<void> {
  const { execa } = await import('execa');
  const result = await execa(argv[0]!, argv.slice(1), { reject: false, timeout: 60_000, stdin: 'ignore' });
  if (result.exitCode !== 0) {
    const why = result.exitCode === undefined ? errorMessage(result.shortMessage) : String(result.stderr).trim().split('\n').join('; ');
    throw new RedundancyError('REFUSED', `${argv.join(' ')}: ${why}`);
  }
}

/** No `crontab` binary: said as a refusal (exit 1), with the package to install. */
function cronMissing(error: unknown): never {
  if (isRedundancyError(error) && error.code === 'IO') throw new RedundancyError('REFUSED', error.message, { cause: error });
  throw error;
}

async function startupCron(ctx: Context, opts: StartupOptions): Promise<number> {
  const lines = startupCronLines(launch(ctx.config));
  const change = await installBlock({
    crontab: userCrontab(ctx.config),
    project: startupBlockName(ctx.config.cwd),
    // SHELL set inside the block (and back after it) only when the user's crontab sets another.
    entries: lines.map((line) => ({ wrapped: line, original: line, env: [['SHELL', '/bin/sh']] })),
    backupDir: ctx.config.stateDir,
    dryRun: opts.dryRun === true,
  }).catch(cronMissing);
  const who = ctx.config.sources.cron.user ?? userInfo().username;
  const daemon = cronDaemonRunning() ? [] : ['note: no cron daemon seems to run on this machine: the lines do nothing until one does'];
  const json = { flavour: 'cron', user: who, lines, changed: change.changed, diff: change.diff, ...(change.backup && { backup: change.backup }) };
  if (opts.dryRun) {
    const what = change.changed ? `would install into the crontab of ${who}:\n${lines.join('\n')}\n\n${change.diff}` : `already in the crontab of ${who}:\n${lines.join('\n')}`;
    ctx.result(json, [what.trimEnd(), ...daemon].join('\n'));
    return 0;
  }
  const what = change.changed
    ? `installed into the crontab of ${who} (the old text kept as ${change.backup}):`
    : `already in the crontab of ${who}:`;
  ctx.result(json, [
    what,
    ...lines,
    'at boot and every minute, `redundancy ensure` starts the manager outside PM2 when none runs; remove them with `redundancy unstartup`',
    ...daemon,
  ].join('\n'));
  return 0;
}

/** A process named cron or crond (Linux /proc); true where that cannot be told. */
function cronDaemonRunning(): boolean {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .some((pid) => {
        try {
          return /^(cron|crond)$/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
        } catch {
          return false;
        }
      });
  } catch {
    return true;
  }
}

/** `redundancy unstartup [--dry-run]`: removes whichever supervisor `startup` installed for this project. */
export async function unstartupCommand(ctx: Context, opts: StartupOptions): Promise<number> {
  const removed: string[] = [];
  const target = systemdTarget(ctx.config);
  if (existsSync(target.file)) {
    const running = existsSync(systemdRuntimeDir);
    // [what it would do, what it did, the work]
    const steps: Array<[string, string, () => Promise<void>]> = [];
    const disable = [...target.systemctl, 'disable', '--now', target.name];
    const reload = [...target.systemctl, 'daemon-reload'];
    if (running) steps.push([`run ${disable.join(' ')}`, `stopped and disabled ${target.name} (the units keep running)`, () => systemctl(disable)]);
    steps.push([`remove ${target.file}`, `removed ${target.file}`, () => rm(target.file, { force: true })]);
    if (running) steps.push([`run ${reload.join(' ')}`, `ran ${reload.join(' ')}`, () => systemctl(reload)]);
    for (const [would, did, work] of steps) {
      if (!opts.dryRun) await work();
      ctx.say(opts.dryRun ? `would ${would}` : did);
    }
    removed.push(target.file);
  }
  const change = await uninstallBlock({
    crontab: userCrontab(ctx.config),
    project: startupBlockName(ctx.config.cwd),
    backupDir: ctx.config.stateDir,
    dryRun: opts.dryRun === true,
  }).catch((error: unknown): CrontabChange | undefined => {
    // No cron on this machine: no crontab to take the lines out of.
    if (isRedundancyError(error) && error.code === 'IO') return undefined;
    throw error;
  });
  if (change?.changed) {
    const who = ctx.config.sources.cron.user ?? userInfo().username;
    if (opts.dryRun) ctx.say(`would take the startup lines out of the crontab of ${who}:\n${change.diff.trimEnd()}`);
    else ctx.say(`took the startup lines out of the crontab of ${who} (the old text kept as ${change.backup}); a manager they started keeps running`);
    removed.push(`crontab of ${who}`);
  }
  if (removed.length === 0) ctx.say(`no supervisor installed for ${ctx.config.cwd}: nothing to remove`);
  if (ctx.json) process.stdout.write(`${JSON.stringify({ removed, dryRun: opts.dryRun === true }, null, 2)}\n`);
  return 0;
}
