import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../src/core/schedule/ledger-event.js';
import type { OrchestrateResult } from '../src/orchestrate/format.js';
import { cliPath, makeProject, type TestProject } from './helpers/project.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * `redundancy orchestrate` against real commands: real process groups, real timeouts, the real
 * ledger and run log. No PM2: a plan of shell jobs and crontab units needs none.
 */
const projects: TestProject[] = [];
const pids: number[] = [];
afterAll(async () => {
  for (const pid of pids) kill(pid, 'SIGKILL');
  await Promise.all(projects.map((p) => p.remove()));
});

async function project(config: string, files: Record<string, string> = {}): Promise<TestProject> {
  const p = await makeProject({ ...process.env }, { 'redundancy.config.yaml': `sources: { pm2: { live: false } }\n${config}`, ...files });
  projects.push(p);
  return p;
}

const json = (stdout: string) => JSON.parse(stdout) as OrchestrateResult;

async function ledger(p: TestProject, unit: string): Promise<LedgerEvent[]> {
  const text = await readFile(join(p.dir, '.redundancy/ledger', `${unit.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LedgerEvent).filter((e) => e.unit === unit);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

/** Gone, or a zombie nobody reaps yet (it runs nothing). */
async function dead(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || /^\d+ \(.*\) Z/.test(stat);
}

/** N jobs named j0..j(N-1) of which the first `failing` exit 3. */
function tenJobs(failing: number): string {
  return Array.from({ length: 10 }, (_, i) => `        - { name: j${i}, run: "${i < failing ? 'exit 3' : 'true'}" }`).join('\n');
}

describe('orchestrate', () => {
  it('exits 0, 1 and 2 for 0, 1 and 6 failing jobs of 10; every job in the ledger and the run in logs/', async () => {
    const stage = (name: string, failing: number) => `    - name: ${name}\n      parallel: true\n      jobs:\n${tenJobs(failing)}`;
    const p = await project(`orchestrate:\n  stages:\n${stage('none', 0)}\n${stage('one', 1)}\n${stage('six', 6)}\n`);

    const results = [];
    for (const name of ['none', 'one', 'six']) {
      const r = await p.cli('orchestrate', '--stage', name, '--yes', '--json');
      results.push({ exitCode: r.exitCode, result: json(r.stdout) });
    }
    expect(results.map((r) => r.exitCode)).toEqual([0, 1, 2]);
    expect(results.map((r) => [r.result.total, r.result.successful, r.result.failed, r.result.failureRatePercent, r.result.exitCode])).toEqual([
      [10, 10, 0, 0, 0],
      [10, 9, 1, 10, 1],
      [10, 4, 6, 60, 2],
    ]);
    const six = results[2]!.result;
    expect(Object.keys(six)).toEqual(['total', 'successful', 'failed', 'timedOut', 'skipped', 'interrupted', 'failureRatePercent', 'exitCode', 'preflight', 'stages']);
    expect(six.stages).toHaveLength(1);
    expect(six.stages[0]!.status).toBe('failed');
    expect(six.stages[0]!.jobs[0]).toEqual({ name: 'j0', status: 'failed', exitCode: 3, durationMs: expect.any(Number) as number, reason: 'exit 3' });
    expect(Object.keys(six.stages[0]!.jobs[9]!)).toEqual(['name', 'status', 'exitCode', 'durationMs', 'reason']);

    const events = await ledger(p, 'orchestrate:one/j0');
    expect(events.map((e) => [e.event, e.exitCode])).toEqual([['start', null], ['end', 3]]);
    expect(events[1]!.run).toBe(events[0]!.run);
    const logs = (await readdir(join(p.dir, 'logs'))).filter((f) => /^orchestrate-\d{8}T\d{6}Z(-\d+)?\.json$/.test(f));
    expect(logs).toHaveLength(3);
    const logged = await Promise.all(logs.map(async (f) => JSON.parse(await readFile(join(p.dir, 'logs', f), 'utf8')) as OrchestrateResult & { startedAt: string }));
    expect(logged.map((l) => l.exitCode).sort()).toEqual([0, 1, 2]);
    expect(logged[0]!.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('never runs more jobs at once than the stage concurrency (jobs record their start and end)', async () => {
    const job = (i: number) => `        - { name: j${i}, run: "echo start >> events.log; sleep 0.4; echo end >> events.log" }`;
    const p = await project(`orchestrate:\n  stages:\n    - name: limited\n      parallel: true\n      concurrency: 3\n      jobs:\n${Array.from({ length: 9 }, (_, i) => job(i)).join('\n')}\n`);
    const r = await p.cli('orchestrate', '--yes');
    expect(r.exitCode).toBe(0);
    // Appends land in order (O_APPEND), so the file's order is the events' order.
    const lines = (await readFile(join(p.dir, 'events.log'), 'utf8')).trim().split('\n');
    let running = 0;
    let peak = 0;
    for (const line of lines) {
      running += line === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(lines).toHaveLength(18);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThanOrEqual(2);
    // Progress: one plain line per job start and end (no terminal here).
    expect(r.stdout.split('\n').filter((l) => / start limited\/j\d$/.test(l))).toHaveLength(9);
    expect(r.stdout.split('\n').filter((l) => / ok limited\/j\d /.test(l))).toHaveLength(9);
  });

  it('stops a job at its timeout with its whole process group: the grandchild dies too', async () => {
    const p = await project([
      'orchestrate:',
      '  stages:',
      '    - name: slow',
      '      timeout: 1s',
      '      jobs:',
      // The grandchild is a background job of the job's shell: only a group kill reaches it.
      '        - { name: hang, run: "sleep 120 & echo $! > grandchild.pid; wait" }',
      '',
    ].join('\n'));
    const r = await p.cli('orchestrate', '--yes', '--json');
    const grandchild = Number(await readFile(join(p.dir, 'grandchild.pid'), 'utf8'));
    pids.push(grandchild);
    expect(r.exitCode).toBe(2);
    expect(json(r.stdout)).toMatchObject({ total: 1, timedOut: 1, failureRatePercent: 100, stages: [{ status: 'failed', jobs: [{ status: 'timedOut', reason: 'timed out after 1s: its process group was stopped' }] }] });
    await waitFor(() => dead(grandchild), { timeoutMs: 10_000, what: `grandchild ${grandchild} gone` });
    const events = await ledger(p, 'orchestrate:slow/hang');
    expect(events.map((e) => e.event)).toEqual(['start', 'end']);
    expect(events[1]!.reason).toMatch(/^timed out after 1000ms/);
  });

  it('stops everything before it starts when preflight minFree is larger than the disk: exit 2, nothing run', async () => {
    const p = await project([
      'orchestrate:',
      '  preflight:',
      '    - { path: ., minFree: 100000GB }',
      '  stages:',
      '    - name: s',
      '      jobs:',
      '        - { name: touch, run: "touch ran" }',
      '',
    ].join('\n'));
    const r = await p.cli('orchestrate', '--yes');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/preflight FAILED path \.: .* free, needs 100 TB/);
    expect(r.stdout).toContain('preflight failed, nothing was run');
    expect(existsSync(join(p.dir, 'ran'))).toBe(false);
    expect(existsSync(join(p.dir, '.redundancy/ledger'))).toBe(false);
    const logs = (await readdir(join(p.dir, 'logs'))).filter((f) => f.startsWith('orchestrate-'));
    const logged = JSON.parse(await readFile(join(p.dir, 'logs', logs[0]!), 'utf8')) as OrchestrateResult;
    expect(logged).toMatchObject({ exitCode: 2, preflight: [{ check: 'path', ok: false }], stages: [{ status: 'notRun', jobs: [{ status: 'notRun', reason: 'preflight failed' }] }] });
  });

  it('--dry-run prints the plan and the preflight results and runs nothing; without a terminal, no --yes is exit 64', async () => {
    const server = createServer((req, res) => res.writeHead(req.url === '/ok' ? 204 : 503).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const p = await project([
      'orchestrate:',
      '  preflight:',
      '    - { path: ., minFree: 1KB }',
      '    - { command: "touch preflight-ran" }',
      `    - { http: "http://127.0.0.1:${port}/ok" }`,
      '  stages:',
      '    - name: s',
      '      parallel: true',
      '      concurrency: 2',
      '      jobs:',
      '        - { name: touch, run: "touch ran" }',
      '',
    ].join('\n'));
    const dry = await p.cli('orchestrate', '--dry-run');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('stage s: 1 job(s), parallel, all at once, timeout 1h, on failure continue');
    expect(dry.stdout).toContain('touch: run: touch ran');
    expect(dry.stdout).toMatch(/preflight ok {5}path \.: .* free, needs 1 kB/);
    expect(dry.stdout).toContain(`preflight ok     http http://127.0.0.1:${port}/ok: HTTP 204`);
    expect(dry.stdout).toContain('dry run: would run 1 job(s) in 1 stage(s); nothing was run');
    const asJson = json((await p.cli('orchestrate', '--dry-run', '--json')).stdout);
    expect(asJson).toMatchObject({ total: 1, exitCode: 0, stages: [{ name: 's', status: 'planned', jobs: [{ name: 'touch', status: 'planned', exitCode: null }] }] });
    expect(existsSync(join(p.dir, 'ran'))).toBe(false);
    expect(existsSync(join(p.dir, '.redundancy/ledger'))).toBe(false);
    expect(existsSync(join(p.dir, 'logs'))).toBe(false);

    const refused = await p.cli('orchestrate');
    expect(refused.exitCode).toBe(64);
    await p.write('redundancy.config.yaml', (await readFile(join(p.dir, 'redundancy.config.yaml'), 'utf8')).replace('/ok', '/down'));
    const down = await p.cli('orchestrate', '--dry-run', '--json');
    server.close();
    expect(down.exitCode).toBe(2);
    expect(json(down.stdout).preflight[2]).toEqual({ check: 'http', target: `http://127.0.0.1:${port}/down`, ok: false, reason: 'HTTP 503' });
    expect(refused.stderr).toBe('redundancy: orchestrate: no terminal to confirm the plan on: add --yes to run it (or --dry-run to see it)');
    expect(existsSync(join(p.dir, 'ran'))).toBe(false);
  });

  it('skips a job whose unit already has a run in progress, and does not start it twice', async () => {
    const p = await project([
      'orchestrate:',
      '  stages:',
      '    - name: backups',
      '      parallel: true',
      '      discover: "cron:backup-*"',
      '      jobs:',
      '        - { name: other, run: "true" }',
      '',
    ].join('\n'), {
      'automation/crontab': '# redundancy: name=backup-db\n0 3 * * * sh job.sh\n# redundancy: name=backup-files\n0 4 * * * echo files >> files.log\n',
      'job.sh': 'echo ran >> runs.log\nwhile [ ! -f release ]; do sleep 0.05; done\n',
    });
    // A run by cron, through the ledger wrapper, still under way.
    const first = execa('node', [cliPath, '--cwd', p.dir, 'run', 'cron:backup-db'], { env: p.env, reject: false });
    pids.push(first.pid!);
    const start = await waitFor(async () => (await ledger(p, 'cron:backup-db')).find((e) => e.event === 'start'), { timeoutMs: 20_000, what: 'the first run started' });
    expect(start.host).toBe(hostname());

    const r = await p.cli('orchestrate', '--yes', '--json');
    const result = json(r.stdout);
    expect(r.exitCode).toBe(0);
    expect(result).toMatchObject({ total: 3, successful: 2, skipped: 1, failed: 0, failureRatePercent: 0 });
    const skipped = result.stages[0]!.jobs.find((j) => j.name === 'cron:backup-db')!;
    expect(skipped.status).toBe('skipped');
    expect(skipped.reason).toMatch(new RegExp(`^already running \\(pid ${start.pid} since `));
    expect(result.stages[0]!.jobs.find((j) => j.name === 'cron:backup-files')!.status).toBe('successful');
    await p.write('release', '');
    expect((await first).exitCode).toBe(0);
    expect(await readFile(join(p.dir, 'runs.log'), 'utf8')).toBe('ran\n');
    expect((await ledger(p, 'cron:backup-db')).map((e) => e.event)).toEqual(['start', 'skipped', 'end']);
    expect(await readFile(join(p.dir, 'files.log'), 'utf8')).toBe('files\n');
  });

  it("runs a unit job as the twin's run while the unit is on its twin", async () => {
    const p = await project([
      'orchestrate:',
      '  stages:',
      '    - name: s',
      '      jobs:',
      '        - { unit: cron:report }',
      '',
    ].join('\n'), {
      'automation/crontab': '# redundancy: name=report\n30 2 * * * echo "$REDUNDANCY_ROLE" > role.txt\n',
      '.redundancy/state.json': `${JSON.stringify({ version: 2, savedAt: new Date().toISOString(), units: { 'cron:report': { state: { kind: 'backup' } } } })}\n`,
    });
    const r = await p.cli('orchestrate', '--yes');
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(p.dir, 'role.txt'), 'utf8')).toBe('backup\n');
    expect((await ledger(p, 'cron:report')).map((e) => [e.side, e.event])).toEqual([['twin', 'start'], ['twin', 'end']]);
  });

  it('stops the running jobs on SIGINT (their process groups), records them interrupted, exits 2', async () => {
    const p = await project([
      'orchestrate:',
      '  stages:',
      '    - name: s',
      '      parallel: true',
      '      jobs:',
      '        - { name: hang, run: "sleep 120 & echo $! > grandchild.pid; wait" }',
      '        - { name: quick, run: "true" }',
      '    - name: later',
      '      jobs:',
      '        - { name: never, run: "touch never" }',
      '',
    ].join('\n'));
    const child = execa('node', [cliPath, '--cwd', p.dir, 'orchestrate', '--yes', '--json'], { env: p.env, reject: false });
    pids.push(child.pid!);
    const grandchild = Number(await waitFor(async () => (await readFile(join(p.dir, 'grandchild.pid'), 'utf8').catch(() => '')).trim() || undefined, { timeoutMs: 20_000, what: 'the job started' }));
    pids.push(grandchild);
    await waitFor(async () => (await ledger(p, 'orchestrate:s/quick')).some((e) => e.event === 'end'), { timeoutMs: 20_000, what: 'the quick job ended' });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(2);
    const result = json(String(r.stdout));
    expect(result).toMatchObject({ interrupted: 1, successful: 1, exitCode: 2 });
    expect(result.stages.map((s) => s.status)).toEqual(['interrupted', 'notRun']);
    expect(result.stages[0]!.jobs[0]).toMatchObject({ name: 'hang', status: 'interrupted' });
    await waitFor(() => dead(grandchild), { timeoutMs: 10_000, what: 'the grandchild gone' });
    expect((await ledger(p, 'orchestrate:s/hang')).map((e) => e.event)).toEqual(['start', 'interrupted']);
    expect(existsSync(join(p.dir, 'never'))).toBe(false);
  });

  it('refuses an unknown unit reference (78) and a mirror without rsync names the package (2), running nothing', async () => {
    const p = await project([
      'orchestrate:',
      '  stages:',
      '    - name: s',
      '      jobs:',
      '        - { name: touch, run: "touch ran" }',
      '        - { unit: cron:nope }',
      '',
    ].join('\n'));
    const r = await p.cli('orchestrate', '--yes');
    expect(r.exitCode).toBe(78);
    expect(r.stderr).toBe('redundancy: redundancy.config.yaml: orchestrate.stages[0].jobs[1].unit: expected a cron: or script: unit of `redundancy inventory` (no such unit), got "cron:nope"');

    const m = await project('orchestrate:\n  stages:\n    - name: m\n      jobs:\n        - { name: data, mirror: { from: data, to: mirror } }\n', { 'data/a': 'a' });
    const noRsync = await execa(process.execPath, [cliPath, '--cwd', m.dir, 'orchestrate', '--yes'], { env: { ...m.env, PATH: '/nonexistent' }, reject: false });
    expect(noRsync.exitCode).toBe(2);
    expect(String(noRsync.stderr)).toContain('rsync not found on PATH: install the rsync package (Debian/Ubuntu: apt-get install rsync)');
    expect(existsSync(join(m.dir, 'mirror'))).toBe(false);
    expect(existsSync(join(p.dir, 'ran'))).toBe(false);
  });

  it('--verbose streams the jobs\' output with their names', async () => {
    const p = await project('orchestrate:\n  stages:\n    - name: s\n      jobs:\n        - { name: talk, run: "echo hello; echo oops >&2; exit 4" }\n');
    const r = await p.cli('--verbose', 'orchestrate', '--yes');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain('[s/talk] hello');
    expect(r.stderr).toContain('[s/talk] oops');
    expect((await ledger(p, 'orchestrate:s/talk')).at(-1)).toMatchObject({ event: 'end', exitCode: 4 });
  });
});
