import { describe, expect, it } from 'vitest';
import { compileConfig } from '../core/config.js';
import { isRedundancyError } from '../core/errors.js';
import { expandPlan, jobCount, selectStage, type RunnableUnit } from './plan.js';

const file = 'redundancy.config.yaml';
const orchestrate = (raw: unknown) => compileConfig({ orchestrate: raw }, { file, cwd: '/srv/app' }).orchestrate!;
const units: RunnableUnit[] = [
  { id: 'cron:restic-home', command: 'restic backup /home' },
  { id: 'cron:restic-srv', command: 'restic backup /srv' },
  { id: 'cron:heartbeat', command: 'sh automation/jobs/heartbeat.sh' },
  { id: 'script:export', command: '/srv/app/automation/scripts/export.mjs' },
];

describe('expandPlan', () => {
  it('resolves unit jobs, expands discover globs over ids and commands, and names ledger ids', () => {
    const plan = expandPlan(orchestrate({
      stages: [
        { name: 'backups', parallel: true, concurrency: 2, discover: ['cron:restic-*', '*export.mjs'], jobs: [{ unit: 'cron:restic-srv' }, { name: 'db', run: 'pg_dump' }] },
        { name: 'mirror', jobs: [{ name: 'data', mirror: { from: 'data', to: '/mnt/m' } }] },
      ],
    }), units, file);
    const [backups, mirror] = plan.stages;
    expect(backups!.jobs.map((j) => [j.name, j.kind, j.ledgerId])).toEqual([
      ['cron:restic-srv', 'unit', 'cron:restic-srv'],
      ['db', 'run', 'orchestrate:backups/db'],
      ['cron:restic-home', 'unit', 'cron:restic-home'],
      ['script:export', 'unit', 'script:export'],
    ]);
    expect(backups!.limit).toBe(2);
    expect(mirror!.jobs[0]).toMatchObject({ kind: 'mirror', ledgerId: 'orchestrate:mirror/data', stage: 'mirror' });
    expect(mirror!.limit).toBe(1);
    expect(jobCount(plan)).toBe(5);
    expect(plan.notes).toEqual([]);
  });

  it('runs a parallel stage without a limit all at once, and notes a glob that matched nothing', () => {
    const plan = expandPlan(orchestrate({ stages: [{ name: 'p', parallel: true, discover: 'cron:nothing-*', jobs: [{ name: 'a', run: 'a' }, { name: 'b', run: 'b' }] }] }), units, file);
    expect(plan.stages[0]!.limit).toBe(2);
    expect(plan.notes).toEqual(['stage p: discover cron:nothing-* matched no cron or script unit']);
  });

  it('refuses an unknown unit with a one-line config error naming where it was written', () => {
    const config = orchestrate({ stages: [{ name: 's', jobs: [{ name: 'a', run: 'a' }] }, { name: 't', jobs: [{ unit: 'cron:nope' }] }] });
    let error: unknown;
    try {
      expandPlan(config, units, file);
    } catch (e) {
      error = e;
    }
    expect(isRedundancyError(error) && error.exitCode).toBe(78);
    expect((error as Error).message).toBe('redundancy.config.yaml: orchestrate.stages[1].jobs[0].unit: expected a cron: or script: unit of `redundancy inventory` (no such unit), got "cron:nope"');
  });

  it('selects one stage by name; an unknown one is a usage error', () => {
    const plan = expandPlan(orchestrate({ stages: [{ name: 'a', jobs: [{ name: 'x', run: 'x' }] }, { name: 'b', jobs: [{ name: 'y', run: 'y' }] }] }), [], file);
    expect(selectStage(plan, 'b').stages.map((s) => s.name)).toEqual(['b']);
    expect(selectStage(plan, undefined)).toBe(plan);
    expect(() => selectStage(plan, 'c')).toThrow('orchestrate --stage "c": no such stage (stages: a, b)');
  });
});
