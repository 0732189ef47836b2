import { describe, expect, it } from 'vitest';
import { compileConfig } from '../core/config.js';
import type { JobResult, JobStatus } from './outcome.js';
import { expandPlan, type PlannedJob } from './plan.js';
import { runPlan, type JobExecutor } from './runner.js';

const plan = (stages: unknown[]) => expandPlan(compileConfig({ orchestrate: { stages } }, { cwd: '/srv' }).orchestrate!, [], 'redundancy.config.yaml');
const jobs = (...names: string[]) => names.map((name) => ({ name, run: name }));

/** Each job ends with the status its command names ("failed", "successful"...). */
function fakeExecutor(log: string[]): JobExecutor {
  return {
    async run(job: PlannedJob, { signal, started }): Promise<JobResult> {
      started();
      log.push(`${job.stage}/${job.name}`);
      await new Promise((resolve) => setImmediate(resolve));
      const status = (job.kind === 'run' ? job.command.split('-')[0] : 'successful') as JobStatus;
      return { name: job.name, status: signal.aborted ? 'interrupted' : status, exitCode: 0, durationMs: 0, reason: null };
    },
  };
}
const progress = { jobStarted: () => undefined, jobEnded: () => undefined };

describe('runPlan', () => {
  it('runs the stages in order; a failure in a continue stage lets the next run', async () => {
    const log: string[] = [];
    const run = await runPlan(plan([{ name: 'a', jobs: jobs('failed-1', 'successful-2') }, { name: 'b', jobs: jobs('successful-3') }]), fakeExecutor(log), { signal: new AbortController().signal, progress });
    expect(log).toEqual(['a/failed-1', 'a/successful-2', 'b/successful-3']);
    expect(run.stages.map((s) => s.status)).toEqual(['failed', 'successful']);
  });

  it('stops at a failed job of a stop stage: the rest is notRun', async () => {
    const log: string[] = [];
    const run = await runPlan(plan([{ name: 'a', onFailure: 'stop', jobs: jobs('failed-1', 'successful-2') }, { name: 'b', jobs: jobs('successful-3') }]), fakeExecutor(log), { signal: new AbortController().signal, progress });
    expect(log).toEqual(['a/failed-1']);
    expect(run.stages[0]!.jobs.map((j) => j.status)).toEqual(['failed', 'notRun']);
    expect(run.stages[1]).toMatchObject({ status: 'notRun', jobs: [{ status: 'notRun', reason: 'not started: a/failed-1 failed in an onFailure: stop stage' }] });
  });

  it('starts nothing after an abort', async () => {
    const controller = new AbortController();
    const executor = fakeExecutor([]);
    const run = await runPlan(plan([{ name: 'a', jobs: jobs('successful-1', 'successful-2') }]), {
      run: (job, hooks) => {
        controller.abort();
        return executor.run(job, hooks);
      },
    }, { signal: controller.signal, progress });
    expect(run.interrupted).toBe(true);
    expect(run.stages[0]!.jobs.map((j) => [j.status, j.reason])).toEqual([['interrupted', null], ['notRun', 'interrupted before it started']]);
  });
});
