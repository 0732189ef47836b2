import { describe, expect, it } from 'vitest';
import type { OnFailure } from '../core/config-orchestrate.js';
import { computeOutcome, stageStatus, type JobResult, type JobStatus } from './outcome.js';

const job = (status: JobStatus, i = 0): JobResult => ({ name: `j${i}`, status, exitCode: status === 'successful' ? 0 : 1, durationMs: 1, reason: null });
const jobs = (failed: number, total: number, failure: JobStatus = 'failed') => Array.from({ length: total }, (_, i) => job(i < failed ? failure : 'successful', i));
const outcome = (stages: Array<{ onFailure?: OnFailure; jobs: JobResult[] }>, extra: { preflightOk?: boolean; interrupted?: boolean; failureThreshold?: number } = {}) =>
  computeOutcome({ stages: stages.map((s) => ({ onFailure: s.onFailure ?? 'continue', jobs: s.jobs })), failureThreshold: extra.failureThreshold ?? 0.5, preflightOk: extra.preflightOk ?? true, interrupted: extra.interrupted ?? false });

describe('computeOutcome', () => {
  it('exits 0, 1 and 2 for 0, 1 and 6 failing jobs of 10', () => {
    expect(outcome([{ jobs: jobs(0, 10) }])).toEqual({ total: 10, successful: 10, failed: 0, timedOut: 0, skipped: 0, interrupted: 0, failureRatePercent: 0, exitCode: 0 });
    expect(outcome([{ jobs: jobs(1, 10) }])).toMatchObject({ successful: 9, failed: 1, failureRatePercent: 10, exitCode: 1 });
    expect(outcome([{ jobs: jobs(6, 10) }])).toMatchObject({ successful: 4, failed: 6, failureRatePercent: 60, exitCode: 2 });
  });

  it('counts timed-out jobs as failures, and exits 2 only strictly above the threshold', () => {
    expect(outcome([{ jobs: jobs(5, 10, 'timedOut') }])).toMatchObject({ timedOut: 5, failureRatePercent: 50, exitCode: 1 });
    expect(outcome([{ jobs: [job('failed'), job('timedOut', 1), job('successful', 2)] }])).toMatchObject({ failureRatePercent: 66.7, exitCode: 2 });
    expect(outcome([{ jobs: jobs(1, 10) }], { failureThreshold: 0 })).toMatchObject({ exitCode: 2 });
  });

  it('counts skipped jobs apart: not in the rate', () => {
    const r = outcome([{ jobs: [job('failed'), job('successful', 1), job('skipped', 2), job('skipped', 3), job('skipped', 4)] }]);
    expect(r).toMatchObject({ total: 5, skipped: 3, failed: 1, successful: 1, failureRatePercent: 50, exitCode: 1 });
    expect(outcome([{ jobs: [job('skipped')] }])).toMatchObject({ failureRatePercent: 0, exitCode: 0 });
  });

  it('leaves a warn stage failures out of every count and the rate', () => {
    const r = outcome([{ onFailure: 'warn', jobs: jobs(2, 2) }, { jobs: jobs(0, 3) }]);
    expect(r).toMatchObject({ total: 5, successful: 3, failed: 0, timedOut: 0, failureRatePercent: 0, exitCode: 0 });
  });

  it('exits 2 when a stop stage job failed, preflight failed, or the run was interrupted', () => {
    expect(outcome([{ onFailure: 'stop', jobs: jobs(1, 10) }]).exitCode).toBe(2);
    expect(outcome([{ onFailure: 'stop', jobs: jobs(0, 10) }]).exitCode).toBe(0);
    expect(outcome([], { preflightOk: false }).exitCode).toBe(2);
    expect(outcome([{ jobs: jobs(0, 2) }], { interrupted: true }).exitCode).toBe(2);
    expect(outcome([{ jobs: [job('interrupted'), job('successful', 1)] }])).toMatchObject({ interrupted: 1, exitCode: 2 });
  });
});

describe('stageStatus', () => {
  it('says what happened to a stage', () => {
    expect(stageStatus('continue', jobs(0, 2))).toBe('successful');
    expect(stageStatus('continue', jobs(1, 2))).toBe('failed');
    expect(stageStatus('warn', jobs(1, 2))).toBe('warned');
    expect(stageStatus('continue', [job('interrupted'), job('failed', 1)])).toBe('interrupted');
    expect(stageStatus('stop', [job('notRun'), job('notRun', 1)])).toBe('notRun');
    expect(stageStatus('stop', [job('planned')])).toBe('planned');
    expect(stageStatus('continue', [job('skipped')])).toBe('successful');
  });
});
