import { mkdir, open } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { defaultsLabel } from '../../core/config.js';
import type { OrchestrateConfig } from '../../core/config-orchestrate.js';
import { errorMessage, ExitCode, RedundancyError } from '../../core/errors.js';
import { Ledger } from '../../store/ledger.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import { snapshotStamp } from '../../mirror/snapshots.js';
import { createExecutor, type UnitCommand } from '../../orchestrate/job-executor.js';
import { computeOutcome } from '../../orchestrate/outcome.js';
import { expandPlan, jobCount, selectStage } from '../../orchestrate/plan.js';
import { runPreflight } from '../../orchestrate/preflight.js';
import { createProgress } from '../../orchestrate/progress.js';
import { planText, preflightText, resultOf, stagesWith, summaryText, type OrchestrateResult } from '../../orchestrate/format.js';
import { runPlan } from '../../orchestrate/runner.js';
import { ledgerDir, runnableUnits, sideReader } from '../../orchestrate/units.js';
import type { Context } from '../context.js';
import { confirm } from '../confirm.js';

export interface OrchestrateOptions {
  dryRun?: boolean;
  yes?: boolean;
  stage?: string;
  /** The global --verbose: the jobs' output, streamed with their names. */
  verbose?: boolean;
}

const noPlan: OrchestrateConfig = { failureThreshold: 0.5, preflight: [], stages: [] };

/**
 * `redundancy orchestrate`: preflight checks, then the stages in order. Exit 0 all succeeded, 1 some
 * failed (rate at most the threshold), 2 above it, a stop stage's job failed, preflight failed or
 * the run was interrupted; 64 without a terminal and without --yes; 78 for a bad plan.
 */
export async function orchestrateCommand(ctx: Context, opts: OrchestrateOptions): Promise<number> {
  const { config } = ctx;
  // A compiled config cached by an older version has no `orchestrate`: the same as none written.
  const orchestrate = config.orchestrate ?? noPlan;
  const file = config.file ? relative(config.cwd, config.file) || config.file : defaultsLabel;
  if (orchestrate.stages.length === 0) {
    throw new RedundancyError('USAGE', `orchestrate: ${file} has no orchestrate.stages: nothing to run (README, "Orchestrated runs and mirrors")`);
  }
  const needsUnits = orchestrate.stages.some((s) => s.discover.length > 0 || s.jobs.some((j) => j.kind === 'unit'));
  const units = needsUnits ? await runnableUnits(config) : { list: [], commands: new Map<string, UnitCommand>() };
  const plan = selectStage(expandPlan(orchestrate, units.list, file), opts.stage);
  const out = ctx.json ? process.stderr : process.stdout;
  const interactive = process.stdin.isTTY === true && out.isTTY === true;
  if (!opts.dryRun && !opts.yes && !interactive) {
    throw new RedundancyError('USAGE', 'orchestrate: no terminal to confirm the plan on: add --yes to run it (or --dry-run to see it)');
  }

  const startedAt = Date.now();
  const needsRsync = plan.stages.some((s) => s.jobs.some((j) => j.kind === 'mirror'));
  const preflight = await runPreflight(plan.preflight, { cwd: config.cwd, needsRsync });
  const preflightOk = preflight.every((r) => r.ok);
  const total = jobCount(plan);

  if (opts.dryRun) {
    ctx.say(planText(plan, { cwd: config.cwd, file }));
    ctx.say(preflightText(preflight));
    ctx.say(preflightOk ? `dry run: would run ${total} job(s) in ${plan.stages.length} stage(s); nothing was run` : 'dry run: preflight failed, nothing would run; nothing was run');
    const counts = computeOutcome({ stages: [], failureThreshold: plan.failureThreshold, preflightOk, interrupted: false });
    const result = resultOf({ ...counts, total }, preflight, stagesWith(plan, 'planned', null));
    if (ctx.json) ctx.result(result, '');
    return result.exitCode;
  }

  if (!preflightOk) {
    const stages = stagesWith(plan, 'notRun', 'preflight failed');
    const result = resultOf({ ...computeOutcome({ stages: [], failureThreshold: plan.failureThreshold, preflightOk, interrupted: false }), total }, preflight, stages);
    await writeRunLog(config.logsDir, startedAt, result, opts.stage, ctx);
    if (!ctx.quiet && !ctx.json) process.stderr.write(`${preflightText(preflight.filter((r) => !r.ok))}\n`);
    ctx.result(result, `orchestrate: preflight failed, nothing was run; exit ${result.exitCode}`);
    return result.exitCode;
  }

  if (!opts.yes) {
    out.write(`${planText(plan, { cwd: config.cwd, file })}\n${preflightText(preflight)}\n`);
    if (!(await confirm(`Run ${total} job(s) in ${plan.stages.length} stage(s)? [y/N] `, out))) {
      out.write('nothing was run\n');
      return ExitCode.degraded;
    }
  }

  const mode = ctx.quiet || ctx.json ? 'none' : process.stdout.isTTY && !opts.verbose ? 'live' : 'plain';
  const progress = createProgress(mode, process.stdout);
  if (mode !== 'none') process.stdout.write(`orchestrate: ${total} job(s) in ${plan.stages.length} stage(s) (${file})\n`);
  const controller = new AbortController();
  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy === undefined && mode !== 'none') process.stderr.write(`\n${signal}: stopping the running jobs\n`);
    interruptedBy ??= signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let run: Awaited<ReturnType<typeof runPlan>>;
  try {
    const executor = createExecutor({
      cwd: config.cwd, ledger: new Ledger({ dir: ledgerDir(config) }), units: units.commands, sideOf: sideReader(config),
      verbose: opts.verbose === true, warn: (line) => process.stderr.write(`redundancy: ${line}\n`),
    });
    run = await runPlan(plan, executor, { signal: controller.signal, progress });
  } finally {
    progress.close();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  const counts = computeOutcome({
    stages: plan.stages.map((stage, i) => ({ onFailure: stage.onFailure, jobs: run.stages[i]!.jobs })),
    failureThreshold: plan.failureThreshold, preflightOk, interrupted: run.interrupted,
  });
  const result = resultOf(counts, preflight, run.stages);
  await writeRunLog(config.logsDir, startedAt, result, opts.stage, ctx);
  ctx.result(result, summaryText(result, plan.failureThreshold));
  return result.exitCode;
}

/** `logs/orchestrate-<UTC time>.json`, written atomically; a second run in the same second gets `-2`. */
async function writeRunLog(logsDir: string, startedAt: number, result: OrchestrateResult, stage: string | undefined, ctx: Context): Promise<void> {
  const stamp = snapshotStamp(startedAt);
  const body = `${JSON.stringify({ ...result, startedAt: new Date(startedAt).toISOString(), finishedAt: new Date().toISOString(), stage: stage ?? null }, null, 2)}\n`;
  try {
    await mkdir(logsDir, { recursive: true });
    for (let n = 1; ; n++) {
      const file = join(logsDir, `orchestrate-${stamp}${n === 1 ? '' : `-${n}`}.json`);
      // The name is claimed first (O_EXCL): two runs in one second never replace each other's log.
      const claimed = await open(file, 'wx').then((h) => h.close().then(() => true), (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST' && n < 100) return false;
        throw error;
      });
      if (!claimed) continue;
      await writeFileAtomic(file, body);
      return;
    }
  } catch (error) {
    // The run happened and its exit code stands; the log is said to be missing, once.
    process.stderr.write(`redundancy: orchestrate run log not written in ${logsDir}: ${errorMessage(error)}\n`);
    ctx.logger.warn({ logsDir, err: errorMessage(error) }, 'orchestrate run log not written');
  }
}
