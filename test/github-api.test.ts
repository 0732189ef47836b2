import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubApi, GitHubApiError, type GitHubApiOptions } from '../src/kinds/github/github-api.js';
import { startFakeGitHub, type FakeGitHub } from './helpers/fake-github.js';

// The real adapter and real Octokit (throttling and retry plugins) against a 127.0.0.1 fake.
const TOKEN = `ghp_${randomBytes(18).toString('hex')}`;
const WRONG_TOKEN = `ghp_${randomBytes(18).toString('hex')}`;

let fake: FakeGitHub;
let logLines: string[];

function make(overrides: Partial<GitHubApiOptions> = {}) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  return createGitHubApi({
    repo: `${fake.owner}/${fake.repo}`, token: TOKEN, baseUrl: fake.url, logger: pino({ level: 'trace' }, stream),
    serverRetryBaseMs: 20, timeoutMs: 2000, ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<GitHubApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(GitHubApiError);
  return error as GitHubApiError;
}

const statuses = () => fake.requests.map((r) => r.status);
const repoPath = '/repos/acme/app';

beforeEach(async () => {
  fake = await startFakeGitHub({ token: TOKEN });
  logLines = [];
  fake.setWorkflows([{ path: '.github/workflows/nightly.yml' }, { path: '.github/workflows/nightly-backup.yml', state: 'disabled_manually' }]);
});

afterEach(async () => {
  await fake.close();
  // Whatever a test did, neither token reached the log.
  const log = logLines.join('');
  expect(log).not.toContain(TOKEN);
  expect(log).not.toContain(WRONG_TOKEN);
});

describe('reads', () => {
  it('lists the repo runs, then answers a 304 on the same ETag from cache without spending the budget', async () => {
    const api = make();
    const older = fake.addRun('nightly.yml', { conclusion: 'failure' });
    const newer = fake.addRun('nightly-backup.yml', { event: 'workflow_dispatch', status: 'in_progress', conclusion: null });
    const first = await api.listRepoRuns();
    expect(first.notModified).toBe(false);
    expect(first.runs.map((r) => r.id)).toEqual([newer.id, older.id]);
    expect(first.runs[1]).toEqual({
      id: older.id, workflowId: fake.workflow('nightly.yml')!.id, path: '.github/workflows/nightly.yml', event: 'schedule', status: 'completed',
      conclusion: 'failure', createdAt: older.createdAt, updatedAt: older.updatedAt, runNumber: 1, headBranch: 'main',
    });
    expect(api.budget()).toEqual({ limit: 5000, remaining: 4999, resetAt: expect.any(Number) as number, requests: 1, notModified: 0, errors: 0 });

    const second = await api.listRepoRuns();
    expect(second).toEqual({ notModified: true, runs: first.runs });
    expect(fake.requests[1]!.headers['if-none-match']).toMatch(/^W\/"/);
    expect(statuses()).toEqual([200, 304]);
    expect(api.budget()).toMatchObject({ remaining: 4999, requests: 2, notModified: 1, errors: 0 });

    fake.addRun('nightly.yml');
    const third = await api.listRepoRuns();
    expect(third.notModified).toBe(false);
    expect(third.runs).toHaveLength(3);
    expect(api.budget()).toMatchObject({ remaining: 4998, notModified: 1 });
  });

  it("follows a workflow's Link pages (absolute URLs) and stops at `since`", async () => {
    const api = make();
    const start = Date.now() - 250 * 60_000;
    const added = Array.from({ length: 250 }, (_, i) => fake.addRun('nightly.yml', { createdAt: start + i * 60_000 }));
    const all = await api.listWorkflowRuns('nightly.yml', 0);
    expect(all.map((r) => r.id)).toEqual(added.map((r) => r.id).reverse());
    const runsPath = `${repoPath}/actions/workflows/nightly.yml/runs?per_page=100`;
    expect(fake.requests.map((r) => r.path)).toEqual([runsPath, `${runsPath}&page=2`, `${runsPath}&page=3`]);

    fake.clearLog();
    const recent = await api.listWorkflowRuns('nightly.yml', added[120]!.createdAt);
    expect(recent).toHaveLength(130);
    expect(recent.at(-1)!.id).toBe(added[120]!.id);
    expect(fake.requests).toHaveLength(2);
  });

  it('lists every workflow page, each page conditional on its own ETag', async () => {
    const api = make();
    fake.setWorkflows(Array.from({ length: 120 }, (_, i) => ({ path: `.github/workflows/w${i}.yml` })));
    const first = await api.listWorkflows();
    expect(first).toHaveLength(120);
    expect(first[0]).toEqual({ id: fake.workflow('w0.yml')!.id, path: '.github/workflows/w0.yml', state: 'active' });

    expect(await api.listWorkflows()).toEqual(first);
    expect(statuses()).toEqual([200, 200, 304, 304]);

    fake.workflow('w110.yml')!.state = 'disabled_inactivity';
    const third = await api.listWorkflows();
    expect(third.find((w) => w.path.endsWith('/w110.yml'))!.state).toBe('disabled_inactivity');
    expect(statuses().slice(4)).toEqual([304, 200]);
    expect(api.budget()).toMatchObject({ notModified: 3, requests: 6 });
  });

  it('getWorkflow gives undefined on 404; the default branch is read once', async () => {
    const api = make();
    expect(await api.getWorkflow('missing-backup.yml')).toBeUndefined();
    expect(await api.getWorkflow('nightly-backup.yml')).toEqual({
      id: fake.workflow('nightly-backup.yml')!.id, path: '.github/workflows/nightly-backup.yml', state: 'disabled_manually',
    });
    fake.defaultBranch = 'trunk';
    expect(await api.defaultBranch()).toBe('trunk');
    expect(await api.defaultBranch()).toBe('trunk');
    expect(fake.requests.filter((r) => r.path === repoPath)).toHaveLength(1);
  });
});

describe('writes', () => {
  it('sets a variable (created, then updated), reads and deletes it', async () => {
    const api = make();
    const name = 'REDUNDANCY_ACTIVE_NIGHTLY';
    expect(await api.setVariable(name, 'twin')).toBe('created');
    expect(await api.setVariable(name, 'primary')).toBe('updated');
    expect(await api.getVariable(name)).toBe('primary');
    expect(fake.variables.get(name)).toBe('primary');
    expect(await api.deleteVariable(name)).toBe(true);
    expect(await api.deleteVariable(name)).toBe(false);
    expect(await api.getVariable(name)).toBeUndefined();
    const path = `${repoPath}/actions/variables`;
    expect(fake.writes.map((w) => [w.method, w.path, w.body, w.status])).toEqual([
      ['PATCH', `${path}/${name}`, { value: 'twin' }, 404],
      ['POST', path, { name, value: 'twin' }, 201],
      ['PATCH', `${path}/${name}`, { value: 'primary' }, 204],
      ['DELETE', `${path}/${name}`, undefined, 204],
      ['DELETE', `${path}/${name}`, undefined, 404],
    ]);
  });

  it('disables, enables and dispatches by file name with the documented bodies', async () => {
    const api = make();
    await api.disableWorkflow('nightly.yml');
    await api.enableWorkflow('nightly-backup.yml');
    await api.dispatch('nightly-backup.yml', 'main', { reason: 'failover' });
    await api.dispatch('nightly-backup.yml', 'main');
    const wf = `${repoPath}/actions/workflows`;
    expect(fake.writes.map((w) => [w.method, w.path, w.body, w.status])).toEqual([
      ['PUT', `${wf}/nightly.yml/disable`, undefined, 204],
      ['PUT', `${wf}/nightly-backup.yml/enable`, undefined, 204],
      ['POST', `${wf}/nightly-backup.yml/dispatches`, { ref: 'main', inputs: { reason: 'failover' } }, 204],
      ['POST', `${wf}/nightly-backup.yml/dispatches`, { ref: 'main' }, 204],
    ]);
    expect((await api.getWorkflow('nightly.yml'))!.state).toBe('disabled_manually');
    expect(fake.runs().map((r) => [r.event, r.status])).toEqual([['workflow_dispatch', 'queued'], ['workflow_dispatch', 'queued']]);
  });
});

describe('faults', () => {
  it('a secondary rate limit with a short retry-after is retried once, after the wait', async () => {
    const api = make();
    fake.rateLimitNext(1, { status: 429, retryAfter: 1 });
    const started = performance.now();
    expect((await api.listRepoRuns()).notModified).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(statuses()).toEqual([429, 200]);
  });

  it('a second rate limit after the retry, a long retry-after, or a spent primary limit fail as rate-limit without spinning', async () => {
    const api = make();
    fake.rateLimitNext(2, { status: 403, retryAfter: 1 });
    const twice = await failure(api.listRepoRuns());
    expect(twice).toMatchObject({ kind: 'rate-limit', status: 403, retryAfterMs: 1000 });
    expect(twice.message).toMatch(/secondary rate limit/);
    expect(statuses()).toEqual([403, 403]);

    fake.clearLog();
    fake.rateLimitNext(5, { status: 429, retryAfter: 3600 });
    let started = performance.now();
    expect(await failure(api.getVariable('X'))).toMatchObject({ kind: 'rate-limit', status: 429, retryAfterMs: 3_600_000 });
    expect(performance.now() - started).toBeLessThan(500);
    expect(fake.requests).toHaveLength(1);

    fake.clearFaults();
    fake.clearLog();
    fake.primaryLimitNext(3);
    started = performance.now();
    const primary = await failure(api.getWorkflow('nightly.yml'));
    expect(primary).toMatchObject({ kind: 'rate-limit', status: 403 });
    expect(primary.retryAfterMs).toBeGreaterThan(3_000_000);
    expect(performance.now() - started).toBeLessThan(500);
    expect(fake.requests).toHaveLength(1);
  });

  it('a 5xx is retried; a storm ends as a server error after two retries', async () => {
    const api = make();
    fake.serverErrorNext(1, 503);
    await api.listRepoRuns();
    expect(statuses()).toEqual([503, 200]);

    fake.clearLog();
    fake.serverErrorNext(10, 502);
    const storm = await failure(api.listRepoRuns());
    expect(storm).toMatchObject({ kind: 'server', status: 502 });
    expect(statuses()).toEqual([502, 502, 502]);
    expect(api.budget()).toMatchObject({ requests: 5, errors: 4 });

    // The storm's retry count stays with its call: the next blip waits the first backoff (1x), not 16x.
    const blipApi = make({ serverRetryBaseMs: 50 });
    fake.clearFaults();
    fake.serverErrorNext(3);
    await failure(blipApi.getVariable('X'));
    fake.serverErrorNext(1);
    const started = performance.now();
    await blipApi.listRepoRuns();
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('a slow answer times out as network and is not retried; a closed port is network too', async () => {
    const api = make({ timeoutMs: 200 });
    fake.delayNext(1, 5000);
    const started = performance.now();
    const slow = await failure(api.listRepoRuns());
    expect(slow).toMatchObject({ kind: 'network', status: null });
    expect(slow.message).toContain('no answer within 200 ms');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(fake.requests).toHaveLength(1);
    // Not retrying that call leaves the others' retries alone.
    fake.serverErrorNext(1);
    expect((await api.listRepoRuns()).notModified).toBe(false);
    expect(statuses()).toEqual([0, 502, 200]);

    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const offline = make({ baseUrl: `http://127.0.0.1:${port}` });
    expect(await failure(offline.listRepoRuns())).toMatchObject({ kind: 'network', status: null });
    expect(offline.budget()).toMatchObject({ requests: 3, errors: 3 });
  });

  it('a bad token is an auth error naming the permission the call needs, never retried', async () => {
    const api = make({ token: WRONG_TOKEN });
    const read = await failure(api.listRepoRuns());
    expect(read).toMatchObject({ kind: 'auth', status: 401, permission: 'Actions: read' });
    expect(read.message).toContain('"Actions: read"');
    expect(await failure(api.setVariable('X', 'y'))).toMatchObject({ kind: 'auth', permission: 'Variables: read and write' });
    expect(await failure(api.dispatch('nightly-backup.yml', 'main'))).toMatchObject({ kind: 'auth', permission: 'Actions: read and write' });
    expect(statuses()).toEqual([401, 401, 401]);

    fake.failNext(1, { status: 403, message: 'Resource not accessible by personal access token' });
    expect(await failure(make().disableWorkflow('nightly.yml'))).toMatchObject({ kind: 'auth', status: 403, permission: 'Actions: read and write' });
  });

  it('logs requests and errors at trace without either token', async () => {
    const logger = pino({ level: 'trace' }, new Writable({ write(chunk: Buffer, _e, done) { logLines.push(chunk.toString('utf8')); done(); } }));
    const api = make({ logger });
    const bad = make({ token: WRONG_TOKEN, logger });
    fake.addRun('nightly.yml');
    await api.listRepoRuns();
    await api.listRepoRuns();
    fake.rateLimitNext(1, { retryAfter: 1 });
    await api.getWorkflow('nightly.yml');
    for (const error of [await failure(bad.listRepoRuns()), await failure(bad.setVariable('X', 'y'))]) logger.error({ err: error }, 'call failed');
    const log = logLines.join('');
    expect(log).toContain(`GET ${repoPath}/actions/runs?per_page=100 - 304`);
    expect(log).toContain('secondary rate limit');
    expect(log).toContain('Bad credentials');
    // afterEach checks that neither token is in `log`.
  });
});
