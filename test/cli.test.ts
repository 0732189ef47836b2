import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../src/core/report-types.js';
import { pm2List } from './helpers/pm2-cli.js';
import { isolatedPm2 } from './helpers/pm2-home.js';
import { ecosystem, fixtures, makeProject, type TestProject } from './helpers/project.js';

let pm2: Awaited<ReturnType<typeof isolatedPm2>>;
let project: TestProject;

beforeAll(async () => {
  pm2 = await isolatedPm2();
  project = await makeProject(pm2.env, {
    'ecosystem.config.cjs': ecosystem([
      { name: 'api', script: join(fixtures, 'worker.cjs'), max_restarts: 10 },
      { name: 'sync', script: join(fixtures, 'worker.cjs'), cron_restart: '0 * * * *' },
    ]),
    'redundancy.config.yaml': 'checkInterval: 300ms\n',
  });
});

afterAll(async () => {
  await pm2.kill();
  await project.remove();
});

describe('the CLI in a project of its own', () => {
  it('inventory lists units with their source file:line and schedule, then the live daemon too', async () => {
    const files = await project.cli('inventory');
    expect(files.exitCode).toBe(0);
    expect(files.stdout).toMatch(/^ID\s+KIND\s+NAME\s+SOURCE\s+SCHEDULE$/m);
    expect(files.stdout).toMatch(/^pm2:api\s+pm2\s+api\s+ecosystem\.config\.cjs:\d+\s+-$/m);
    expect(files.stdout).toMatch(/^pm2:sync\s+pm2\s+sync\s+ecosystem\.config\.cjs:\d+\s+0 \* \* \* \*$/m);
    expect(files.stdout).toContain('PM2 is not running');

    // An app started in PM2 by hand, outside any file.
    const pm2Bin = join(createRequire(import.meta.url).resolve('pm2/package.json'), '..', 'bin/pm2');
    const { execa } = await import('execa');
    await execa('node', [pm2Bin, 'start', join(fixtures, 'worker.cjs'), '--name', 'adhoc'], { env: pm2.env });
    const live = await project.cli('--json', 'inventory');
    const units = JSON.parse(live.stdout) as Array<{ id: string; source: { file: string } }>;
    expect(units.map((u) => u.id)).toEqual(['pm2:api', 'pm2:sync', 'pm2:adhoc']);
    expect(units[2]!.source.file).toBe('pm2');
  });

  it('twins --dry-run shows the plan; --write writes a file PM2 can load', async () => {
    const dry = await project.cli('twins', '--write', '--dry-run');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/^pm2:api\s+api-backup\s+cold\s+15\s+100ms/m);
    expect(dry.stdout).toContain('cron_restart "0 * * * *" dropped');
    const file = join(project.dir, 'automation/redundancy/ecosystem.backup.config.cjs');
    expect(existsSync(file)).toBe(false);

    const wrote = await project.cli('twins', '--write');
    expect(wrote.stdout).toContain('wrote automation/redundancy/ecosystem.backup.config.cjs (3 twins)');
    const apps = (createRequire(import.meta.url)(file) as { apps: Array<Record<string, unknown>> }).apps;
    expect(apps.map((a) => a.name)).toEqual(['api-backup', 'sync-backup', 'adhoc-backup']);
    expect(apps[0]).toMatchObject({ max_restarts: 15, exp_backoff_restart_delay: 100, env: { REDUNDANCY_ROLE: 'backup', REDUNDANCY_PRIMARY: 'api' } });
    expect(apps[1]!.cron_restart).toBeUndefined();
  });

  it('--dry-run changes nothing: start, check, failover, stop', async () => {
    const before = await pm2List(pm2.env);
    for (const args of [['start', '--dry-run'], ['check', '--dry-run'], ['failover', 'pm2:api', '--dry-run'], ['stop', '--cleanup', '--dry-run']]) {
      const result = await project.cli(...args);
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBeLessThan(3);
      expect(result.stdout, args.join(' ')).toMatch(/would /);
    }
    expect(await pm2List(pm2.env)).toEqual(before);
    expect(existsSync(join(project.dir, '.redundancy/state.json'))).toBe(false);
  });

  it('check runs one round without a manager and writes the report; status then says the manager is down', async () => {
    const check = await project.cli('check');
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^pm2:api\s+primary\s+primary\s+healthy/m);
    const report = JSON.parse(await readFile(join(project.dir, 'logs/redundancy-health.json'), 'utf8')) as HealthReport;
    expect(report.summary).toMatchObject({ units: 3, healthy: 3, onTwin: 0, critical: 0 });
    expect((await pm2List(pm2.env)).get('api-backup')).toBe('stopped');

    const status = await project.cli('status');
    expect(status.exitCode).toBe(2);
    expect(status.stdout).toMatch(/^manager: NOT RUNNING/);
    const history = await readFile(join(project.dir, 'logs/health-history.jsonl'), 'utf8');
    expect(history.trim().split('\n').length).toBeGreaterThanOrEqual(1);
  });
});
