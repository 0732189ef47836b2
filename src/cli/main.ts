#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { errorMessage, ExitCode, isRedundancyError } from '../core/errors.js';
import { version } from '../version.js';
import { makeContext, type Context, type GlobalOptions } from './context.js';

let exitCode: number = ExitCode.ok;

function buildProgram(): Command {
  const program = new Command('redundancy')
    .description('Backup twins, health checks and failover for PM2 apps')
    .version(version)
    .option('--config <file>', 'configuration file (default: redundancy.config.yaml in the project dir)')
    .option('--cwd <dir>', 'project directory (default: the current directory)')
    .option('--json', 'print JSON')
    .option('--quiet', 'print nothing but errors')
    .option('--verbose', 'debug logging, and stack traces on errors')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(`redundancy: ${text.replace(/^error: /, '').trim()}\n`) });

  const run = (action: (ctx: Context, ...args: never[]) => Promise<number>, tolerant = false) =>
    async (...args: unknown[]) => {
      const ctx = await makeContext(program.opts<GlobalOptions>(), tolerant);
      try {
        exitCode = await (action as (ctx: Context, ...rest: unknown[]) => Promise<number>)(ctx, ...args);
      } finally {
        await ctx.close();
      }
    };

  program.command('inventory').description('list the units found').action(run(async (ctx) => (await import('./commands/inventory.js')).inventoryCommand(ctx)));
  program
    .command('twins')
    .description('plan the backup twins and show them')
    .option('--write', 'write the twin files (PM2 twins, automation/redundancy/crontab.wrapped, script wrappers)')
    .option('--install-crontab', "put the wrapped lines into the user's crontab between marker comments")
    .option('--dry-run', 'show what --write or --install-crontab would change')
    .action(run(async (ctx, opts: { write?: boolean; installCrontab?: boolean; dryRun?: boolean }) => (await import('./commands/twins.js')).twinsCommand(ctx, opts)));
  program
    .command('start')
    .description('start the manager under PM2 and register the twins')
    .option('--foreground', 'run the manager in this process')
    .option('--dry-run', 'say what would start')
    .action(run(async (ctx, opts: { foreground?: boolean; dryRun?: boolean }) => (await import('./commands/start.js')).startCommand(ctx, opts)));
  program
    .command('stop')
    .description('stop the manager; the active side of each unit keeps running')
    .option('--cleanup', 'also remove the twins, the manager app and the state')
    .option('--force', 'kill the manager; with --cleanup, remove twins even of units on their twin')
    .option('--dry-run', 'say what would stop')
    .action(run(async (ctx, opts: { cleanup?: boolean; force?: boolean; dryRun?: boolean }) => (await import('./commands/stop.js')).stopCommand(ctx, opts)));
  program
    .command('status')
    .description('one line a unit; exit 0 healthy, 1 degraded or on a twin, 2 critical or manager down')
    .option('--watch', 'refresh until interrupted')
    .action(run(async (ctx, opts: { watch?: boolean }) => (await import('./commands/status.js')).statusCommand(ctx, opts), true));
  program
    .command('check')
    .description('one full health round now; writes the report')
    .option('--dry-run', 'probe and say what would change, change nothing')
    .action(run(async (ctx, opts: { dryRun?: boolean }) => (await import('./commands/act.js')).checkCommand(ctx, opts)));
  for (const action of ['failover', 'failback'] as const) {
    program
      .command(`${action} <unit>`)
      .description(action === 'failover' ? 'switch a unit to its twin now' : 'start a failback trial now')
      .option('--dry-run', 'say what would change')
      .action(run(async (ctx, unit: string, opts: { dryRun?: boolean }) => (await import('./commands/act.js')).switchCommand(ctx, unit, action, opts)));
  }
  program
    .command('drill [unit]')
    .description('planned failover and failback through the running manager, verifying each side serves; exit 0 done, 1 refused (nothing changed), 2 twin not verified (put back)')
    .option('--all', 'every unit, one at a time with a pause between')
    .option('--yes', 'run without asking (needed without a terminal)')
    .option('--dry-run', 'say whether it would run and what it would do')
    .action(run(async (ctx, unit: string | undefined, opts: { all?: boolean; yes?: boolean; dryRun?: boolean }) => (await import('./commands/drill.js')).drillCommand(ctx, unit, opts)));
  program
    .command('host [action]')
    .description('several hosts: status (hosts, active host, epoch, health, mirror age), promote (this standby), demote (this active host)')
    .action(run(async (ctx, action: string | undefined) => (await import('./commands/host.js')).hostCommand(ctx, action ?? 'status')));
  program
    .command('reload')
    .description('the running manager re-reads the config and every source; on any error the running config stays (exit 78)')
    .action(async () => {
      // Not through `run`: a config that no longer loads must still reach the manager, which refuses it.
      exitCode = await (await import('./commands/reload.js')).reloadCommand(program.opts<GlobalOptions>());
    });
  for (const action of ['pause', 'resume'] as const) {
    const command = program
      .command(`${action} [unit]`)
      .description(action === 'pause' ? 'maintenance: samples are recorded, no failover or failback fires' : 'end a pause')
      .option('--all', 'every unit');
    if (action === 'pause') command.option('--for <duration>', 'end the pause by itself after this long (30m, 2h)');
    command.action(run(async (ctx, unit: string | undefined, opts: { all?: boolean; for?: string }) => (await import('./commands/pause.js')).pauseCommand(ctx, unit, opts, action)));
  }
  program
    .command('run <unit> [command...]')
    .description('run a command and record it in the run ledger (cron: and script: units); `run <unit> -- <cmd...>`')
    .option('--twin', "record it as the twin's run (by hand: it always runs)")
    .action(async (unit: string, command: string[], opts: { twin?: boolean }) => {
      // No context: a config that does not load must not stop the user's job (the gate fails open).
      exitCode = await (await import('./commands/run.js')).runCommand(program.opts<GlobalOptions>(), unit, command, opts);
    });
  program
    .command('startup [flavour]')
    .description('install a supervisor for the manager outside PM2: systemd (default) or cron')
    .option('--dry-run', 'print what would be written and run')
    .action(run(async (ctx, flavour: string | undefined, opts: { dryRun?: boolean }) => (await import('./commands/startup.js')).startupCommand(ctx, flavour, opts)));
  program
    .command('unstartup')
    .description('remove the supervisor `startup` installed (the manager it ran stops; the units keep running)')
    .option('--dry-run', 'print what would be removed')
    .action(run(async (ctx, opts: { dryRun?: boolean }) => (await import('./commands/startup.js')).unstartupCommand(ctx, opts)));
  program
    .command('ensure')
    .description('start the manager outside PM2 when none runs for the project; else nothing (exit 0 both ways)')
    .action(run(async (ctx) => (await import('./commands/ensure.js')).ensureCommand(ctx)));
  program
    .command('orchestrate')
    .description('run the orchestrate: plan: preflight, then stages; exit 0 all ok, 1 some failed, 2 above failureThreshold, a stop stage failed or preflight failed')
    .option('--dry-run', 'show the plan and the preflight results; run nothing')
    .option('--yes', 'run without asking (needed without a terminal)')
    .option('--stage <name>', 'run only this stage (after the preflight)')
    .action(run(async (ctx, opts: { dryRun?: boolean; yes?: boolean; stage?: string }) => (await import('./commands/orchestrate.js')).orchestrateCommand(ctx, { ...opts, verbose: program.opts<GlobalOptions>().verbose === true })));
  program.addOption(new Option('--no-color').hideHelp());
  return program;
}

async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    await buildProgram().parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; commander already printed its one line otherwise.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? 0 : ExitCode.usage;
    }
    if (isRedundancyError(error)) {
      process.stderr.write(`redundancy: ${error.message}\n`);
      if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    process.stderr.write(`redundancy: internal error: ${errorMessage(error).split('\n')[0]}${verbose ? '' : ' (--verbose shows the stack)'}\n`);
    if (verbose && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return ExitCode.software;
  }
}

const code = await main(process.argv);
// Flush piped stdout before exiting: PM2's client can hold handles open after disconnect.
process.stdout.write('', () => process.exit(code));
