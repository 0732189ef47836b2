import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { HealthReport, UnitReport } from '../../src/core/report-types.js';
import { isolatedPm2, type IsolatedPm2 } from './pm2-home.js';
import { ecosystem, fixtures, freePort, makeProject, type TestProject } from './project.js';
import { waitFor } from './wait-for.js';

type Manager = ReturnType<TestProject['spawnManager']>;

/** One isolated PM2 daemon per test file, and the projects and managers its tests make: all gone in afterAll. */
export function pm2Session() {
  let pm2: IsolatedPm2 | undefined;
  const projects: TestProject[] = [];
  const managers: Manager[] = [];
  beforeAll(async () => {
    pm2 = await isolatedPm2();
  });
  afterAll(async () => {
    for (const m of managers) m.kill('SIGKILL');
    await pm2?.kill();
    await Promise.all(projects.map((p) => p.remove()));
  });
  const session = {
    get pm2(): IsolatedPm2 {
      if (!pm2) throw new Error('pm2Session used outside a test');
      return pm2;
    },
    async project(files: Record<string, string> = {}): Promise<TestProject> {
      const project = await makeProject(session.pm2.env, files);
      projects.push(project);
      return project;
    },
    startManager(project: TestProject, env: NodeJS.ProcessEnv = {}): Manager {
      const child = project.spawnManager(env);
      managers.push(child);
      return child;
    },
  };
  return session;
}

export interface AppProjectOptions {
  name: string;
  /** A fixture in test/fixtures. @default service.cjs */
  script?: string;
  args?: string[];
  env?: Record<string, string>;
  policy?: Record<string, string | number>;
  /** Extra top-level config lines, e.g. `twin: { mode: warm }`. */
  config?: string[];
}

/**
 * A user's project with one HTTP app probed over HTTP, fast rounds and the live daemon left out.
 * The fixture's flag files live in the project: `fail` (500s), `die` (exit at boot), `boots.log`.
 */
export async function appProject(session: ReturnType<typeof pm2Session>, opts: AppProjectOptions): Promise<TestProject & { port: number }> {
  const port = await freePort();
  const project = await session.project();
  const env = {
    PORT: String(port),
    FAIL_FILE: join(project.dir, 'fail'),
    DIE_AT_BOOT_FILE: join(project.dir, 'die'),
    BOOT_LOG: join(project.dir, 'boots.log'),
    ...opts.env,
  };
  const app = { name: opts.name, script: join(fixtures, opts.script ?? 'service.cjs'), env, max_restarts: 5, min_uptime: 1000, ...(opts.args && { args: opts.args }) };
  await project.write('ecosystem.config.cjs', ecosystem([app]));
  const policy = { window: 5, minSamples: 3, failbackAfter: 2, holdDown: '1s', ...opts.policy };
  await project.write(
    'redundancy.config.yaml',
    [
      'checkInterval: 250ms',
      ...(opts.config ?? []),
      'policy:',
      ...Object.entries(policy).map(([k, v]) => `  ${k}: ${v}`),
      'sources: { pm2: { live: false } }',
      // Managers of tests run side by side: none takes the default listener port unless the test asks.
      ...(opts.config?.some((line) => line.startsWith('http:')) ? [] : ['http: false']),
      'units:',
      `  pm2:${opts.name}:`,
      `    probe: { http: "http://127.0.0.1:${port}/health", timeout: 1s }`,
      '',
    ].join('\n'),
  );
  return Object.assign(project, { port });
}

export async function status(project: TestProject): Promise<{ code: number; report: HealthReport }> {
  const result = await project.cli('status', '--json');
  return { code: result.exitCode, report: JSON.parse(result.stdout) as HealthReport };
}

/** Polls `status --json` until the project's first unit satisfies `ok`. */
export function waitForUnit(project: TestProject, what: string, ok: (u: UnitReport) => boolean, timeoutMs = 30_000): Promise<UnitReport> {
  return waitFor(
    async () => {
      const unit = (await status(project)).report.units?.[0];
      return unit && ok(unit) ? unit : undefined;
    },
    { timeoutMs, intervalMs: 100, what },
  );
}
