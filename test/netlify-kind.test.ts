import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { UnitReport } from '../src/core/report-types.js';
import { startFakeNetlify, type FakeNetlify } from './helpers/fake-netlify.js';
import { freePorts, type TestProject } from './helpers/project.js';
import { pm2Session, status } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

/** Netlify functions as units: the real @netlify/api client against a Netlify on 127.0.0.1, the deployed site on another port. */
const session = pm2Session();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

const helloFn = [
  "export default async (req, context) => new Response(`hello from ${process.env.REDUNDANCY_ROLE ?? 'primary'}`);",
  "export const config = { path: '/api/hello' };",
  '',
].join('\n');
const nightlyFn = [
  'export default async (req) => {',
  '  const { next_run } = await req.json();',
  "  console.log('next run', next_run);",
  '};',
  "export const config = { schedule: '* * * * *' };",
  '',
].join('\n');

/** The deployed site: answers the sync function's URL, or 500s while broken. */
async function startSite(port: number): Promise<{ broken: boolean; close(): Promise<void> }> {
  const site = { broken: false, close: async () => undefined as void };
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === '/api/hello' && !site.broken ? 200 : 500).end(site.broken ? 'deploy broken' : 'hello from netlify');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  site.close = () => new Promise((resolve) => server.close(() => resolve()));
  closers.push(site.close);
  return site;
}

async function setUp(opts: { token?: boolean } = {}) {
  const [sitePort, listenPort] = await freePorts(2);
  const netlify = await startFakeNetlify({ functions: ['hello', 'nightly'], schedules: [{ name: 'nightly', cron: '* * * * *' }] });
  closers.push(() => netlify.close());
  const site = await startSite(sitePort!);
  const project = await session.project({
    'redundancy.config.yaml': [
      'checkInterval: 200ms',
      'policy: { byKind: { netlify: { window: 3, minSamples: 3, failbackAfter: 2, holdDown: 1s } } }',
      'sources:',
      '  pm2: { live: false }',
      `  netlify: { siteId: ${netlify.siteId}, apiUrl: "${netlify.apiUrl}", siteUrl: "http://127.0.0.1:${sitePort}", listen: "127.0.0.1:${listenPort}", pollEvery: 200ms }`,
      'schedules: { throttle: { netlify: 1m } }',
      '',
    ].join('\n'),
    'netlify.toml': '[functions]\n  directory = "netlify/functions"\n',
    'netlify/functions/hello.mjs': helloFn,
    'netlify/functions/nightly.mjs': nightlyFn,
  });
  return { netlify, site, project, listen: `http://127.0.0.1:${listenPort}`, env: opts.token === false ? {} : { NETLIFY_AUTH_TOKEN: netlify.token } };
}

async function units(project: TestProject): Promise<Map<string, UnitReport>> {
  return new Map(((await status(project)).report.units ?? []).map((u) => [u.id, u]));
}

async function ledger(project: TestProject, unit: string): Promise<Array<{ side: string; event: string; exitCode: number | null }>> {
  const text = await readFile(join(project.dir, '.redundancy/ledger', `${unit.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { side: string; event: string; exitCode: number | null });
}

describe('the netlify kind', () => {
  it('fails functions over when the deploy breaks, serves and schedules them locally, and fails back when it is mended', async () => {
    const { netlify, site, project, listen, env } = await setUp();
    const manager = session.startManager(project, env);
    await waitFor(async () => {
      const all = await units(project);
      return all.get('netlify:hello')?.samples && all.get('netlify:nightly')?.samples ? all : undefined;
    }, { timeoutMs: 20_000, what: 'both functions watched' });
    // Nothing served locally while the deployed functions are healthy.
    expect((await fetch(`${listen}/api/hello`).catch(() => undefined))?.status).not.toBe(200);

    netlify.failLatest('Build script returned non-zero exit code: 2');
    site.broken = true;
    const onTwin = await waitFor(async () => {
      const all = await units(project);
      return all.get('netlify:hello')?.state === 'backup' && all.get('netlify:nightly')?.state === 'backup' ? all : undefined;
    }, { timeoutMs: 30_000, what: 'both functions on their twins' });
    expect(onTwin.get('netlify:nightly')!.reason).toMatch(/production deploy \w+ failed: Build script returned non-zero exit code: 2/);
    expect(onTwin.get('netlify:hello')!.active).toBe('twin');
    expect((await project.cli('status')).stdout).toMatch(/^netlify: latest production deploy \w+ error, published \w+ ready; polls slowed to every \d+\.\d s to last the rate limit$/m);

    // The sync function answers from the local runner, as the backup.
    const served = await fetch(`${listen}/api/hello`);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe('hello from backup');
    // The scheduled one runs on its throttled schedule, each run in the ledger.
    const runs = await waitFor(async () => {
      const lines = await ledger(project, 'netlify:nightly');
      return lines.some((l) => l.side === 'twin' && l.event === 'end') ? lines : undefined;
    }, { timeoutMs: 75_000, intervalMs: 500, what: "the scheduled twin's first run" });
    expect(runs.find((l) => l.event === 'end')).toMatchObject({ side: 'twin', exitCode: 0 });

    netlify.publish();
    site.broken = false;
    await waitFor(async () => {
      const all = await units(project);
      return all.get('netlify:hello')?.state === 'primary' && all.get('netlify:nightly')?.state === 'primary' ? all : undefined;
    }, { timeoutMs: 30_000, what: 'both functions back on their primaries' });
    expect((await fetch(`${listen}/api/hello`)).status).toBe(404);
    // Polled every 200 ms, two requests a poll, against 500 a minute: paced to the budget, never refused.
    expect(netlify.requests.filter((r) => r.status === 429)).toEqual([]);
    manager.kill('SIGTERM');
    await manager;
  }, 150_000);

  it('without a token, inventories and twins the functions, probes the sync one, and says it is unwatched', async () => {
    const { project, env } = await setUp({ token: false });
    const manager = session.startManager(project, env);
    const all = await waitFor(async () => {
      const found = await units(project);
      return found.get('netlify:hello')?.samples ? found : undefined;
    }, { timeoutMs: 20_000, what: 'the sync function probed' });
    expect(all.get('netlify:nightly')!.primary.status).toBe('unwatched');
    expect((await status(project)).report.kinds?.netlify).toEqual({ unwatched: 'no token' });
    manager.kill('SIGTERM');
    await manager;
  });
});
