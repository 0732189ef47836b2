import { describe, expect, it } from 'vitest';
import { compileConfig } from '../core/config.js';
import { isRedundancyError } from '../core/errors.js';

const cwd = '/srv/app';
const file = 'redundancy.config.yaml';
const compile = (orchestrate: unknown) => compileConfig({ orchestrate }, { file, cwd }).orchestrate!;

function errorOf(orchestrate: unknown): string {
  try {
    compile(orchestrate);
  } catch (error) {
    if (isRedundancyError(error) && error.exitCode === 78) return error.message;
    throw error;
  }
  throw new Error('expected a config error');
}

const job = { name: 'a', run: 'true' };

describe('orchestrate config', () => {
  it('is absent when not written, and fills defaults when it is', () => {
    expect(compileConfig({}, { file, cwd }).orchestrate).toBeUndefined();
    const plan = compile({ stages: [{ name: 's', jobs: [job] }] });
    expect(plan).toEqual({
      failureThreshold: 0.5,
      preflight: [],
      stages: [{ name: 's', jobs: [{ kind: 'run', name: 'a', command: 'true', at: ['orchestrate', 'stages', 0, 'jobs', 0] }], discover: [], parallel: false, concurrency: 1, timeoutMs: 3_600_000, onFailure: 'continue', at: ['orchestrate', 'stages', 0] }],
    });
  });

  it('compiles preflight checks, parallel stages, unit and mirror jobs', () => {
    const plan = compile({
      failureThreshold: 0.2,
      preflight: [{ path: 'data', minFree: '1GiB' }, { command: 'test -d data', timeout: '5s' }, { http: 'http://127.0.0.1:9/health' }],
      stages: [
        { name: 'backups', parallel: true, concurrency: 3, timeout: '30s', onFailure: 'warn', discover: 'cron:restic-*', jobs: [{ unit: 'cron:db' }] },
        { name: 'mirror', jobs: [{ name: 'data', mirror: { from: 'data/', to: 'backup@nas:/srv/mirror', keep: 3, exclude: '*.tmp', ssh: { port: 2222, identity: 'keys/id' }, bwlimit: '1MiB' } }] },
      ],
    });
    expect(plan.failureThreshold).toBe(0.2);
    expect(plan.preflight.map((c) => c.kind)).toEqual(['path', 'command', 'http']);
    expect(plan.preflight[0]).toMatchObject({ path: '/srv/app/data', minFreeBytes: 1024 ** 3 });
    expect(plan.stages[0]).toMatchObject({ parallel: true, concurrency: 3, timeoutMs: 30_000, onFailure: 'warn', discover: ['cron:restic-*'], jobs: [{ kind: 'unit', name: 'cron:db', unit: 'cron:db' }] });
    expect(plan.stages[1]!.jobs[0]).toMatchObject({
      kind: 'mirror',
      mirror: { from: '/srv/app/data', to: { kind: 'ssh', host: 'backup@nas', path: '/srv/mirror' }, keep: 3, verify: true, exclude: ['*.tmp'], ssh: { port: 2222, identity: '/srv/app/keys/id' }, bwlimitKiB: 1024 },
    });
    expect(compile({ stages: [{ name: 'p', parallel: true, jobs: [job] }] }).stages[0]!.concurrency).toBeNull();
  });

  it('refuses bad input with one line naming file, key, value and what was expected', () => {
    const cases: Array<[unknown, string]> = [
      [{ stages: [{ name: 's', jobs: [job] }, { name: 's', jobs: [job] }] }, 'redundancy.config.yaml: orchestrate.stages[1].name: expected a stage name no other stage has, got "s"'],
      [{ stages: [{ name: 's', parallel: true, concurrency: 0, jobs: [job] }] }, 'redundancy.config.yaml: orchestrate.stages[0].concurrency: expected an integer >= 1, got 0'],
      [{ preflight: [{ path: '.', minFree: 'lots' }], stages: [] }, 'redundancy.config.yaml: orchestrate.preflight[0].minFree: expected a size like 500MB, 10GiB or a number of bytes, got "lots"'],
      [{ preflight: [{ path: '.' }] }, 'orchestrate.preflight[0].minFree: expected a size'],
      [{ stages: [{ name: 's', jobs: [{ unit: 'pm2:web' }] }] }, 'orchestrate.stages[0].jobs[0].unit: expected a cron: or script: unit id'],
      [{ stages: [{ name: 's', jobs: [{ name: 'x', run: 'a', unit: 'cron:b' }] }] }, 'exactly one of run, unit, mirror'],
      [{ stages: [{ name: 's', jobs: [job, job] }] }, 'orchestrate.stages[0].jobs[1].name: expected a job name no other job of the stage has, got "a"'],
      [{ stages: [{ name: 's', jobs: [{ name: 'a/b', run: 'true' }] }] }, 'orchestrate.stages[0].jobs[0].name: expected a job name (text without / or control characters)'],
      [{ stages: [{ name: 's', concurrency: 2, jobs: [job] }] }, 'orchestrate.stages[0].concurrency: expected at most 1 unless the stage sets parallel: true, got 2'],
      [{ stages: [{ name: 's', onFailure: 'panic', jobs: [job] }] }, 'orchestrate.stages[0].onFailure: expected continue, stop, warn, got "panic"'],
      [{ stages: [{ name: 's' }] }, 'orchestrate.stages[0].jobs: expected at least one job, or discover: <glob>'],
      [{ stages: [{ name: 's', jobs: [job], paralel: true }] }, 'orchestrate.stages[0].paralel: expected a known key (unknown key; did you mean "parallel"?)'],
      [{ failureThreshold: 2, stages: [] }, 'orchestrate.failureThreshold: expected a number >= 0 and <= 1, got 2'],
      [{ stages: [{ name: 'm', jobs: [{ name: 'm', mirror: { from: 'data', to: 'data/mirror' } }] }] }, 'orchestrate.stages[0].jobs[0].mirror.to: expected a directory outside the source data'],
      [{ stages: [{ name: 'm', jobs: [{ name: 'm', mirror: { from: 'data', to: '/mnt/m', ssh: { port: 22 } } }] }] }, 'mirror.ssh: expected no ssh settings for a local destination'],
      [{ stages: [{ name: 'm', jobs: [{ name: 'm', mirror: { from: 'data', to: '-oProxyCommand=x:y' } }] }] }, 'mirror.to: expected host:path with a host name like backup.example or user@host, got "-oProxyCommand=x:y"'],
      [{ stages: [{ name: 'm', jobs: [{ name: 'm', mirror: { from: 'data', to: '-x:y' } }] }] }, 'mirror.to: expected a host name that does not start with -'],
      [{ stages: [{ name: 'm', jobs: [{ name: 'm', mirror: { from: 'data', to: '/mnt/m', keep: 0 } }] }] }, 'mirror.keep: expected an integer >= 1, got 0'],
    ];
    for (const [input, message] of cases) {
      const got = errorOf(input);
      expect(got).toContain(message);
      expect(got).not.toContain('\n');
    }
  });
});
