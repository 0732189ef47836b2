import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedPm2 } from './helpers/pm2-home.js';
import { ecosystem, fixtures, makeProject, type TestProject } from './helpers/project.js';

let pm2: Awaited<ReturnType<typeof isolatedPm2>>;
const projects: TestProject[] = [];

beforeAll(async () => {
  pm2 = await isolatedPm2();
});

afterAll(async () => {
  await pm2.kill();
  await Promise.all(projects.map((p) => p.remove()));
});

async function project(files: Record<string, string>): Promise<TestProject> {
  const p = await makeProject(pm2.env, {
    'ecosystem.config.cjs': ecosystem([{ name: 'api', script: join(fixtures, 'service.cjs') }]),
    ...files,
  });
  projects.push(p);
  return p;
}

/** Nothing may start on bad input: no PM2 daemon in this PM2_HOME, no state written. */
function expectNothingStarted(p: TestProject): void {
  expect(existsSync(join(pm2.home, 'pm2.pid'))).toBe(false);
  expect(existsSync(join(p.dir, '.redundancy/state.json'))).toBe(false);
}

describe('bad input', () => {
  it('a wrong config value: one line naming file, key, value and expectation; exit 78', async () => {
    const p = await project({ 'redundancy.config.yaml': 'policy:\n  window: ten\n' });
    const result = await p.cli('start');
    expect(result.exitCode).toBe(78);
    expect(result.stderr).toBe('redundancy: redundancy.config.yaml: policy.window: expected an integer >= 1, got "ten"');
    expect(result.stdout).toBe('');
    expectNothingStarted(p);
  });

  it('broken YAML: file:line:col; exit 78', async () => {
    const p = await project({ 'redundancy.config.yaml': 'policy:\n  window: [1, 2\n' });
    const result = await p.cli('start');
    expect(result.exitCode).toBe(78);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(new RegExp(`^redundancy: redundancy.config.yaml:\\d+:\\d+: invalid YAML: `));
    expectNothingStarted(p);
  });

  it('an ecosystem file that throws: exit 78, the file named, no stack', async () => {
    const p = await project({ 'ecosystem.config.cjs': "throw new Error('no database url');\n" });
    const result = await p.cli('start');
    expect(result.exitCode).toBe(78);
    expect(result.stderr).toBe(`redundancy: ${join(p.dir, 'ecosystem.config.cjs')}: failed to load: no database url`);
    expectNothingStarted(p);
  });

  it('an invalid app field names the app index and field', async () => {
    const p = await project({ 'ecosystem.config.cjs': ecosystem([{ name: 'api', script: 'x.js', max_restarts: 'lots' }]) });
    const result = await p.cli('inventory');
    expect(result.exitCode).toBe(78);
    expect(result.stderr).toContain('apps[0].max_restarts');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an unknown command or option: exit 64, one line', async () => {
    const p = await project({});
    for (const args of [['frobnicate'], ['status', '--bogus'], ['failover']]) {
      const result = await p.cli(...args);
      expect(result.exitCode, args.join(' ')).toBe(64);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr).toMatch(/^redundancy: /);
    }
    expectNothingStarted(p);
  });

  it('an unknown unit is a usage error', async () => {
    const p = await project({});
    const result = await p.cli('failover', 'pm2:nope', '--dry-run');
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toBe('redundancy: unknown unit pm2:nope; see `redundancy inventory`');
  });

  it('--verbose adds the stack', async () => {
    const p = await project({ 'redundancy.config.yaml': 'checkInterval: soon\n' });
    const result = await p.cli('--verbose', 'inventory');
    expect(result.exitCode).toBe(78);
    expect(result.stderr.split('\n').length).toBeGreaterThan(2);
    expect(result.stderr).toContain('at ');
  });
});
