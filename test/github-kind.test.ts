import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { UnitReport } from '../src/core/report-types.js';
import { startFakeGitHub, type FakeGitHub } from './helpers/fake-github.js';
import { cliPath, type TestProject } from './helpers/project.js';
import { pm2Session, status } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

/** GitHub workflows as units, through the real Octokit client against a GitHub on 127.0.0.1. */
const session = pm2Session();
const fakes: FakeGitHub[] = [];
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

const workflow = "name: Nightly\non:\n  schedule:\n    - cron: '17 3 * * *'\n  workflow_dispatch:\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo nightly\n";

async function setUp(opts: { twinCommitted?: boolean; token?: boolean } = {}): Promise<{ github: FakeGitHub; project: TestProject; env: NodeJS.ProcessEnv }> {
  const github = await startFakeGitHub();
  fakes.push(github);
  github.setWorkflows([
    { path: '.github/workflows/nightly.yml', name: 'Nightly' },
    ...(opts.twinCommitted === false ? [] : [{ path: '.github/workflows/nightly-backup.yml', name: 'Nightly (backup)' }]),
  ]);
  const project = await session.project({
    'redundancy.config.yaml': [
      'checkInterval: 200ms',
      'policy: { byKind: { github: { window: 3, minSamples: 3, holdDown: 1h } } }',
      'sources:',
      '  pm2: { live: false }',
      `  github: { repo: ${github.owner}/${github.repo}, apiUrl: "${github.url}", pollEvery: 100ms }`,
      '',
    ].join('\n'),
    '.github/workflows/nightly.yml': workflow,
  });
  return { github, project, env: opts.token === false ? {} : { GITHUB_TOKEN: github.token } };
}

async function unit(project: TestProject): Promise<UnitReport | undefined> {
  return (await status(project)).report.units?.find((u) => u.id === 'github:nightly.yml');
}

function failRuns(github: FakeGitHub, count: number): void {
  for (let i = 0; i < count; i++) {
    const at = Date.now() + i;
    github.addRun('nightly.yml', { event: 'schedule', status: 'completed', conclusion: 'failure', createdAt: at, updatedAt: at });
  }
}

describe('the github kind', () => {
  it('fails over with exactly: disable the primary, set the variable to twin, dispatch the twin once', async () => {
    const { github, project, env } = await setUp();
    const manager = session.startManager(project, env);
    await waitFor(async () => (await unit(project))?.state === 'primary', { timeoutMs: 20_000, what: 'the workflow watched' });
    // A manager starting up writes nothing for a workflow settled on its primary.
    expect(github.writes).toEqual([]);
    github.clearLog();
    failRuns(github, 3);
    await waitFor(async () => (await unit(project))?.state === 'backup', { timeoutMs: 20_000, what: 'the workflow on its twin' });
    // The variable is updated, or created when missing (a 404 to the update first): the writes that took.
    const writes = github.writes.filter((w) => w.status < 300).map((w) => `${w.method} ${w.path.replace(`/repos/${github.owner}/${github.repo}`, '')} ${w.body ? JSON.stringify(w.body) : ''}`.trim());
    expect(writes).toEqual([
      'PUT /actions/workflows/nightly.yml/disable',
      expect.stringMatching(/^(PATCH \/actions\/variables\/REDUNDANCY_ACTIVE_NIGHTLY \{"value":"twin"\}|POST \/actions\/variables \{"name":"REDUNDANCY_ACTIVE_NIGHTLY","value":"twin"\})$/),
      'POST /actions/workflows/nightly-backup.yml/dispatches {"ref":"main"}',
    ]);
    expect(github.workflow('nightly.yml')?.state).toBe('disabled_manually');
    expect(github.variables.get('REDUNDANCY_ACTIVE_NIGHTLY')).toBe('twin');
    // status shows what is left of the API's budget.
    expect((await project.cli('status')).stdout).toMatch(/^github: \d+ of 5000 requests left until \S+; \d+ requests made, \d+ answered 304(; polls slowed to every \d+\.\d s to last the rate limit)?$/m);
    manager.kill('SIGTERM');
    await manager;

    // stop --cleanup deletes the variables the manager set (--dry-run only says so).
    const cli = (...args: string[]) => execa('node', [cliPath, '--cwd', project.dir, ...args], { env: { ...session.pm2.env, ...env }, reject: false });
    expect((await cli('stop', '--cleanup', '--force', '--dry-run')).stdout).toContain('would delete the repository variable REDUNDANCY_ACTIVE_NIGHTLY');
    expect(github.variables.has('REDUNDANCY_ACTIVE_NIGHTLY')).toBe(true);
    expect((await cli('stop', '--cleanup', '--force')).stdout).toContain('deleted the repository variable REDUNDANCY_ACTIVE_NIGHTLY');
    expect(github.variables.has('REDUNDANCY_ACTIVE_NIGHTLY')).toBe(false);
  });

  it('a 5xx storm and a 429 burst are never samples: no failover, the unit shows the API error', async () => {
    const { github, project, env } = await setUp();
    const manager = session.startManager(project, env);
    await waitFor(async () => (await unit(project))?.state === 'primary', { timeoutMs: 20_000, what: 'the workflow watched' });
    github.clearLog();
    github.serverErrorNext(40, 502);
    const erring = await waitFor(async () => {
      const u = await unit(project);
      return u?.twin.reason?.includes('GitHub API') ? u : undefined;
    }, { timeoutMs: 30_000, what: 'the API error shown' });
    expect(erring.state).toBe('primary');
    github.clearFaults();
    github.rateLimitNext(20, { status: 429, retryAfter: 30 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    github.clearFaults();
    const after = await waitFor(async () => {
      const u = await unit(project);
      return u && !u.twin.reason ? u : undefined;
    }, { timeoutMs: 30_000, what: 'the API answering again' });
    expect(after).toMatchObject({ state: 'primary', failovers: 0 });
    expect(github.writes).toEqual([]);
    manager.kill('SIGTERM');
    await manager;
  });

  it('with no token the workflows are inventoried, twinned and not watched, and the manager starts', async () => {
    const { project, env } = await setUp({ token: false });
    const twins = await project.cli('--json', 'twins');
    expect(JSON.parse(twins.stdout)).toEqual([expect.objectContaining({ unitId: 'github:nightly.yml', kind: 'github', twin: expect.objectContaining({ name: 'nightly-backup.yml' }) })]);
    const manager = session.startManager(project, env);
    const u = await waitFor(async () => unit(project), { timeoutMs: 20_000, what: 'the manager up' });
    expect(u.primary.status).toBe('unwatched');
    expect(u.twin.reason).toBe('unwatched: no token');
    expect((await project.cli('status')).stdout).toContain('github: not watched (no token)');
    manager.kill('SIGTERM');
    await manager;
  });

  it('no failover while the twin is not in the repository; status says to commit it', async () => {
    const { github, project, env } = await setUp({ twinCommitted: false });
    const manager = session.startManager(project, env);
    await waitFor(async () => (await unit(project))?.state === 'primary', { timeoutMs: 20_000, what: 'the workflow watched' });
    github.clearLog();
    failRuns(github, 3);
    const u = await waitFor(async () => {
      const found = await unit(project);
      return found?.twin.reason?.includes('commit .github/workflows/nightly-backup.yml') ? found : undefined;
    }, { timeoutMs: 20_000, what: 'the reason shown' });
    expect(u.twin.status).toBe('not in repository');
    expect(github.writes).toEqual([]);
    expect(github.workflow('nightly.yml')?.state).toBe('active');
    manager.kill('SIGTERM');
    await manager;
  });
});
