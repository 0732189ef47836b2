import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { startFakeGitHub, type FakeGitHub } from './helpers/fake-github.js';
import { startFakeNetlify } from './helpers/fake-netlify.js';
import type { UnitReport } from '../src/core/report-types.js';
import { freePorts, type TestProject } from './helpers/project.js';
import { appProject, pm2Session, status } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * One suite, every kind: each goes through failover, failback and a manager SIGKILLed between a
 * durable decision and its effect. A kind plugs in with a harness: how to make its one unit fail,
 * mend it, and give the manager something to observe.
 */
const session = pm2Session();

interface KindCase {
  project: TestProject;
  unit: string;
  break(): Promise<void>;
  mend(): Promise<void>;
  /** One chance for the primary to be observed: a probe round (PM2) or one run as cron would start it. */
  tick(): Promise<void>;
  /** How many times the twin has been started. */
  twinStarts(): Promise<number>;
  /** What the manager needs in its environment (a token). */
  managerEnv?: NodeJS.ProcessEnv;
}

interface Harness {
  kind: string;
  make(name: string): Promise<KindCase>;
}

// The hold-down outlasts a `status` call under load: a shorter one lets a failback trial against the
// still-broken primary fail over a second time between two looks, and the count read is 2.
const fastSchedules = (kind: string) => [
  'checkInterval: 200ms',
  'policy:',
  '  byKind:',
  `    ${kind}: { window: 3, minSamples: 3, failbackAfter: 2, holdDown: 3s }`,
  'sources: { pm2: { live: false } }',
  'schedules: { grace: 1m }',
  '',
].join('\n');

async function ledgerLines(project: TestProject, unit: string): Promise<Array<{ side: string; event: string }>> {
  const text = await readFile(join(project.dir, '.redundancy/ledger', `${unit.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { side: string; event: string });
}

/** A ledger-watched unit (cron, script): broken by a `fail` file, observed through one `redundancy run` as cron would start it. */
function ledgerCase(project: TestProject, unit: string): KindCase {
  return {
    project,
    unit,
    break: () => writeFile(join(project.dir, 'fail'), ''),
    mend: () => rm(join(project.dir, 'fail'), { force: true }),
    tick: async () => void (await project.cli('run', unit)),
    twinStarts: async () => (await ledgerLines(project, unit)).filter((l) => l.side === 'twin' && l.event === 'start').length,
  };
}

const fakes: Array<Pick<FakeGitHub, 'close'>> = [];
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

const workflow = [
  'name: Nightly',
  'on:',
  '  schedule:',
  "    - cron: '17 3 * * *'",
  '  workflow_dispatch:',
  'jobs:',
  '  build:',
  '    runs-on: ubuntu-latest',
  '    steps:',
  '      - run: echo nightly',
  '',
].join('\n');

const harnesses: Harness[] = [
  {
    kind: 'pm2',
    async make(name) {
      const project = await appProject(session, { name, policy: { window: 3, minSamples: 3, failbackAfter: 2, holdDown: '3s' } });
      const fail = join(project.dir, 'fail');
      return {
        project,
        unit: `pm2:${name}`,
        break: () => writeFile(fail, ''),
        mend: () => rm(fail, { force: true }),
        tick: () => new Promise((resolve) => setTimeout(resolve, 100)),
        async twinStarts() {
          const log = await readFile(join(project.dir, 'boots.log'), 'utf8').catch(() => '');
          return log.split('\n').filter((line) => line.startsWith('backup ')).length;
        },
      };
    },
  },
  {
    kind: 'cron',
    async make(name) {
      // An @reboot line: its twin runs once at failover, so "started once" can be counted.
      const project = await session.project({
        'redundancy.config.yaml': fastSchedules('cron'),
        'automation/crontab': `# redundancy: name=${name}\n@reboot sh job.sh\n`,
        'job.sh': '[ "${REDUNDANCY_ROLE:-}" != backup ] && [ -e fail ] && exit 1\necho ran >> runs.log\n',
      });
      return ledgerCase(project, `cron:${name}`);
    },
  },
  {
    kind: 'script',
    async make(name) {
      const project = await session.project({
        'redundancy.config.yaml': fastSchedules('script'),
        [`automation/scripts/${name}.mjs`]: "import { existsSync } from 'node:fs';\nif (process.env.REDUNDANCY_ROLE !== 'backup' && existsSync('fail')) process.exit(1);\n",
      });
      return ledgerCase(project, `script:${name}`);
    },
  },
  {
    kind: 'github',
    async make(name) {
      // The real Octokit client against a GitHub on 127.0.0.1 that keeps the state and a log of writes.
      const github = await startFakeGitHub();
      fakes.push(github);
      const file = `${name}.yml`;
      github.setWorkflows([{ path: `.github/workflows/${file}`, name: 'Nightly' }, { path: `.github/workflows/${name}-backup.yml`, name: 'Nightly (backup)' }]);
      const project = await session.project({
        'redundancy.config.yaml': [
          fastSchedules('github').replace("sources: { pm2: { live: false } }", `sources:\n  pm2: { live: false }\n  github: { repo: ${github.owner}/${github.repo}, apiUrl: "${github.url}", token: "env:CONFORMANCE_GH_TOKEN", pollEvery: 100ms }`),
        ].join(''),
        [`.github/workflows/${file}`]: workflow,
      });
      let broken = false;
      return {
        project,
        managerEnv: { CONFORMANCE_GH_TOKEN: github.token },
        unit: `github:${file}`,
        break: async () => void (broken = true),
        mend: async () => void (broken = false),
        // GitHub runs the workflow while it is enabled; each run finishes at once.
        async tick() {
          if (github.workflow(file)?.state === 'active') {
            const now = Date.now();
            github.addRun(file, { event: 'schedule', status: 'completed', conclusion: broken ? 'failure' : 'success', createdAt: now, updatedAt: now });
          }
          await new Promise((resolve) => setTimeout(resolve, 150));
        },
        twinStarts: async () => github.writes.filter((w) => w.method === 'POST' && w.path.includes(`/${name}-backup.yml/dispatches`)).length,
      };
    },
  },
  {
    kind: 'netlify',
    async make(name) {
      // The real @netlify/api client against a Netlify on 127.0.0.1; the deployed function's URL on another port.
      const netlify = await startFakeNetlify({ functions: [name] });
      fakes.push(netlify);
      const [sitePort, listenPort] = await freePorts(2);
      let broken = false;
      const site = createServer((_req, res) => void res.writeHead(broken ? 502 : 200).end());
      await new Promise<void>((resolve) => site.listen(sitePort, '127.0.0.1', resolve));
      fakes.push({ close: () => new Promise<void>((resolve) => site.close(() => resolve())) });
      const project = await session.project({
        'redundancy.config.yaml': fastSchedules('netlify').replace(
          'sources: { pm2: { live: false } }',
          `sources:\n  pm2: { live: false }\n  netlify: { siteId: ${netlify.siteId}, apiUrl: "${netlify.apiUrl}", token: "env:CONFORMANCE_NF_TOKEN", siteUrl: "http://127.0.0.1:${sitePort}", listen: "127.0.0.1:${listenPort}", pollEvery: 100ms }`,
        ),
        [`netlify/functions/${name}.mjs`]: 'export default async () => new Response(`from ${process.env.REDUNDANCY_ROLE ?? "primary"}`);\n',
      });
      return {
        project,
        managerEnv: { CONFORMANCE_NF_TOKEN: netlify.token },
        unit: `netlify:${name}`,
        break: async () => void (broken = true),
        mend: async () => void (broken = false),
        tick: () => new Promise((resolve) => setTimeout(resolve, 150)),
        // Each start of the local runner is one line of the manager's log.
        async twinStarts() {
          const log = await readFile(join(project.dir, 'logs/redundancy.log'), 'utf8').catch(() => '');
          return log.split('\n').filter((line) => line.includes('"local runner on"') && line.includes(`"netlify:${name}"`)).length;
        },
      };
    },
  },
];

async function unitOf(project: TestProject, id: string): Promise<UnitReport | undefined> {
  return (await status(project)).report.units?.find((u) => u.id === id);
}

/** Ticks until the unit satisfies `ok`. */
async function driveUntil(c: KindCase, what: string, ok: (u: UnitReport) => boolean, timeoutMs = 40_000): Promise<UnitReport> {
  return waitFor(
    async () => {
      await c.tick();
      const unit = await unitOf(c.project, c.unit);
      return unit && ok(unit) ? unit : undefined;
    },
    { timeoutMs, intervalMs: 50, what: `${c.unit}: ${what}` },
  );
}

describe.each(harnesses)('conformance: $kind', (harness) => {
  it('fails over when the primary fails, and back when it is mended', async () => {
    const c = await harness.make(`cf${harness.kind}${process.pid}`);
    const manager = session.startManager(c.project, c.managerEnv);
    await driveUntil(c, 'healthy on its primary', (u) => u.state === 'primary' && u.active === 'primary');
    await c.break();
    const onTwin = await driveUntil(c, 'on its twin', (u) => u.state === 'backup');
    expect(onTwin.failovers).toBe(1);
    expect(onTwin.health).toBe('unhealthy');
    await c.mend();
    const back = await driveUntil(c, 'back on its primary', (u) => u.state === 'primary' && u.active === 'primary');
    expect(back.failovers).toBe(1);
    manager.kill('SIGTERM');
    await manager;
  });

  it('resumes a failover after a SIGKILL before the twin starts, and starts the twin once', async () => {
    const c = await harness.make(`ck${harness.kind}${process.pid}`);
    const killed = session.startManager(c.project, { ...c.managerEnv, REDUNDANCY_FAULT: `kill-before:start-twin:${c.unit}` });
    await driveUntil(c, 'healthy on its primary', (u) => u.state === 'primary');
    await c.break();
    await waitFor(async () => (await c.tick(), killed.exitCode !== null || killed.signalCode !== null) || undefined, {
      timeoutMs: 40_000,
      what: 'the manager killed at the fault point',
    });
    const saved = JSON.parse(await readFile(join(c.project.dir, '.redundancy/state.json'), 'utf8')) as { version: number; units: Record<string, { state: { kind: string } }> };
    expect(saved.version).toBe(2);
    expect(saved.units[c.unit]!.state.kind).toBe('failing-over');
    expect(await c.twinStarts()).toBe(0);

    const manager = session.startManager(c.project, c.managerEnv);
    const unit = await waitFor(async () => {
      const u = await unitOf(c.project, c.unit);
      return u?.state === 'backup' ? u : undefined;
    }, { timeoutMs: 30_000, what: `${c.unit} on its twin after the restart` });
    expect(unit.failovers).toBe(1);
    if (harness.kind !== 'script') expect(await waitFor(async () => (await c.twinStarts()) || undefined, { timeoutMs: 10_000, what: 'the twin started' })).toBe(1);
    manager.kill('SIGTERM');
    await manager;
    expect(existsSync(join(c.project.dir, '.redundancy/manager.lock'))).toBe(false);
  });
});
