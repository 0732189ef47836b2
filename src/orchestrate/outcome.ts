import type { OnFailure } from '../core/config-orchestrate.js';

/**
 * A job's end: `skipped` (its unit was already running), `notRun` (the run stopped before it:
 * preflight, an `onFailure: stop` stage, an interrupt), `planned` (a dry run).
 */
export type JobStatus = 'successful' | 'failed' | 'timedOut' | 'skipped' | 'interrupted' | 'notRun' | 'planned';
export type StageStatus = 'successful' | 'failed' | 'warned' | 'interrupted' | 'notRun' | 'planned';

export interface JobResult {
  name: string;
  status: JobStatus;
  exitCode: number | null;
  durationMs: number | null;
  reason: string | null;
}

export interface StageResult {
  name: string;
  status: StageStatus;
  jobs: JobResult[];
}

export interface RunCounts {
  total: number;
  successful: number;
  failed: number;
  timedOut: number;
  skipped: number;
  interrupted: number;
  /** (failed + timedOut) / (jobs that ran), in percent, one decimal. */
  failureRatePercent: number;
  exitCode: 0 | 1 | 2;
}

export interface OutcomeInput {
  stages: ReadonlyArray<{ onFailure: OnFailure; jobs: readonly JobResult[] }>;
  failureThreshold: number;
  preflightOk: boolean;
  /** SIGINT or SIGTERM stopped the run. */
  interrupted: boolean;
}

const isFailure = (status: JobStatus): boolean => status === 'failed' || status === 'timedOut';

/** Pure: a stage's status from its jobs. A warn stage's failures make it `warned`, not `failed`. */
export function stageStatus(onFailure: OnFailure, jobs: readonly JobResult[]): StageStatus {
  if (jobs.some((j) => j.status === 'interrupted')) return 'interrupted';
  if (jobs.length > 0 && jobs.every((j) => j.status === 'planned')) return 'planned';
  if (jobs.length > 0 && jobs.every((j) => j.status === 'notRun')) return 'notRun';
  if (jobs.some((j) => isFailure(j.status))) return onFailure === 'warn' ? 'warned' : 'failed';
  return 'successful';
}

/** A failed or timed-out job of an `onFailure: stop` stage: nothing after it starts. */
export function stopsTheRun(onFailure: OnFailure, status: JobStatus): boolean {
  return onFailure === 'stop' && isFailure(status);
}

/**
 * Pure: the counts and the exit code. The failure rate is (failed + timed out) / (jobs that ran:
 * successful, failed, timed out); skipped jobs are counted apart. A warn stage's failures are
 * warnings: in no count and not in the rate (its successful jobs count as successful).
 * Exit 2: preflight failed, the run was interrupted, a stop stage's job failed, or the rate is
 * strictly above the threshold; 1: some failed or timed out; 0: none did.
 */
export function computeOutcome(input: OutcomeInput): RunCounts {
  const counts = { total: 0, successful: 0, failed: 0, timedOut: 0, skipped: 0, interrupted: 0 };
  let stopped = false;
  for (const stage of input.stages) {
    for (const job of stage.jobs) {
      counts.total += 1;
      if (stopsTheRun(stage.onFailure, job.status)) stopped = true;
      if (stage.onFailure === 'warn' && isFailure(job.status)) continue;
      if (job.status === 'successful' || job.status === 'failed' || job.status === 'timedOut' || job.status === 'skipped' || job.status === 'interrupted') {
        counts[job.status] += 1;
      }
    }
  }
  const ran = counts.successful + counts.failed + counts.timedOut;
  const rate = ran === 0 ? 0 : (counts.failed + counts.timedOut) / ran;
  const exitCode =
    !input.preflightOk || input.interrupted || counts.interrupted > 0 || stopped || rate > input.failureThreshold ? 2
    : counts.failed + counts.timedOut > 0 ? 1
    : 0;
  return { ...counts, failureRatePercent: Math.round(rate * 1000) / 10, exitCode };
}
