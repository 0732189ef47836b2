import type { JobResult, StageResult } from './outcome.js';
import { stageStatus, stopsTheRun } from './outcome.js';
import type { Plan, PlannedJob } from './plan.js';
import { runLimited } from './pool.js';

/** Runs one job. Never throws: whatever goes wrong is the job's `failed` result with a reason. */
export interface JobExecutor {
  run(job: PlannedJob, hooks: { signal: AbortSignal; started: () => void }): Promise<JobResult>;
}

export interface RunProgress {
  jobStarted(job: PlannedJob): void;
  jobEnded(job: PlannedJob, result: JobResult): void;
}

export interface PlanRun {
  stages: StageResult[];
  /** The signal aborted the run (SIGINT, SIGTERM). */
  interrupted: boolean;
}

const notRun = (job: PlannedJob, reason: string): JobResult => ({ name: job.name, status: 'notRun', exitCode: null, durationMs: null, reason });

/**
 * Runs the stages in order, each with at most its `limit` of jobs at once. A failed job of an
 * `onFailure: stop` stage, or the abort signal, stops new jobs from starting (running ones finish,
 * or on abort are stopped by the executor); what did not start is `notRun`.
 */
export async function runPlan(plan: Plan, executor: JobExecutor, opts: { signal: AbortSignal; progress: RunProgress }): Promise<PlanRun> {
  let stoppedBy: string | undefined;
  const stages: StageResult[] = [];
  for (const stage of plan.stages) {
    const results: JobResult[] = stage.jobs.map((job) => notRun(job, ''));
    const keepGoing = () => stoppedBy === undefined && !opts.signal.aborted;
    await runLimited(stage.jobs, stage.limit, async (job, i) => {
      const result = await executor
        .run(job, { signal: opts.signal, started: () => opts.progress.jobStarted(job) })
        .catch((error: unknown): JobResult => ({ name: job.name, status: 'failed', exitCode: null, durationMs: null, reason: `could not run: ${String(error)}` }));
      results[i] = result;
      opts.progress.jobEnded(job, result);
      if (stopsTheRun(stage.onFailure, result.status)) stoppedBy ??= `${stage.name}/${job.name} failed in an onFailure: stop stage`;
    }, keepGoing);
    stage.jobs.forEach((job, i) => {
      if (results[i]!.status === 'notRun') results[i] = notRun(job, opts.signal.aborted ? 'interrupted before it started' : `not started: ${stoppedBy ?? 'the run stopped'}`);
    });
    stages.push({ name: stage.name, status: stageStatus(stage.onFailure, results), jobs: results });
  }
  return { stages, interrupted: opts.signal.aborted };
}
